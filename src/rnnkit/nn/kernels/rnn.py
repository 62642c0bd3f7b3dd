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
from rnnkit.nn.kernels.linalg import add_product, kernel
from rnnkit.nn.kernels.memory import prefetch_read, prefetch_write, row_ahead


@kernel
def rnn_forward(
    gx, w, w_t, bhh, h0, lengths, relu, direction, row_start, row_stop, out, h_n,
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    # (B*T, C) views indexed with unsigned ints: signed indices need a negative-index
    # fix-up per element that stops LLVM from vectorizing the gate loops (2x slower)
    gx2 = gx.reshape(gx.shape[0] * gx.shape[1], gx.shape[2])
    out2 = out.reshape(out.shape[0] * out.shape[1], out.shape[2])
    hidden = h0.shape[2]
    hoff = direction * hidden
    kn = w_t[direction]
    nk = w[direction]
    bias = bhh[direction]
    rows = row_stop - row_start
    dtype = gx.dtype
    zero = dtype.type(0.0)
    acc = np.zeros((rows, hidden), dtype)
    h = np.empty((rows, hidden), dtype)
    longest = 0
    # Direct indexing only, no row views: a view updates the parent array's reference count,
    # an atomic that the threads sharing gx and out would fight over at every row and step.
    for r in range(rows):
        b = row_start + r
        longest = max(longest, lengths[b])
        for k in range(hidden):
            h[r, k] = h0[direction, b, k]
        for t in range(lengths[b], steps):
            row = np.uint64(b * steps + t)
            for k in range(hidden):
                out2[row, np.uint64(hoff + k)] = zero
    for s in range(longest):
        acc[:] = zero
        add_product(acc, h, kn, nk)
        for r in range(rows):
            b = row_start + r
            length = lengths[b]
            if s >= length:
                continue
            t = length - 1 - s if direction == 1 else s
            row = np.uint64(b * steps + t)
            ahead = row_ahead(b, steps, length, s, direction, False)
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
    for r in range(rows):
        for k in range(hidden):
            h_n[direction, row_start + r, k] = h[r, k]
    return 0


@kernel
def rnn_backward(
    dout, dh_n, out, w, w_t, lengths, relu, direction, row_start, row_stop, dgates, dh0,
):  # type: ignore[no-untyped-def]
    steps = out.shape[1]
    # (B*T, C) views indexed with unsigned ints: signed indices need a negative-index
    # fix-up per element that stops LLVM from vectorizing the gate loops (2x slower)
    dgates2 = dgates.reshape(dgates.shape[0] * dgates.shape[1], dgates.shape[2])
    dout2 = dout.reshape(dout.shape[0] * dout.shape[1], dout.shape[2])
    out2 = out.reshape(out.shape[0] * out.shape[1], out.shape[2])
    hidden = dh_n.shape[2]
    hoff = direction * hidden
    kn = w[direction]
    nk = w_t[direction]
    rows = row_stop - row_start
    dtype = out.dtype
    zero = dtype.type(0.0)
    one = dtype.type(1.0)
    dh = np.empty((rows, hidden), dtype)
    da = np.zeros((rows, hidden), dtype)
    longest = 0
    for r in range(rows):
        b = row_start + r
        longest = max(longest, lengths[b])
        for k in range(hidden):
            dh[r, k] = dh_n[direction, b, k]
        for t in range(lengths[b], steps):
            row = np.uint64(b * steps + t)
            for k in range(hidden):
                dgates2[row, np.uint64(hoff + k)] = zero
    for s in range(longest - 1, -1, -1):
        for r in range(rows):
            b = row_start + r
            length = lengths[b]
            if s >= length:
                for k in range(hidden):
                    da[r, k] = zero
                continue
            t = length - 1 - s if direction == 1 else s
            row = np.uint64(b * steps + t)
            ahead = row_ahead(b, steps, length, s, direction, True)
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
    for r in range(rows):
        for k in range(hidden):
            dh0[direction, row_start + r, k] = dh[r, k]
    return 0
