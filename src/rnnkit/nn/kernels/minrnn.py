"""Fused minGRU and minLSTM forward and backward over one direction and a block of rows (numba).

The layers' input GEMM gives ``gx`` (B, T, D*G*H) for all steps; each kernel then makes ONE
pass over time per sequence, computing the coefficients of ``h_t = a_t h_{t-1} + b_t`` from
``gx`` on the fly (the torch path materializes a, b and their gradients as (B, T, H) tensors,
about 30 passes over memory). Layouts as in :mod:`rnnkit.nn.kernels.layout`: ``out`` (B, T, D*H)
with zeros at padded steps, states (D, B, H), direction 1 runs each sequence from its last real
step. Rows are independent (no recurrent weights), so any split of the rows gives the same bits.

Equations (``g(v) = v + 1/2`` for v >= 0, ``σ(v)`` below; ``g'`` = 1 or ``σ(v)(1 - σ(v))``)::

    minGRU  (gates z, h̃):    z = σ(x_z), h̃ = g(x_h);   h = h_prev + z (h̃ - h_prev)
        dx_z = dh (h̃ - h_prev) z (1 - z);  dx_h = dh z g'(x_h);  dh_prev = dh (1 - z)
    minLSTM (gates i, f, h̃): f' = σ(x_f) / (σ(x_f) + σ(x_i));  h = h̃ + f' (h_prev - h̃)
        with d = log σ(x_f) - log σ(x_i), f' = σ(d):
        dd = dh (h_prev - h̃) f' (1 - f');  dx_f = dd (1 - σ(x_f));  dx_i = -dd (1 - σ(x_i))
        dx_h = dh (1 - f') g'(x_h);  dh_prev = dh f'

The backward walks each sequence from its last step down; for layers narrower than
:data:`PREFETCH_BELOW_HIDDEN` it prefetches the pieces it will need :data:`AHEAD` steps earlier
(``prefetch``, chosen by the autograd wrapper), which the hardware does not do downwards.

minGRU's sigmoids use the kernels' fast float32 sigmoid (absolute error < 2e-7, which is what
enters a and b). minLSTM's ratio needs the gates' *relative* accuracy (both may be tiny), so it
uses ``1 / (1 + exp(-x))`` and, where a pre-activation is below :data:`TAIL` (``exp(-x)``
overflows in float32 from -88), the limit ``f' = σ(x_f - x_i)`` (error about ``exp(TAIL)``,
plus the fast sigmoid's 2e-7).
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit.nn.kernels.activations import sigmoid
from rnnkit.nn.kernels.layout import (
    flat,
    load_block,
    previous_state,
    row_at,
    store_block,
    zero_padding,
)
from rnnkit.nn.kernels.linalg import kernel
from rnnkit.nn.kernels.memory import AHEAD, prefetch_read, prefetch_write

TAIL = -80.0
# The backward walks each sequence from its last step to its first. Below this width a step's
# pieces of gx, dout and out are a few cache lines, which the hardware prefetchers do not follow
# downwards; asking for the pieces AHEAD steps back makes the backward 1.5-2.6x faster at
# H = 32-96 (B = 8-64, T = 512-2000), and 5% slower from H = 128 (benchmarks/results/narrow.md).
# The autograd wrapper passes ``prefetch = hidden < PREFETCH_BELOW_HIDDEN`` to the backward.
PREFETCH_BELOW_HIDDEN = 128


@kernel
def _prefetch_backward(
    gx2, dout2, out2, dgx2, b, steps, length, s, direction, goff, width, hoff, hidden
):  # type: ignore[no-untyped-def]
    """Ask for the pieces the backward reads and writes AHEAD steps before step s."""
    ahead = row_at(b, steps, length, s - AHEAD, direction)
    if ahead < 0:
        return
    prefetch_read(gx2, ahead, goff, goff + width)
    prefetch_read(dout2, ahead, hoff, hoff + hidden)
    earlier = row_at(b, steps, length, s - AHEAD - 1, direction)
    if earlier >= 0:  # the state before the step ahead
        prefetch_read(out2, earlier, hoff, hoff + hidden)
    prefetch_write(dgx2, ahead, goff, goff + width)


@kernel
def mingru_forward(
    gx, h0, lengths, direction, row_start, row_stop, out, h_n
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    gx2, out2 = flat(gx), flat(out)
    hidden = h0.shape[2]
    goff = direction * 2 * hidden
    hoff = direction * hidden
    rows = row_stop - row_start
    dtype = gx.dtype
    zero = dtype.type(0.0)
    half = dtype.type(0.5)
    h = load_block(h0, direction, row_start, rows)
    zero_padding(out2, lengths, steps, row_start, row_stop, hoff, hidden)
    for r in range(rows):
        b = row_start + r
        length = lengths[b]
        for s in range(length):
            row = np.uint64(row_at(b, steps, length, s, direction))
            for k in range(hidden):
                z = sigmoid(gx2[row, np.uint64(goff + k)])
                v = gx2[row, np.uint64(goff + hidden + k)]
                sv = sigmoid(v)
                cand = v + half if v >= zero else sv
                hk = h[r, k] + z * (cand - h[r, k])
                h[r, k] = hk
                out2[row, np.uint64(hoff + k)] = hk
    store_block(h, h_n, direction, row_start)
    return 0


@kernel
def mingru_backward(
    dout, dh_n, gx, out, h0, lengths, prefetch, direction, row_start, row_stop, dgx, dh0
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    gx2, out2, dout2, dgx2 = flat(gx), flat(out), flat(dout), flat(dgx)
    hidden = h0.shape[2]
    goff = direction * 2 * hidden
    hoff = direction * hidden
    rows = row_stop - row_start
    dtype = gx.dtype
    zero = dtype.type(0.0)
    one = dtype.type(1.0)
    half = dtype.type(0.5)
    dh = load_block(dh_n, direction, row_start, rows)
    hp = np.zeros(hidden, dtype)
    zero_padding(dgx2, lengths, steps, row_start, row_stop, goff, 2 * hidden)
    for r in range(rows):
        b = row_start + r
        length = lengths[b]
        for s in range(length - 1, -1, -1):
            row = np.uint64(row_at(b, steps, length, s, direction))
            if prefetch:
                _prefetch_backward(gx2, dout2, out2, dgx2, b, steps, length, s, direction, goff,
                                   2 * hidden, hoff, hidden)
            previous_state(out2, h0, hp, b, steps, length, s, direction, hoff)
            for k in range(hidden):
                z = sigmoid(gx2[row, np.uint64(goff + k)])
                v = gx2[row, np.uint64(goff + hidden + k)]
                sv = sigmoid(v)
                cand = v + half if v >= zero else sv
                slope = one if v >= zero else sv * (one - sv)
                d = dh[r, k] + dout2[row, np.uint64(hoff + k)]
                dgx2[row, np.uint64(goff + k)] = d * (cand - hp[k]) * z * (one - z)
                dgx2[row, np.uint64(goff + hidden + k)] = d * z * slope
                dh[r, k] = d * (one - z)
    store_block(dh, dh0, direction, row_start)
    return 0


@kernel
def _forget_share(xi, xf, one, tail):  # type: ignore[no-untyped-def]
    """(f', σ(x_i), σ(x_f)): the normalized forget gate and the raw gates."""
    ei = math.exp(-xi)
    ef = math.exp(-xf)
    ratio = (one + ei) / ((one + ei) + (one + ef))  # σ(x_f) / (σ(x_f) + σ(x_i))
    limit = sigmoid(xf - xi)
    share = limit if (xi < tail or xf < tail) else ratio
    i = one / (one + ei)
    f = one / (one + ef)
    return share, i, f


@kernel
def minlstm_forward(
    gx, h0, lengths, direction, row_start, row_stop, out, h_n
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    gx2, out2 = flat(gx), flat(out)
    hidden = h0.shape[2]
    goff = direction * 3 * hidden
    hoff = direction * hidden
    rows = row_stop - row_start
    dtype = gx.dtype
    zero = dtype.type(0.0)
    one = dtype.type(1.0)
    half = dtype.type(0.5)
    tail = dtype.type(TAIL)
    h = load_block(h0, direction, row_start, rows)
    zero_padding(out2, lengths, steps, row_start, row_stop, hoff, hidden)
    for r in range(rows):
        b = row_start + r
        length = lengths[b]
        for s in range(length):
            row = np.uint64(row_at(b, steps, length, s, direction))
            for k in range(hidden):
                xi = gx2[row, np.uint64(goff + k)]
                xf = gx2[row, np.uint64(goff + hidden + k)]
                share, _, _ = _forget_share(xi, xf, one, tail)
                v = gx2[row, np.uint64(goff + 2 * hidden + k)]
                sv = sigmoid(v)
                cand = v + half if v >= zero else sv
                hk = cand + share * (h[r, k] - cand)
                h[r, k] = hk
                out2[row, np.uint64(hoff + k)] = hk
    store_block(h, h_n, direction, row_start)
    return 0


@kernel
def minlstm_backward(
    dout, dh_n, gx, out, h0, lengths, prefetch, direction, row_start, row_stop, dgx, dh0
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    gx2, out2, dout2, dgx2 = flat(gx), flat(out), flat(dout), flat(dgx)
    hidden = h0.shape[2]
    goff = direction * 3 * hidden
    hoff = direction * hidden
    rows = row_stop - row_start
    dtype = gx.dtype
    zero = dtype.type(0.0)
    one = dtype.type(1.0)
    half = dtype.type(0.5)
    tail = dtype.type(TAIL)
    dh = load_block(dh_n, direction, row_start, rows)
    hp = np.zeros(hidden, dtype)
    zero_padding(dgx2, lengths, steps, row_start, row_stop, goff, 3 * hidden)
    for r in range(rows):
        b = row_start + r
        length = lengths[b]
        for s in range(length - 1, -1, -1):
            row = np.uint64(row_at(b, steps, length, s, direction))
            if prefetch:
                _prefetch_backward(gx2, dout2, out2, dgx2, b, steps, length, s, direction, goff,
                                   3 * hidden, hoff, hidden)
            previous_state(out2, h0, hp, b, steps, length, s, direction, hoff)
            for k in range(hidden):
                xi = gx2[row, np.uint64(goff + k)]
                xf = gx2[row, np.uint64(goff + hidden + k)]
                share, i, f = _forget_share(xi, xf, one, tail)
                v = gx2[row, np.uint64(goff + 2 * hidden + k)]
                sv = sigmoid(v)
                cand = v + half if v >= zero else sv
                slope = one if v >= zero else sv * (one - sv)
                d = dh[r, k] + dout2[row, np.uint64(hoff + k)]
                dd = d * (hp[k] - cand) * share * (one - share)
                dgx2[row, np.uint64(goff + k)] = -dd * (one - i)
                dgx2[row, np.uint64(goff + hidden + k)] = dd * (one - f)
                dgx2[row, np.uint64(goff + 2 * hidden + k)] = d * (one - share) * slope
                dh[r, k] = d * share
    store_block(dh, dh0, direction, row_start)
    return 0
