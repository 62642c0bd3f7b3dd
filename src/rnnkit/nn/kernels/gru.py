"""Fused GRU forward and BPTT backward, reset-after (torch/cuDNN) and reset-before (Cho et al.),
over one direction and a block of batch rows (numba). Layouts as in
:mod:`rnnkit.nn.kernels.lstm` with gates r, z, n (G = 3).

Weights: reset-after passes the whole ``W_hh`` as ``wa`` (D, 3H, H) (and ``wa_t`` transposed);
reset-before passes ``W_h{r,z}`` as ``wa`` (D, 2H, H) and ``W_hn`` as ``wb`` (D, H, H), since its
candidate's product needs ``r`` first. ``extra`` saves ``h W_hn^T + b_hn`` (reset-after) or
``r * h_{t-1}`` (reset-before) for the backward pass.

Forward per step (σ = sigmoid = ``0.5 + 0.5 tanh(x/2)``)::

    r, z = σ(gx_rz + h W_h{r,z}^T + b_h{r,z})
    after:  n = tanh(gx_n + r * (h W_hn^T + b_hn))      before: n = tanh(gx_n + (r*h) W_hn^T + b_hn)
    h_t = n + z (h_{t-1} - n)

Backward per step (``dh`` includes the output gradient)::

    da_n = dh (1-z)(1-n^2);  da_z = dh (h_{t-1} - n) z(1-z);  dh_next = dh z
    after:  da_r = da_n hn r(1-r);  hidden-side gradients [da_r, da_z, da_n r];
            dh_next += [da_r, da_z, da_n r] W_hh
    before: d(rh) = da_n W_hn;  da_r = d(rh) h_{t-1} r(1-r);
            dh_next += d(rh) r + [da_r, da_z] W_h{r,z}
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
def gru_forward(
    gx, wa, wa_t, wb, wb_t, bhh, h0, lengths, reset_after, direction, row_start, row_stop,
    save, out, gates, extra, h_n,
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    gx2, out2, gates2, extra2 = flat(gx), flat(out), flat(gates), flat(extra)
    hidden = h0.shape[2]
    h2 = 2 * hidden
    g3 = 3 * hidden
    goff = direction * g3
    hoff = direction * hidden
    bias = bhh[direction]
    rows = row_stop - row_start
    dtype = gx.dtype
    zero = dtype.type(0.0)
    half = dtype.type(0.5)
    acc = np.zeros((rows, wa.shape[1]), dtype)
    accn = np.zeros((rows, hidden), dtype)
    rh = np.zeros((rows, hidden), dtype)
    h = load_block(h0, direction, row_start, rows)
    zero_padding(out2, lengths, steps, row_start, row_stop, hoff, hidden)
    if save:
        zero_padding(extra2, lengths, steps, row_start, row_stop, hoff, hidden)
    for s in range(longest(lengths, row_start, row_stop)):
        acc[:] = zero
        add_product(acc, h, wa_t[direction], wa[direction])
        for r in range(rows):
            b = row_start + r
            length = lengths[b]
            if s >= length:
                continue
            row = np.uint64(row_at(b, steps, length, s, direction))
            ahead = row_at(b, steps, length, s + AHEAD, direction)
            if ahead >= 0:
                prefetch_read(gx2, ahead, goff, goff + g3)
                prefetch_write(out2, ahead, hoff, hoff + hidden)
                if save:
                    prefetch_write(gates2, ahead, goff, goff + g3)
                    prefetch_write(extra2, ahead, hoff, hoff + hidden)
            a = acc[r]
            for j in range(h2):
                a[j] = half * tanh(half * (gx2[row, np.uint64(goff + j)] + a[j] + bias[j])) + half
            if not reset_after:
                hr = h[r]
                rhr = rh[r]
                for k in range(hidden):
                    rhr[k] = a[k] * hr[k]
        if not reset_after:
            accn[:] = zero
            add_product(accn, rh, wb_t[direction], wb[direction])
        for r in range(rows):
            b = row_start + r
            length = lengths[b]
            if s >= length:
                continue
            row = np.uint64(row_at(b, steps, length, s, direction))
            a = acc[r]
            hr = h[r]
            if reset_after:
                for k in range(hidden):
                    hn = a[h2 + k] + bias[h2 + k]
                    nk = tanh(gx2[row, np.uint64(goff + h2 + k)] + a[k] * hn)
                    accn[r, k] = hn
                    rh[r, k] = nk
                    hr[k] = nk + a[hidden + k] * (hr[k] - nk)
            else:
                an = accn[r]
                for k in range(hidden):
                    nk = tanh(gx2[row, np.uint64(goff + h2 + k)] + an[k] + bias[h2 + k])
                    an[k] = nk
                    hr[k] = nk + a[hidden + k] * (hr[k] - nk)
            for k in range(hidden):
                out2[row, np.uint64(hoff + k)] = hr[k]
            if save:
                for j in range(h2):
                    gates2[row, np.uint64(goff + j)] = a[j]
                if reset_after:  # n in rh, h W_hn^T + b_hn in accn
                    for k in range(hidden):
                        gates2[row, np.uint64(goff + h2 + k)] = rh[r, k]
                        extra2[row, np.uint64(hoff + k)] = accn[r, k]
                else:  # n in accn, r * h_{t-1} in rh
                    for k in range(hidden):
                        gates2[row, np.uint64(goff + h2 + k)] = accn[r, k]
                        extra2[row, np.uint64(hoff + k)] = rh[r, k]
    store_block(h, h_n, direction, row_start)
    return 0


@kernel
def gru_backward(
    dout, dh_n, gates, extra, out, h0, wa, wa_t, wb, wb_t, lengths, reset_after, direction,
    row_start, row_stop, dgx, dgh, dh0,
):  # type: ignore[no-untyped-def]
    steps = gates.shape[1]
    dgh2, dgx2, dout2 = flat(dgh), flat(dgx), flat(dout)
    extra2, gates2, out2 = flat(extra), flat(gates), flat(out)
    hidden = dh_n.shape[2]
    h2 = 2 * hidden
    g3 = 3 * hidden
    goff = direction * g3
    hoff = direction * hidden
    rows = row_stop - row_start
    dtype = gates.dtype
    zero = dtype.type(0.0)
    one = dtype.type(1.0)
    dh = load_block(dh_n, direction, row_start, rows)
    da = np.zeros((rows, wa.shape[1]), dtype)  # rows of the product with wa
    dn = np.zeros((rows, hidden), dtype)  # reset-before: da_n, multiplied by W_hn
    drh = np.zeros((rows, hidden), dtype)  # reset-before: d(r * h)
    hp = np.zeros((rows, hidden), dtype)  # h_{t-1}: the output one step back, or h0
    zero_padding(dgx2, lengths, steps, row_start, row_stop, goff, g3)
    if reset_after:
        zero_padding(dgh2, lengths, steps, row_start, row_stop, goff, g3)
    for s in range(longest(lengths, row_start, row_stop) - 1, -1, -1):
        for r in range(rows):
            b = row_start + r
            length = lengths[b]
            d = da[r]
            if s >= length:
                d[:] = zero
                dn[r, :] = zero
                continue
            row = np.uint64(row_at(b, steps, length, s, direction))
            ahead = row_at(b, steps, length, s - AHEAD, direction)
            if ahead >= 0:
                prefetch_read(gates2, ahead, goff, goff + g3)
                prefetch_read(dout2, ahead, hoff, hoff + hidden)
                earlier = row_at(b, steps, length, s - AHEAD - 1, direction)
                if earlier >= 0:  # the output before the step ahead
                    prefetch_read(out2, earlier, hoff, hoff + hidden)
                prefetch_read(extra2, ahead, hoff, hoff + hidden)
                prefetch_write(dgx2, ahead, goff, goff + g3)
                if reset_after:
                    prefetch_write(dgh2, ahead, goff, goff + g3)
            if s > 0:
                before = np.uint64(row_at(b, steps, length, s - 1, direction))
                for k in range(hidden):
                    hp[r, k] = out2[before, np.uint64(hoff + k)]
            else:
                for k in range(hidden):
                    hp[r, k] = h0[direction, b, k]
            dhr = dh[r]
            for k in range(hidden):
                rg = gates2[row, np.uint64(goff + k)]
                zg = gates2[row, np.uint64(goff + hidden + k)]
                ng = gates2[row, np.uint64(goff + h2 + k)]
                dhk = dhr[k] + dout2[row, np.uint64(hoff + k)]
                da_n = dhk * (one - zg) * (one - ng * ng)
                da_z = dhk * (hp[r, k] - ng) * zg * (one - zg)
                dhr[k] = dhk * zg
                dgx2[row, np.uint64(goff + hidden + k)] = da_z
                dgx2[row, np.uint64(goff + h2 + k)] = da_n
                d[hidden + k] = da_z
                if reset_after:
                    da_r = da_n * extra2[row, np.uint64(hoff + k)] * rg * (one - rg)
                    dgx2[row, np.uint64(goff + k)] = da_r
                    d[k] = da_r
                    d[h2 + k] = da_n * rg
                else:
                    dn[r, k] = da_n
            if reset_after:
                for j in range(g3):
                    dgh2[row, np.uint64(goff + j)] = d[j]
        if not reset_after:
            drh[:] = zero
            add_product(drh, dn, wb[direction], wb_t[direction])
            for r in range(rows):
                b = row_start + r
                length = lengths[b]
                if s >= length:
                    continue
                row = np.uint64(row_at(b, steps, length, s, direction))
                d = da[r]
                dhr = dh[r]
                for k in range(hidden):
                    rg = gates2[row, np.uint64(goff + k)]
                    da_r = drh[r, k] * hp[r, k] * rg * (one - rg)
                    dgx2[row, np.uint64(goff + k)] = da_r
                    d[k] = da_r
                    dhr[k] += drh[r, k] * rg
        add_product(dh, da, wa[direction], wa_t[direction])
    store_block(dh, dh0, direction, row_start)
    return 0
