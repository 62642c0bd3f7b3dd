"""Fused LSTM forward and BPTT backward over one direction and a block of batch rows (numba).

Layouts (batch-first; both directions side by side in the last dimension; D = directions):
``gx`` (B, T, D*4H) input projections ``x W_ih^T + b_ih`` (gates i, f, g, o); ``w`` (D, 4H, H)
and ``w_t`` (D, H, 4H) recurrent weights; ``bhh`` (D, 4H); states (D, B, H); ``lengths`` (B,).
Direction 1 reads each sequence's real steps from its last to its first. Padded steps get zero
outputs and zero gradients; the final state is the state after each sequence's last real step.

Forward per step (σ = sigmoid, computed as ``0.5 + 0.5 tanh(x/2)`` so one vectorized loop
serves all four gates)::

    a = gx_t + h_{t-1} W_hh^T + b_hh;  i, f, o = σ(a_i, a_f, a_o);  g = tanh(a_g)
    c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)

Backward per step, from each sequence's last real step down (``dh`` includes the output
gradient)::

    dc = dc_next + dh o (1 - tanh(c_t)^2)
    da_i = dc g i(1-i);  da_f = dc c_{t-1} f(1-f);  da_g = dc i (1-g^2);  da_o = dh tanh(c_t) o(1-o)
    dc_next = dc f;  dh_next = da W_hh

The weight gradients ``sum_t da_t^T h_{t-1}`` are GEMMs outside the kernel
(:mod:`rnnkit.nn.kernels.autograd`), from the gate gradients and the outputs one step back.
"""

from __future__ import annotations

import numpy as np

from rnnkit.nn.kernels.activations import tanh
from rnnkit.nn.kernels.layout import (
    flat,
    load_block,
    longest,
    row_at,
    store_block,
    zero_padding,
)
from rnnkit.nn.kernels.linalg import add_product, kernel
from rnnkit.nn.kernels.memory import AHEAD, prefetch_read, prefetch_write


@kernel
def lstm_forward(
    gx, w, w_t, bhh, h0, c0, lengths, direction, row_start, row_stop, save,
    out, gates, cells, h_n, c_n,
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    gx2, out2, gates2, cells2 = flat(gx), flat(out), flat(gates), flat(cells)
    hidden = h0.shape[2]
    g4 = 4 * hidden
    goff = direction * g4
    hoff = direction * hidden
    kn = w_t[direction]
    nk = w[direction]
    bias = bhh[direction]
    rows = row_stop - row_start
    dtype = gx.dtype
    zero = dtype.type(0.0)
    half = dtype.type(0.5)
    one = dtype.type(1.0)
    # sigmoid(x) = 0.5 tanh(0.5 x) + 0.5 for i, f, o; plain tanh for g: one loop for all gates
    scale = np.full(g4, half, dtype)
    scale[2 * hidden : 3 * hidden] = one
    shift = np.full(g4, half, dtype)
    shift[2 * hidden : 3 * hidden] = zero
    acc = np.zeros((rows, g4), dtype)
    h = load_block(h0, direction, row_start, rows)
    c = load_block(c0, direction, row_start, rows)
    zero_padding(out2, lengths, steps, row_start, row_stop, hoff, hidden)
    for s in range(longest(lengths, row_start, row_stop)):
        acc[:] = zero
        add_product(acc, h, kn, nk)
        for r in range(rows):
            b = row_start + r
            length = lengths[b]
            if s >= length:
                continue
            row = np.uint64(row_at(b, steps, length, s, direction))
            ahead = row_at(b, steps, length, s + AHEAD, direction)
            if ahead >= 0:
                prefetch_read(gx2, ahead, goff, goff + g4)
                prefetch_write(out2, ahead, hoff, hoff + hidden)
                if save:
                    prefetch_write(gates2, ahead, goff, goff + g4)
                    prefetch_write(cells2, ahead, hoff, hoff + hidden)
            # direct 3-D indexing, no row views: views cost reference-count updates per row
            for j in range(g4):
                acc[r, j] = (
                    scale[j]
                    * tanh(scale[j] * (acc[r, j] + gx2[row, np.uint64(goff + j)] + bias[j]))
                    + shift[j]
                )
            for k in range(hidden):
                ck = acc[r, hidden + k] * c[r, k] + acc[r, k] * acc[r, 2 * hidden + k]
                c[r, k] = ck
                hk = acc[r, 3 * hidden + k] * tanh(ck)
                h[r, k] = hk
                out2[row, np.uint64(hoff + k)] = hk
            if save:
                for j in range(g4):
                    gates2[row, np.uint64(goff + j)] = acc[r, j]
                for k in range(hidden):
                    cells2[row, np.uint64(hoff + k)] = c[r, k]
    store_block(h, h_n, direction, row_start)
    store_block(c, c_n, direction, row_start)
    return 0


@kernel
def lstm_backward(
    dout, dh_n, dc_n, gates, cells, c0, w, w_t, lengths, direction, row_start, row_stop,
    dgates, dh0, dc0,
):  # type: ignore[no-untyped-def]
    steps = gates.shape[1]
    cells2, dgates2, dout2, gates2 = flat(cells), flat(dgates), flat(dout), flat(gates)
    hidden = c0.shape[2]
    g4 = 4 * hidden
    goff = direction * g4
    hoff = direction * hidden
    kn = w[direction]
    nk = w_t[direction]
    rows = row_stop - row_start
    dtype = gates.dtype
    zero = dtype.type(0.0)
    one = dtype.type(1.0)
    dh = load_block(dh_n, direction, row_start, rows)
    dc = load_block(dc_n, direction, row_start, rows)
    da = np.zeros((rows, g4), dtype)
    tc = np.empty(hidden, dtype)
    cp = np.empty(hidden, dtype)
    zero_padding(dgates2, lengths, steps, row_start, row_stop, goff, g4)
    for s in range(longest(lengths, row_start, row_stop) - 1, -1, -1):
        for r in range(rows):
            b = row_start + r
            length = lengths[b]
            if s >= length:
                for j in range(g4):
                    da[r, j] = zero
                continue
            row = np.uint64(row_at(b, steps, length, s, direction))
            ahead = row_at(b, steps, length, s - AHEAD, direction)
            if ahead >= 0:
                prefetch_read(gates2, ahead, goff, goff + g4)
                prefetch_read(cells2, ahead, hoff, hoff + hidden)
                prefetch_read(dout2, ahead, hoff, hoff + hidden)
                prefetch_write(dgates2, ahead, goff, goff + g4)
            if s > 0:
                rowp = np.uint64(row_at(b, steps, length, s - 1, direction))  # the previous step
                for k in range(hidden):
                    cp[k] = cells2[rowp, np.uint64(hoff + k)]
            else:
                for k in range(hidden):
                    cp[k] = c0[direction, b, k]
            for k in range(hidden):
                tc[k] = tanh(cells2[row, np.uint64(hoff + k)])
            for k in range(hidden):
                ig = gates2[row, np.uint64(goff + k)]
                fg = gates2[row, np.uint64(goff + hidden + k)]
                gg = gates2[row, np.uint64(goff + 2 * hidden + k)]
                og = gates2[row, np.uint64(goff + 3 * hidden + k)]
                dhk = dh[r, k] + dout2[row, np.uint64(hoff + k)]
                dck = dc[r, k] + dhk * og * (one - tc[k] * tc[k])
                da[r, k] = dck * gg * ig * (one - ig)
                da[r, hidden + k] = dck * cp[k] * fg * (one - fg)
                da[r, 2 * hidden + k] = dck * ig * (one - gg * gg)
                da[r, 3 * hidden + k] = dhk * tc[k] * og * (one - og)
                dc[r, k] = dck * fg
                dh[r, k] = zero
            for j in range(g4):
                dgates2[row, np.uint64(goff + j)] = da[r, j]
        add_product(dh, da, kn, nk)
    store_block(dh, dh0, direction, row_start)
    store_block(dc, dc0, direction, row_start)
    return 0
