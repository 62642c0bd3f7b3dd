"""torch.autograd.Functions around a residual block's fused kernels (:mod:`.block`).

- :func:`causal_conv` ``(u (B, T + K - 1, H), weight (H, K), bias (H,)) -> (B, T, H)``: the
  causal depthwise convolution over normalised inputs with the carried window in front;
  gradients reach all three.
- :func:`dropout_add` ``(x, y (B, T, H), p) -> x + dropout(y)`` in training: the residual add of
  a dropped-out branch, the mask a hash of a seed drawn from torch's generator (recomputed in the
  backward, nothing stored).

Work units are blocks of rows starting at multiples of 8 (:func:`.units.work_units`); results do
not depend on the thread count.

Example:
    >>> import torch
    >>> from rnnkit.nn.kernels.block_autograd import causal_conv, dropout_add
    >>> u = torch.arange(4.0).reshape(1, 4, 1)
    >>> causal_conv(u, torch.tensor([[1.0, 10.0]]), torch.zeros(1))[0, :, 0].tolist()
    [10.0, 21.0, 32.0]
    >>> x, y = torch.zeros(4, 50, 100), torch.ones(4, 50, 100)
    >>> kept = dropout_add(x, y, 0.25)                      # y kept (scaled by 4/3) or dropped
    >>> sorted(set(kept.flatten().tolist())), abs(float((kept > 0).float().mean()) - 0.75) < 0.02
    ([0.0, 1.3333333730697632], True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from rnnkit.nn.kernels import block
from rnnkit.nn.kernels.tensors import as_array
from rnnkit.nn.kernels.threads import run_units
from rnnkit.nn.kernels.units import work_units

# numba's dispatchers, typed loosely (their stubs take one argument)
_CONV_FORWARD: Any = block.causal_conv_forward
_CONV_BACKWARD: Any = block.causal_conv_backward
_DROPOUT_FORWARD: Any = block.dropout_add_forward
_DROPOUT_BACKWARD: Any = block.dropout_backward
# Below this many values per call a thread hand-off costs more than it saves (generation steps).
MIN_PARALLEL_VALUES = 1 << 16


def _over_rows(batch: int, values: int, work: Callable[[int, int], Any]) -> None:
    """``work(row_start, row_stop)`` over blocks of rows, on torch's threads unless the call is
    too small to split."""
    threads = 1 if values < MIN_PARALLEL_VALUES else torch.get_num_threads()
    run_units(lambda unit: work(unit[1], unit[2]), work_units(batch, 1, threads), threads)


class CausalConvFunction(torch.autograd.Function):
    """Autograd wrapper: inputs (u, weight (H, K), bias)."""

    @staticmethod
    def forward(ctx: Any, u: torch.Tensor, weight: torch.Tensor,  # type: ignore[override]
                bias: torch.Tensor) -> torch.Tensor:
        batch, padded, hidden = u.shape
        steps = padded - weight.shape[1] + 1
        weight_kh = weight.t().contiguous()
        out = u.new_empty(batch, steps, hidden)
        u_n, weight_n, bias_n, out_n = (as_array(t) for t in (u, weight_kh, bias, out))
        _over_rows(batch, out.numel(),
                   lambda start, stop: _CONV_FORWARD(u_n, weight_n, bias_n, start, stop, out_n))
        ctx.save_for_backward(u, weight_kh)
        return out

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor, ...]:
        u, weight_kh = ctx.saved_tensors
        dout = dout.contiguous()
        batch = u.shape[0]
        groups = -(-batch // block.ROW_GROUP)
        du = torch.empty_like(u)
        dweight_parts = u.new_empty(groups, *weight_kh.shape)
        dbias_parts = u.new_empty(groups, u.shape[2])
        inputs = [as_array(t) for t in (dout, u, weight_kh)]
        outputs = [as_array(t) for t in (du, dweight_parts, dbias_parts)]
        _over_rows(batch, dout.numel(),
                   lambda start, stop: _CONV_BACKWARD(*inputs, start, stop, *outputs))
        return du, dweight_parts.sum(0).t(), dbias_parts.sum(0)


def _threshold(p: float) -> int:
    return min(round(p * 2**32), 2**32 - 1)


class DropoutAddFunction(torch.autograd.Function):
    """Autograd wrapper: inputs (x, y, p, seed)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor, p: float,  # type: ignore[override]
                seed: int) -> torch.Tensor:
        out = torch.empty_like(x)
        options = (seed, _threshold(p), 1.0 / (1.0 - p))
        x_n, y_n, out_n = as_array(x), as_array(y), as_array(out)
        _over_rows(x.shape[0], x.numel(),
                   lambda start, stop: _DROPOUT_FORWARD(x_n, y_n, *options, start, stop, out_n))
        ctx.options = options
        return out

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        dout = dout.contiguous()
        dy = torch.empty_like(dout)
        dout_n, dy_n = as_array(dout), as_array(dy)
        _over_rows(dout.shape[0], dout.numel(),
                   lambda start, stop: _DROPOUT_BACKWARD(dout_n, *ctx.options, start, stop, dy_n))
        return dout, dy, None, None


def causal_conv(u: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The causal depthwise convolution: shapes in the module doc."""
    return CausalConvFunction.apply(u.contiguous(), weight, bias)  # type: ignore[no-any-return]


def dropout_add(x: torch.Tensor, y: torch.Tensor, p: float) -> torch.Tensor:
    """``x + dropout(y, p)`` (training); ``0 <= p < 1``. The seed comes from torch's generator."""
    seed = int(torch.randint(0, 2**62, (1,)))
    return DropoutAddFunction.apply(x.contiguous(), y.contiguous(), float(p), seed)  # type: ignore[no-any-return]


def warm_up(dtype: torch.dtype) -> None:
    """Compile (or load from numba's cache) the block kernels for ``dtype`` on a tiny problem."""
    with torch.inference_mode(False), torch.enable_grad():
        u = torch.zeros(1, 2, 1, dtype=dtype, requires_grad=True)
        weight = torch.zeros(1, 2, dtype=dtype, requires_grad=True)
        bias = torch.zeros(1, dtype=dtype, requires_grad=True)
        y = causal_conv(u, weight, bias)
        dropout_add(y, y, 0.5).sum().backward()
