"""The LRU's diagonal linear recurrence, forward and backward, over one direction and a block of
rows (numba).

The layer's input GEMM gives ``bu`` (B, T, D*S) = ``γ B u`` of every step, per direction
``[Re | Im]`` (S = 2N) or the real values (S = N with ``complex=False``); the kernels run
``x_t = λ x_{t-1} + bu_t`` in real arithmetic on the (re, im) pairs, one pass over time per
sequence. The readout ``Re(C x) + D u`` stays in torch (GEMMs). Layouts as in
:mod:`rnnkit.nn.kernels.layout`: ``out`` (B, T, D*S) holds the states x_t with zeros at padded
steps, states (D, B, S), ``λ`` as ``lam_re``, ``lam_im`` (D, N) (``lam_im`` (D, 0) for a real
LRU), direction 1 runs each sequence from its last real step. Rows are independent, so any
split of the rows gives the same bits.

Equations (complex; the real LRU drops the imaginary parts)::

    forward:   x_t = λ x_{t-1} + bu_t
    backward:  g_t = dout_t + conj(λ) g_{t+1}      (g after the last real step: dh_n)
               d bu_t = g_t,   dλ = Σ_t g_t conj(x_{t-1}),   dh0 = conj(λ) g_first

``dλ`` is written per row (``dlam`` (D, B, S): ``[Re | Im]``), summed over rows by the caller,
so the result does not depend on how rows are split between threads.
"""

from __future__ import annotations

import numpy as np

from rnnkit.nn.kernels.layout import (
    flat,
    load_block,
    previous_state,
    row_at,
    store_block,
    zero_padding,
)
from rnnkit.nn.kernels.linalg import kernel


@kernel
def _decay_of(lam, direction):  # type: ignore[no-untyped-def]
    """A (N,) copy of ``lam[direction]`` (empty for a real LRU's imaginary part)."""
    values = np.empty(lam.shape[1], lam.dtype)
    for k in range(lam.shape[1]):
        values[k] = lam[direction, k]
    return values


@kernel
def lru_forward(
    bu, lam_re, lam_im, h0, lengths, direction, row_start, row_stop, out, h_n
):  # type: ignore[no-untyped-def]
    steps = bu.shape[1]
    bu2, out2 = flat(bu), flat(out)
    width = h0.shape[2]
    units = lam_re.shape[1]
    complex_ = lam_im.shape[1] == units
    off = direction * width
    rows = row_stop - row_start
    lr, li = _decay_of(lam_re, direction), _decay_of(lam_im, direction)
    h = load_block(h0, direction, row_start, rows)
    zero_padding(out2, lengths, steps, row_start, row_stop, off, width)
    for r in range(rows):
        b = row_start + r
        length = lengths[b]
        for s in range(length):
            row = np.uint64(row_at(b, steps, length, s, direction))
            if complex_:
                for k in range(units):
                    xr = h[r, k]
                    xi = h[r, units + k]
                    nr = lr[k] * xr - li[k] * xi + bu2[row, np.uint64(off + k)]
                    ni = lr[k] * xi + li[k] * xr + bu2[row, np.uint64(off + units + k)]
                    h[r, k] = nr
                    h[r, units + k] = ni
                    out2[row, np.uint64(off + k)] = nr
                    out2[row, np.uint64(off + units + k)] = ni
            else:
                for k in range(units):
                    nk = lr[k] * h[r, k] + bu2[row, np.uint64(off + k)]
                    h[r, k] = nk
                    out2[row, np.uint64(off + k)] = nk
    store_block(h, h_n, direction, row_start)
    return 0


@kernel
def lru_backward(
    dout, dh_n, lam_re, lam_im, out, h0, lengths, direction, row_start, row_stop, dbu, dlam, dh0
):  # type: ignore[no-untyped-def]
    steps = out.shape[1]
    out2, dout2, dbu2 = flat(out), flat(dout), flat(dbu)
    width = h0.shape[2]
    units = lam_re.shape[1]
    complex_ = lam_im.shape[1] == units
    off = direction * width
    rows = row_stop - row_start
    dtype = out.dtype
    zero = dtype.type(0.0)
    lr, li = _decay_of(lam_re, direction), _decay_of(lam_im, direction)
    g = load_block(dh_n, direction, row_start, rows)
    hp = np.zeros(width, dtype)
    acc = np.zeros(width, dtype)
    zero_padding(dbu2, lengths, steps, row_start, row_stop, off, width)
    for r in range(rows):
        b = row_start + r
        length = lengths[b]
        for k in range(width):
            acc[k] = zero
        for s in range(length - 1, -1, -1):
            row = np.uint64(row_at(b, steps, length, s, direction))
            previous_state(out2, h0, hp, b, steps, length, s, direction, off)
            if complex_:
                for k in range(units):
                    gr = g[r, k] + dout2[row, np.uint64(off + k)]
                    gi = g[r, units + k] + dout2[row, np.uint64(off + units + k)]
                    dbu2[row, np.uint64(off + k)] = gr
                    dbu2[row, np.uint64(off + units + k)] = gi
                    acc[k] += gr * hp[k] + gi * hp[units + k]
                    acc[units + k] += gi * hp[k] - gr * hp[units + k]
                    g[r, k] = lr[k] * gr + li[k] * gi
                    g[r, units + k] = lr[k] * gi - li[k] * gr
            else:
                for k in range(units):
                    gk = g[r, k] + dout2[row, np.uint64(off + k)]
                    dbu2[row, np.uint64(off + k)] = gk
                    acc[k] += gk * hp[k]
                    g[r, k] = lr[k] * gk
        for k in range(width):
            dlam[direction, b, k] = acc[k]
    store_block(g, dh0, direction, row_start)
    return 0
