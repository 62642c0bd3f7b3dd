"""The layers' input projection ``x W^T + b`` on oneDNN's GEMM, with its own backward.

torch's float32 ``mm``/``linear`` on CPU calls MKL, which is known to pick slower code paths on
non-Intel processors; oneDNN's GEMM (already inside torch, behind ``torch.ops.mkldnn``) is
1.7-1.9x faster on the 2-core AMD EPYC the benchmarks run on (``benchmarks/results/kernels.md``).
:func:`linear` runs the forward
product and the input gradient ``dy W`` there; the weight gradient ``dy^T x`` (a long reduction
into a small matrix) stays on ``torch.mm``, which is faster for that shape, computed as
``(x^T dy)^T`` when x has fewer than :data:`NARROW_INPUT` features (MKL's direct order is 5-12x
slower there: the two-feature inputs of the memory tasks, one-hot symbols). Results are
bit-identical for any thread count, like the kernels'.

Anything else (float64, other devices, tracing/export, a torch without oneDNN, products below
:data:`MIN_WORK` multiply-adds) takes ``torch.nn.functional.linear``.

Example:
    >>> import torch
    >>> from rnnkit.nn.kernels.gemm import linear
    >>> x, w, b = torch.randn(2, 3, 4), torch.randn(5, 4), torch.randn(5)
    >>> torch.allclose(linear(x, w, b), torch.nn.functional.linear(x, w, b), atol=1e-6)
    True
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

_state: dict[str, bool | None] = {"available": None}


def _onednn(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")


def available() -> bool:
    """Whether this torch has a working oneDNN linear (checked once per process)."""
    if _state["available"] is None:
        try:
            probe = _onednn(torch.ones(2, 3), torch.ones(4, 3), torch.zeros(4))
            _state["available"] = bool(torch.equal(probe, torch.full((2, 4), 3.0)))
        except (AttributeError, RuntimeError):
            _state["available"] = False
    return bool(_state["available"])


class _Linear(torch.autograd.Function):
    """(M, K) x (N, K) weight (+ (N,) bias) -> (M, N), gradients for all three."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return _onednn(x, weight, None if bias is None else bias.detach())

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        dy = dy.contiguous()
        # the transposed weight as a strided view: no copy, and oneDNN reads it as fast
        dx = _onednn(dy, weight.t(), None) if ctx.needs_input_grad[0] else None
        dw = weight_gradient(dy, x) if ctx.needs_input_grad[1] else None
        db = dy.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return dx, dw, db


# Below this many input features MKL's ``dy^T x`` takes a slow path on the (N, K) operand:
# 5-12x slower than the same product computed as ``(x^T dy)^T`` (N = 4,096 to 64,000 rows,
# 128 to 512 outputs, K = 2 and 8; ``benchmarks/results/narrow.md``). From K = 16 up the two
# orders are within 10% and the direct one is kept.
NARROW_INPUT = 16


def weight_gradient(dy: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``dy^T x``, (N, M) x (N, K) -> (M, K), in the order that is fast for this K."""
    if x.shape[1] < NARROW_INPUT:
        return (x.t() @ dy).t().contiguous()  # a small (M, K) copy; .grad keeps its layout
    return dy.t() @ x


# Below this many multiply-adds the call overhead of the oneDNN op (~20 us) outweighs its speed.
MIN_WORK = 1 << 20


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` for x (..., K), weight (N, K): on oneDNN when it can."""
    usable = (
        x.numel() * weight.shape[0] >= MIN_WORK
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and x.device.type == "cpu"
        and weight.device.type == "cpu"
        and not (torch.jit.is_tracing() or torch.jit.is_scripting())
        and not torch.compiler.is_compiling()
        and available()
    )
    if not usable:
        return F.linear(x, weight, bias)
    flat = x.reshape(-1, x.shape[-1]).contiguous()
    out = _Linear.apply(flat, weight, bias)
    return out.reshape(*x.shape[:-1], weight.shape[0])
