"""Fused pieces of a residual block (:class:`rnnkit.nn.ResidualBlock`): the causal depthwise
convolution and the dropout-then-residual-add, forward and backward (numba).

In torch the convolution is K shifted multiply-adds over (B, T, H) tensors, and the dropout draws
a Bernoulli tensor, multiplies and adds: each a few passes over memory, forward and backward.
These kernels make one pass each (benchmarks/results/blocks.md has the step times).

Causal depthwise convolution, ``u`` (B, T + K - 1, H) the normalised inputs with the carried
window in front, ``weight`` given as (K, H) so the unit loop is innermost and contiguous::

    out[b, t, h]  = bias[h] + sum_k weight[k, h] * u[b, t + k, h]
    du[b, s, h]   = sum_{k, t + k = s} dout[b, t, h] * weight[k, h]
    dweight[k, h] = sum_{b, t} dout[b, t, h] * u[b, t + k, h],   dbias[h] = sum_{b, t} dout[b, t, h]

The weight gradients are summed per group of 8 rows (``parts``, row groups never straddle work
units, which start at multiples of 8) and the groups are summed by the caller, so the bits do
not depend on the thread count.

Dropout then residual add, ``out = x + y * keep * scale`` with ``scale = 1 / (1 - p)``: whether
element ``i`` (its flat index in (B, T, H)) is kept is a hash of ``(seed, i)`` (splitmix64,
Steele et al. 2014), kept when its top 32 bits are at least ``threshold = round(p * 2**32)``. So
the backward recomputes the mask instead of storing it, and a thread draws the same mask for its
rows whatever the split. ``seed`` comes from torch's generator (``torch.manual_seed`` repeats
a run).

Example:
    >>> import numpy as np
    >>> from rnnkit.nn.kernels.block import causal_conv_forward
    >>> u = np.arange(4.0).reshape(1, 4, 1)                   # window of 1, then 3 steps
    >>> out = np.empty((1, 3, 1))
    >>> causal_conv_forward(u, np.array([[1.0], [10.0]]), np.zeros(1), 0, 1, out)
    0
    >>> out[0, :, 0].tolist()                                  # 1 * u[t] + 10 * u[t + 1]
    [10.0, 21.0, 32.0]
"""

from __future__ import annotations

import numpy as np

from rnnkit.nn.kernels.linalg import kernel

#: Rows per partial sum of the convolution's weight gradients (work units start at multiples).
ROW_GROUP = 8

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@kernel
def causal_conv_forward(u, weight, bias, row_start, row_stop, out):  # type: ignore[no-untyped-def]
    """``out`` (B, T, H) for rows [row_start, row_stop): equations in the module doc."""
    steps, hidden = out.shape[1], out.shape[2]
    width = weight.shape[0]
    for b in range(row_start, row_stop):
        for t in range(steps):
            for h in range(hidden):
                out[b, t, h] = bias[h]
            for k in range(width):
                for h in range(hidden):
                    out[b, t, h] += weight[k, h] * u[b, t + k, h]
    return 0


@kernel
def causal_conv_backward(
    dout, u, weight, row_start, row_stop, du, dweight_parts, dbias_parts
):  # type: ignore[no-untyped-def]
    """``du`` (B, T + K - 1, H) for the rows, and the weight gradients of each group of
    :data:`ROW_GROUP` rows into ``dweight_parts`` (G, K, H) and ``dbias_parts`` (G, H)."""
    steps, hidden = dout.shape[1], dout.shape[2]
    width = weight.shape[0]
    zero = du.dtype.type(0.0)
    for b in range(row_start, row_stop):
        group = b // ROW_GROUP
        if b % ROW_GROUP == 0 or b == row_start:
            for h in range(hidden):
                dbias_parts[group, h] = zero
                for k in range(width):
                    dweight_parts[group, k, h] = zero
        for s in range(steps + width - 1):
            for h in range(hidden):
                du[b, s, h] = zero
        for t in range(steps):
            for h in range(hidden):
                dbias_parts[group, h] += dout[b, t, h]
            for k in range(width):
                for h in range(hidden):
                    du[b, t + k, h] += dout[b, t, h] * weight[k, h]
                    dweight_parts[group, k, h] += dout[b, t, h] * u[b, t + k, h]
    return 0


@kernel
def _kept(seed, index, threshold):  # type: ignore[no-untyped-def]
    """Whether flat element ``index`` survives dropout: splitmix64 of (seed, index), top 32
    bits against the threshold."""
    z = seed + np.uint64(index) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(32)) >= threshold


@kernel
def _drop_rows(
    y, x, add, seed, threshold, scale, row_start, row_stop, out
):  # type: ignore[no-untyped-def]
    """``out = (x if add else 0) + y * keep * scale`` over (B, T, H) rows [row_start, row_stop)."""
    steps, hidden = y.shape[1], y.shape[2]
    zero = y.dtype.type(0.0)
    factor = y.dtype.type(scale)
    seed64 = np.uint64(seed)
    limit = np.uint64(threshold)
    for b in range(row_start, row_stop):
        for t in range(steps):
            base = (b * steps + t) * hidden
            for h in range(hidden):
                dropped = y[b, t, h] * factor if _kept(seed64, base + h, limit) else zero
                out[b, t, h] = x[b, t, h] + dropped if add else dropped
    return 0


@kernel
def dropout_add_forward(
    x, y, seed, threshold, scale, row_start, row_stop, out
):  # type: ignore[no-untyped-def]
    """``out = x + y * keep * scale`` over (B, T, H) rows [row_start, row_stop)."""
    return _drop_rows(y, x, True, seed, threshold, scale, row_start, row_stop, out)


@kernel
def dropout_backward(dout, seed, threshold, scale, row_start, row_stop, dy):  # type: ignore[no-untyped-def]
    """``dy = dout * keep * scale`` with the forward's mask (recomputed from the seed)."""
    return _drop_rows(dout, dout, False, seed, threshold, scale, row_start, row_stop, dy)
