"""Fused selective scan (Mamba) forward and backward over a block of batch rows (numba).

With u, Δ (B, T, E), B_t, C_t (B, T, N), A (E, N), D (E,) and the state h (B, E, N), one
sequence's real steps t < length read, per channel e and state unit n::

    h_t[e, n] = exp(Δ_t[e] A[e, n]) h_{t-1}[e, n] + Δ_t[e] u_t[e] B_t[n]
    y_t[e]    = sum_n h_t[e, n] C_t[n] + D[e] u_t[e]

The torch composition materializes exp(ΔA) and ΔuB as (B, T, E, N) tensors (and their
gradients); here each step is one pass over the (E, N) state held in a small buffer. Padded
steps (t >= length) give y = 0 and zero gradients; ``h_n`` is the state after the last real step
(``h0`` for an empty sequence).

The backward pass saves nothing of size (B, T, E, N): per row and block of :data:`CHANNELS`
channels it recomputes the states of that block into a (T+1, CHANNELS, N) buffer, then runs
backwards in time (``g`` = dy_t[e], ``dh`` the gradient reaching h_t, ``a = exp(Δ A)``)::

    dh   += g C_t;       dC_t += g h_t;      du_t = g D + sum_n dh Δ B_t;   dD += g u_t
    dΔ_t  = sum_n (dh h_{t-1} a A + dh u_t B_t);  dA += dh h_{t-1} a Δ;  dB_t += dh Δ u_t
    dh    = dh a                                                       (-> dh0 at the start)

dA and dD are written per row (summed over the batch by the caller), dB and dC are sums over
the channels of a row, so a work unit writes only its own rows and any split gives the same
bits.
"""

from __future__ import annotations

import numpy as np

from rnnkit.nn.kernels.activations import exp
from rnnkit.nn.kernels.layout import flat
from rnnkit.nn.kernels.linalg import kernel

CHANNELS = 16  # channels per block in the backward: u, Δ rows read one cache line at a time


@kernel
def _zero_rows(a2, b, steps, start):  # type: ignore[no-untyped-def]
    """Zero rows ``b*steps + t`` for t in [start, steps) of a flat (B*T, C) array."""
    zero = a2.dtype.type(0.0)
    for t in range(start, steps):
        row = np.uint64(b * steps + t)
        for k in range(a2.shape[1]):
            a2[row, np.uint64(k)] = zero


@kernel
def ssm_forward(
    u, delta, a_mat, b_in, c_out, d_skip, h0, lengths, row_start, row_stop, y, h_n
):  # type: ignore[no-untyped-def]
    steps, channels = u.shape[1], u.shape[2]
    units = a_mat.shape[1]
    u2, d2, b2, c2, y2 = flat(u), flat(delta), flat(b_in), flat(c_out), flat(y)
    a1 = a_mat.ravel()
    width = channels * units
    h = np.empty(width, u.dtype)
    for b in range(row_start, row_stop):
        length = lengths[b]
        _zero_rows(y2, b, steps, length)
        for i in range(width):
            h[i] = h0[b, i // units, i % units]
        for t in range(length):
            row = np.uint64(b * steps + t)
            for e in range(channels):
                ue = np.uint64(e)
                dt = d2[row, ue]
                x = u2[row, ue]
                dx = dt * x
                acc = d_skip[ue] * x
                base = np.uint64(e * units)
                for n in range(units):
                    i = base + np.uint64(n)
                    hn = exp(dt * a1[i]) * h[i] + dx * b2[row, np.uint64(n)]
                    h[i] = hn
                    acc += hn * c2[row, np.uint64(n)]
                y2[row, ue] = acc
        for i in range(width):
            h_n[b, i // units, i % units] = h[i]
    return 0


@kernel
def ssm_backward(
    dy, dh_n, u, delta, a_mat, b_in, c_out, d_skip, h0, lengths, row_start, row_stop,
    du, ddelta, da_rows, db_in, dc_out, dd_rows, dh0,
):  # type: ignore[no-untyped-def]
    steps, channels = u.shape[1], u.shape[2]
    units = a_mat.shape[1]
    u2, d2, b2, c2, dy2 = flat(u), flat(delta), flat(b_in), flat(c_out), flat(dy)
    du2, dd2, db2, dc2 = flat(du), flat(ddelta), flat(db_in), flat(dc_out)
    a1 = a_mat.ravel()
    dtype = u.dtype
    zero = dtype.type(0.0)
    block = CHANNELS * units
    hist = np.empty((steps + 1) * block, dtype)  # h_t of the block's channels, t = -1 .. L-1
    decays = np.empty(steps * block, dtype)  # exp(Δ_t A) of the same
    dh = np.empty(block, dtype)
    da = np.empty(block, dtype)
    for b in range(row_start, row_stop):
        length = lengths[b]
        for a2 in (du2, dd2):
            _zero_rows(a2, b, steps, length)
        for a2 in (db2, dc2):
            _zero_rows(a2, b, steps, 0)  # sums over the channels: start from zero
        for e0 in range(0, channels, CHANNELS):
            width = min(CHANNELS, channels - e0)
            for j in range(width):
                dd_rows[b, e0 + j] = zero
                for n in range(units):
                    hist[j * units + n] = h0[b, e0 + j, n]
                    dh[j * units + n] = dh_n[b, e0 + j, n]
                    da[j * units + n] = zero
            for t in range(length):
                row = np.uint64(b * steps + t)
                for j in range(width):
                    e = np.uint64(e0 + j)
                    dt = d2[row, e]
                    dx = dt * u2[row, e]
                    here = np.uint64(t * block + j * units)
                    after = here + np.uint64(block)
                    ea = e * np.uint64(units)
                    for n in range(units):
                        un = np.uint64(n)
                        decay = exp(dt * a1[ea + un])
                        decays[here + un] = decay
                        hist[after + un] = decay * hist[here + un] + dx * b2[row, un]
            for t in range(length - 1, -1, -1):
                row = np.uint64(b * steps + t)
                for j in range(width):
                    e = np.uint64(e0 + j)
                    dt = d2[row, e]
                    x = u2[row, e]
                    g = dy2[row, e]
                    dd_rows[b, e] += g * x
                    du_acc = g * d_skip[e]
                    dt_acc = zero
                    here = np.uint64(t * block + j * units)
                    after = here + np.uint64(block)
                    jj = np.uint64(j * units)
                    ea = e * np.uint64(units)
                    for n in range(units):
                        un = np.uint64(n)
                        bn = b2[row, un]
                        an = a1[ea + un]
                        decay = decays[here + un]
                        dc2[row, un] += g * hist[after + un]
                        dhn = dh[jj + un] + g * c2[row, un]
                        dpre = dhn * hist[here + un] * decay
                        dt_acc += dpre * an + dhn * x * bn
                        da[jj + un] += dpre * dt
                        du_acc += dhn * dt * bn
                        db2[row, un] += dhn * dt * x
                        dh[jj + un] = dhn * decay
                    du2[row, e] = du_acc
                    dd2[row, e] = dt_acc
            for j in range(width):
                for n in range(units):
                    dh0[b, e0 + j, n] = dh[j * units + n]
                    da_rows[b, e0 + j, n] = da[j * units + n]
    return 0
