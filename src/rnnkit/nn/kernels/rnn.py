"""Fused Elman RNN (tanh or ReLU) forward and BPTT backward over one direction and a block of
batch rows (numba). Layouts as in :mod:`rnnkit.nn.kernels.lstm` with G = 1 gate.

Forward per step: ``h_t = φ(gx_t + h_{t-1} W_hh^T + b_hh)``, φ = tanh or ReLU.

Backward per step, from each sequence's last real step down::

    da = (dout_t + dh_next) φ'(h_t)    (tanh: 1 - h_t^2; ReLU: 1 if h_t > 0 else 0)
    dh_next = da W_hh
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
def rnn_forward(
    gx, w, w_t, bhh, h0, lengths, relu, direction, row_start, row_stop, out, h_n,
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    gx2, out2 = flat(gx), flat(out)
    hidden = h0.shape[2]
    hoff = direction * hidden
    kn = w_t[direction]
    nk = w[direction]
    bias = bhh[direction]
    rows = row_stop - row_start
    dtype = gx.dtype
    zero = dtype.type(0.0)
    acc = np.zeros((rows, hidden), dtype)
    h = load_block(h0, direction, row_start, rows)
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
                prefetch_read(gx2, ahead, hoff, hoff + hidden)
                prefetch_write(out2, ahead, hoff, hoff + hidden)
            if relu:
                for k in range(hidden):
                    h[r, k] = max(acc[r, k] + gx2[row, np.uint64(hoff + k)] + bias[k], zero)
            else:
                for k in range(hidden):
                    h[r, k] = tanh(acc[r, k] + gx2[row, np.uint64(hoff + k)] + bias[k])
            for k in range(hidden):
                out2[row, np.uint64(hoff + k)] = h[r, k]
    store_block(h, h_n, direction, row_start)
    return 0


@kernel
def rnn_backward(
    dout, dh_n, out, w, w_t, lengths, relu, direction, row_start, row_stop, dgates, dh0,
):  # type: ignore[no-untyped-def]
    steps = out.shape[1]
    dgates2, dout2, out2 = flat(dgates), flat(dout), flat(out)
    hidden = dh_n.shape[2]
    hoff = direction * hidden
    kn = w[direction]
    nk = w_t[direction]
    rows = row_stop - row_start
    dtype = out.dtype
    zero = dtype.type(0.0)
    one = dtype.type(1.0)
    dh = load_block(dh_n, direction, row_start, rows)
    da = np.zeros((rows, hidden), dtype)
    zero_padding(dgates2, lengths, steps, row_start, row_stop, hoff, hidden)
    for s in range(longest(lengths, row_start, row_stop) - 1, -1, -1):
        for r in range(rows):
            b = row_start + r
            length = lengths[b]
            if s >= length:
                for k in range(hidden):
                    da[r, k] = zero
                continue
            row = np.uint64(row_at(b, steps, length, s, direction))
            ahead = row_at(b, steps, length, s - AHEAD, direction)
            if ahead >= 0:
                prefetch_read(dout2, ahead, hoff, hoff + hidden)
                prefetch_read(out2, ahead, hoff, hoff + hidden)
                prefetch_write(dgates2, ahead, hoff, hoff + hidden)
            if relu:
                for k in range(hidden):
                    grad = dh[r, k] + dout2[row, np.uint64(hoff + k)]
                    da[r, k] = grad if out2[row, np.uint64(hoff + k)] > zero else zero
            else:
                for k in range(hidden):
                    hk = out2[row, np.uint64(hoff + k)]
                    da[r, k] = (dh[r, k] + dout2[row, np.uint64(hoff + k)]) * (one - hk * hk)
            for k in range(hidden):
                dgates2[row, np.uint64(hoff + k)] = da[r, k]
                dh[r, k] = zero
        add_product(dh, da, kn, nk)
    store_block(dh, dh0, direction, row_start)
    return 0
