"""Fused mLSTM (xLSTM's matrix memory) forward and backward over one direction and a block of
rows (numba).

The layer's input GEMM gives ``gx`` (B, T, D*G), G = 4H + 2*heads: per direction the blocks
``q, k̂, v, ô`` (H each, head j at units ``j*d .. (j+1)*d``) then ``ĩ, f̃`` (``heads`` each), as
:mod:`rnnkit.nn.mlstm` lays them out. Each (row, head) runs the stabilised recurrence of
:func:`rnnkit.nn.mlstm.mlstm_step` one step at a time over its (d, d) memory, so nothing of size
(T, T) or (B, T, d, d) is built. Outputs ``h`` (B, T, D*H) (zeros at padded steps) and the final
states (D, B, S) in the layer's layout (C (heads, d, d), n (heads, d), m (heads) per row);
direction 1 runs each sequence from its last real step (:func:`.layout.row_at`). One step, with
``k = k̂ / sqrt(d)``::

    log f = min(f̃, 0) - log1p(exp(-|f̃|));  a = log f + m_prev;  m = max(a, ĩ)
    i' = exp(ĩ - m);  f' = exp(a - m);  C = f' C_prev + i' v kᵀ;  n = f' n_prev + i' k
    s = nᵀ q;  den = max(|s|, exp(-m));  h = σ(ô) ⊙ C q / den

The backward differentiates exactly these operations, the stabiliser m included (the torch
paths do not detach it; ``torch.maximum`` splits the gradient in half at a tie, ``abs`` has
slope 0 at 0, and so do these kernels). It never divides by f' to undo a step: the forward saves
the state every :data:`BLOCK` steps (``saved`` (D, B, heads, ceil(T/BLOCK), d*d + d + 1)); the
backward reloads each block's checkpoint, recomputes the block's states into a small buffer,
then runs backwards through the block (``g`` = dh, dC, dn, dm the gradients reaching the state
after the step)::

    o = σ(ô); h̃ = C q / den;  dô = g h̃ o (1 - o);  dnum = g o / den;  dden = -Σ g o h̃ / den
    ds = dden sgn(s) [|s| wins];  dm += -dden exp(-m) [exp(-m) wins]
    dq = Cᵀ dnum + ds n;  dC += dnum qᵀ;  dn += ds q
    df' = Σ dC ⊙ C_prev + dn·n_prev;  w = dC k;  di' = v·w + dn·k
    dv = i' w;  dk = i' (dCᵀ v + dn);  dC_prev = f' dC;  dn_prev = f' dn
    dĩ = di' i';  da = df' f';  dm' = dm - di' i' - df' f'  (to a or ĩ, whichever is the max)
    dm_prev = da;  df̃ = da σ(-f̃)

Rows and heads are independent, so any split of the rows gives the same bits.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit.nn.kernels.activations import sigmoid
from rnnkit.nn.kernels.layout import flat, row_at, zero_padding
from rnnkit.nn.kernels.linalg import kernel

BLOCK = 16  # steps between the forward's checkpoints = the backward's recompute buffer length
# The small vectors of a call are slices of one workspace, GAP elements apart: LLVM guards its
# vectorized loops by the distance between the arrays they store to and load from, and separate
# allocations, at varying distances, switched loops between the vector and the scalar path
# (another summation order) from call to call. Fixed distances give the same bits every call.
GAP = 64


@kernel
def _log_sigmoid(x, zero):  # type: ignore[no-untyped-def]
    """log σ(x), as torch computes it: min(x, 0) - log1p(exp(-|x|))."""
    return min(x, zero) - math.log1p(math.exp(-abs(x)))


@kernel
def _sigmoid_of_negative(x, one):  # type: ignore[no-untyped-def]
    """σ(-x), the slope of log σ at x, as torch's log_sigmoid backward computes it."""
    z = math.exp(-abs(x))
    return one / (one + z) if x < 0 else z / (one + z)


@kernel
def _gates(xi, xf, m_prev, zero):  # type: ignore[no-untyped-def]
    """(a, m, i', f') of one step from the pre-activations ĩ, f̃ and the previous m."""
    a = _log_sigmoid(xf, zero) + m_prev
    m = max(a, xi)
    return a, m, math.exp(xi - m), math.exp(a - m)


@kernel
def _load_inputs(gx2, row, goff, hidden, head, d, scale, q, k, v):  # type: ignore[no-untyped-def]
    """q, k (scaled), v of one head at one step."""
    base = np.uint64(goff + head * d)
    for i in range(d):
        ui = np.uint64(i)
        q[ui] = gx2[row, base + ui]
        k[ui] = gx2[row, base + np.uint64(hidden) + ui] * scale
        v[ui] = gx2[row, base + np.uint64(2 * hidden) + ui]


@kernel
def _state_offsets(heads, d, head):  # type: ignore[no-untyped-def]
    """Where head's C, n and m start in a row of the layer's state (S wide)."""
    return head * d * d, heads * d * d + head * d, heads * d * d + heads * d + head


@kernel
def _load_state(states, direction, b, heads, head, d, buf, at):  # type: ignore[no-untyped-def]
    """buf[at : at + d*d + d + 1] = head's (C, n, m) of states[direction, b]."""
    c0, n0, m0 = _state_offsets(heads, d, head)
    dd = d * d
    for i in range(dd):
        buf[at + i] = states[direction, b, c0 + i]
    for i in range(d):
        buf[at + dd + i] = states[direction, b, n0 + i]
    buf[at + dd + d] = states[direction, b, m0]


@kernel
def _store_state(buf, at, states, direction, b, heads, head, d):  # type: ignore[no-untyped-def]
    """The inverse of :func:`_load_state`."""
    c0, n0, m0 = _state_offsets(heads, d, head)
    dd = d * d
    for i in range(dd):
        states[direction, b, c0 + i] = buf[at + i]
    for i in range(d):
        states[direction, b, n0 + i] = buf[at + dd + i]
    states[direction, b, m0] = buf[at + dd + d]


@kernel
def _advance(buf, src, dst, k, v, ig, fg, d):  # type: ignore[no-untyped-def]
    """The state at ``dst`` = one step from the state at ``src`` (C and n; m set by caller)."""
    dd = np.uint64(d * d)
    s0, d0 = np.uint64(src), np.uint64(dst)
    for a in range(d):
        va = ig * v[a]
        base = np.uint64(a * d)
        for c in range(d):
            uc = np.uint64(c)
            buf[d0 + base + uc] = fg * buf[s0 + base + uc] + va * k[uc]
    for c in range(d):
        uc = np.uint64(c)
        buf[d0 + dd + uc] = fg * buf[s0 + dd + uc] + ig * k[uc]


@kernel
def mlstm_forward(
    gx, h0, lengths, heads, direction, row_start, row_stop, save, out, h_n, saved
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    hidden = out.shape[2] // h0.shape[0]
    d = hidden // heads
    dd = d * d
    per = dd + d + 1
    gx2, out2 = flat(gx), flat(out)
    goff = direction * (4 * hidden + 2 * heads)
    hoff = direction * hidden
    dtype = gx.dtype
    zero = dtype.type(0.0)
    scale = dtype.type(1.0 / math.sqrt(d))
    pad = d + GAP
    work = np.empty(4 * pad + per, dtype)
    q, k, v, num = work[:d], work[pad : pad + d], work[2 * pad : 2 * pad + d], work[3 * pad :]
    state = work[4 * pad :]
    zero_padding(out2, lengths, steps, row_start, row_stop, hoff, hidden)
    udd = np.uint64(dd)
    for b in range(row_start, row_stop):
        length = lengths[b]
        for j in range(heads):
            _load_state(h0, direction, b, heads, j, d, state, 0)
            obase = np.uint64(goff + 3 * hidden + j * d)
            hbase = np.uint64(hoff + j * d)
            for s in range(length):
                if save and s % BLOCK == 0:
                    for i in range(per):
                        saved[direction, b, j, s // BLOCK, i] = state[i]
                row = np.uint64(row_at(b, steps, length, s, direction))
                _load_inputs(gx2, row, goff, hidden, j, d, scale, q, k, v)
                xi = gx2[row, np.uint64(goff + 4 * hidden + j)]
                xf = gx2[row, np.uint64(goff + 4 * hidden + heads + j)]
                _, m, ig, fg = _gates(xi, xf, state[per - 1], zero)
                state[per - 1] = m
                sq = zero
                for c in range(d):
                    uc = np.uint64(c)
                    nc = fg * state[udd + uc] + ig * k[uc]
                    state[udd + uc] = nc
                    sq += nc * q[uc]
                den = max(abs(sq), math.exp(-m))
                for a in range(d):
                    va = ig * v[a]
                    base = np.uint64(a * d)
                    acc = zero
                    for c in range(d):
                        uc = np.uint64(c)
                        cac = fg * state[base + uc] + va * k[uc]
                        state[base + uc] = cac
                        acc += cac * q[uc]
                    num[a] = acc
                for a in range(d):  # apart from the products: vectorized sigmoids
                    ua = np.uint64(a)
                    out2[row, hbase + ua] = sigmoid(gx2[row, obase + ua]) * (num[ua] / den)
            _store_state(state, 0, h_n, direction, b, heads, j, d)
    return 0


@kernel
def mlstm_backward(
    dout, dh_n, gx, h0, saved, lengths, heads, direction, row_start, row_stop, dgx, dh0
):  # type: ignore[no-untyped-def]
    steps = gx.shape[1]
    hidden = dout.shape[2] // h0.shape[0]
    d = hidden // heads
    dd = d * d
    per = dd + d + 1
    width = 4 * hidden + 2 * heads
    gx2, dout2, dgx2 = flat(gx), flat(dout), flat(dgx)
    goff = direction * width
    hoff = direction * hidden
    dtype = gx.dtype
    zero = dtype.type(0.0)
    one = dtype.type(1.0)
    half = dtype.type(0.5)
    scale = dtype.type(1.0 / math.sqrt(d))
    pad = d + GAP
    work = np.empty(8 * pad + per + GAP + (BLOCK + 1) * per, dtype)
    q, k, v, dq = work[:d], work[pad : pad + d], work[2 * pad : 2 * pad + d], work[3 * pad :]
    dnum, u, num, gate = work[4 * pad :], work[5 * pad :], work[6 * pad :], work[7 * pad :]
    grads = work[8 * pad :]  # dC, dn, dm reaching the state after the current step
    buf = work[8 * pad + per + GAP :]  # the states before each step of a block, and after
    zero_padding(dgx2, lengths, steps, row_start, row_stop, goff, width)
    udd = np.uint64(dd)
    for b in range(row_start, row_stop):
        length = lengths[b]
        for j in range(heads):
            _load_state(dh_n, direction, b, heads, j, d, grads, 0)
            dm = grads[per - 1]
            qbase = np.uint64(goff + j * d)
            kbase = qbase + np.uint64(hidden)
            vbase = qbase + np.uint64(2 * hidden)
            obase = qbase + np.uint64(3 * hidden)
            ibase = np.uint64(goff + 4 * hidden + j)
            fbase = np.uint64(goff + 4 * hidden + heads + j)
            hbase = np.uint64(hoff + j * d)
            for block in range((length + BLOCK - 1) // BLOCK - 1, -1, -1):
                s0 = block * BLOCK
                s1 = min(s0 + BLOCK, length)
                for i in range(per):
                    buf[i] = saved[direction, b, j, block, i]
                for s in range(s0, s1):
                    src = (s - s0) * per
                    row = np.uint64(row_at(b, steps, length, s, direction))
                    _load_inputs(gx2, row, goff, hidden, j, d, scale, q, k, v)
                    _, m, ig, fg = _gates(gx2[row, ibase], gx2[row, fbase], buf[src + per - 1],
                                          zero)
                    _advance(buf, src, src + per, k, v, ig, fg, d)
                    buf[src + per + per - 1] = m
                for s in range(s1 - 1, s0 - 1, -1):
                    src = np.uint64((s - s0) * per)
                    dst = src + np.uint64(per)
                    row = np.uint64(row_at(b, steps, length, s, direction))
                    _load_inputs(gx2, row, goff, hidden, j, d, scale, q, k, v)
                    xi, xf = gx2[row, ibase], gx2[row, fbase]
                    a, m, ig, fg = _gates(xi, xf, buf[src + np.uint64(per - 1)], zero)
                    sq = zero
                    for c in range(d):
                        uc = np.uint64(c)
                        sq += buf[dst + udd + uc] * q[uc]
                        dq[uc] = zero
                    floor = math.exp(-m)
                    den = max(abs(sq), floor)
                    for a_ in range(d):
                        ua = np.uint64(a_)
                        o = sigmoid(gx2[row, obase + ua])
                        gate[ua] = o
                        dnum[ua] = dout2[row, hbase + ua] * o / den
                    for a_ in range(d):
                        ua = np.uint64(a_)
                        base = dst + np.uint64(a_ * d)
                        dn_a = dnum[ua]
                        acc = zero
                        for c in range(d):
                            uc = np.uint64(c)
                            cac = buf[base + uc]
                            acc += cac * q[uc]
                            dq[uc] += cac * dn_a
                        num[ua] = acc
                    dden = zero
                    for a_ in range(d):
                        ua = np.uint64(a_)
                        g = dout2[row, hbase + ua]
                        o = gate[ua]
                        ht = num[ua] / den
                        dgx2[row, obase + ua] = g * ht * o * (one - o)
                        dden += g * o * ht
                    dden = -dden / den
                    abs_s = abs(sq)
                    if abs_s > floor:
                        ds_abs, dfloor = dden, zero
                    elif abs_s < floor:
                        ds_abs, dfloor = zero, dden
                    else:
                        ds_abs, dfloor = half * dden, half * dden
                    ds = ds_abs if sq > zero else (-ds_abs if sq < zero else zero)
                    dm -= dfloor * floor
                    dfg = zero
                    dig = zero
                    for c in range(d):
                        uc = np.uint64(c)
                        dq[uc] += ds * buf[dst + udd + uc]
                        dnc = grads[udd + uc] + ds * q[uc]
                        dfg += dnc * buf[src + udd + uc]
                        dig += dnc * k[uc]
                        u[uc] = dnc
                        grads[udd + uc] = fg * dnc
                    for a_ in range(d):
                        ua = np.uint64(a_)
                        va = v[ua]
                        dn_a = dnum[ua]
                        base = np.uint64(a_ * d)
                        w = zero
                        for c in range(d):
                            uc = np.uint64(c)
                            g = grads[base + uc] + dn_a * q[uc]
                            dfg += g * buf[src + base + uc]
                            w += g * k[uc]
                            u[uc] += g * va
                            grads[base + uc] = fg * g
                        dgx2[row, vbase + ua] = ig * w
                        dig += va * w
                    for c in range(d):
                        uc = np.uint64(c)
                        dgx2[row, qbase + uc] = dq[uc]
                        dgx2[row, kbase + uc] = ig * u[uc] * scale
                    dxi = dig * ig
                    da = dfg * fg
                    dm_total = dm - dig * ig - dfg * fg
                    if a > xi:
                        da += dm_total
                    elif a < xi:
                        dxi += dm_total
                    else:
                        da += half * dm_total
                        dxi += half * dm_total
                    dgx2[row, ibase] = dxi
                    dgx2[row, fbase] = da * _sigmoid_of_negative(xf, one)
                    dm = da
            grads[per - 1] = dm
            _store_state(grads, 0, dh0, direction, b, heads, j, d)
    return 0
