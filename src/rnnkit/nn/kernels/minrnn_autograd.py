"""torch.autograd.Function around the fused minGRU/minLSTM kernels (:mod:`.minrnn`).

:func:`linear_recurrent` runs one stacked layer (all its directions):

- inputs: ``gx`` (B, T, D*G*H) = the input projections of every step (G = 2 minGRU, 3 minLSTM),
  computed by the caller in one GEMM, so autograd handles W_ih, b_ih and x; ``h0`` (D, B, H);
  ``lengths`` (B,) int64;
- outputs: ``out`` (B, T, D*H) (zeros at padded steps), ``h_n`` (D, B, H).

The backward kernel returns d(gx) and dh0; nothing but ``out`` (already an output) and ``gx``
is saved. Work units as :func:`rnnkit.nn.kernels.autograd.work_units` (direction, block of
rows), on torch's threads; results do not depend on the thread count.

Example:
    >>> import torch
    >>> from rnnkit.nn.kernels.minrnn_autograd import linear_recurrent
    >>> gx = torch.randn(2, 5, 6)
    >>> out, h_n = linear_recurrent("mingru", gx, torch.zeros(1, 2, 3), torch.tensor([5, 2]))
    >>> tuple(out.shape), bool((out[1, 2:] == 0).all()), torch.equal(h_n[0, 1], out[1, 1])
    ((2, 5, 3), True, True)
"""

from __future__ import annotations

from typing import Any

import torch

from rnnkit.nn.kernels.minrnn import (
    PREFETCH_BELOW_HIDDEN,
    mingru_backward,
    mingru_forward,
    minlstm_backward,
    minlstm_forward,
)
from rnnkit.nn.kernels.tensors import as_array, grad_or_zeros
from rnnkit.nn.kernels.threads import run_units
from rnnkit.nn.kernels.units import work_units

GATES = {"mingru": 2, "minlstm": 3}
_FORWARD = {"mingru": mingru_forward, "minlstm": minlstm_forward}
_BACKWARD = {"mingru": mingru_backward, "minlstm": minlstm_backward}


def _forward(
    kind: str, threads: int, gx: torch.Tensor, h0: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    batch, steps, _ = gx.shape
    directions, _, hidden = h0.shape
    out = torch.empty(batch, steps, directions * hidden, dtype=gx.dtype)
    h_n = torch.empty_like(h0)
    arrays = (as_array(gx), as_array(h0), as_array(lengths))
    out_n, hn_n = as_array(out), as_array(h_n)
    kernel = _FORWARD[kind]
    run_units(
        lambda unit: kernel(*arrays, *unit, out_n, hn_n),
        work_units(batch, directions, threads),
        threads,
    )
    return out, h_n


class LinearRecurrentFunction(torch.autograd.Function):
    """Autograd wrapper: inputs (kind, threads, lengths, gx, h0)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, kind: str, threads: int, lengths: torch.Tensor, gx: torch.Tensor,
        h0: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out, h_n = _forward(kind, threads, gx, h0, lengths)
        ctx.options = (kind, threads)
        ctx.save_for_backward(lengths, gx, h0, out)
        return out, h_n

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        kind, threads = ctx.options
        lengths, gx, h0, out = ctx.saved_tensors
        dout = grad_or_zeros(grads[0], out)
        dh_n = grad_or_zeros(grads[1], h0)
        dgx = torch.empty_like(gx)
        dh0 = torch.empty_like(h0)
        arrays = (
            as_array(dout), as_array(dh_n), as_array(gx), as_array(out), as_array(h0),
            as_array(lengths), h0.shape[2] < PREFETCH_BELOW_HIDDEN,
        )
        dgx_n, dh0_n = as_array(dgx), as_array(dh0)
        kernel = _BACKWARD[kind]
        run_units(
            lambda unit: kernel(*arrays, *unit, dgx_n, dh0_n),
            work_units(gx.shape[0], h0.shape[0], threads),
            threads,
        )
        return None, None, None, dgx, dh0


def linear_recurrent(
    kind: str,
    gx: torch.Tensor,
    h0: torch.Tensor,
    lengths: torch.Tensor,
    *,
    threads: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run one minGRU/minLSTM layer's directions: (out, h_n). Shapes: module doc."""
    count = threads or torch.get_num_threads()
    gx = gx.contiguous()
    h0 = h0.contiguous()
    lengths = lengths.to(torch.int64).contiguous()
    if torch.is_grad_enabled() and (gx.requires_grad or h0.requires_grad):
        return LinearRecurrentFunction.apply(kind, count, lengths, gx, h0)  # type: ignore[no-any-return]
    with torch.no_grad():
        return _forward(kind, count, gx, h0, lengths)


def warm_up(kind: str, dtype: torch.dtype) -> None:
    """Compile (or load from numba's cache) ``kind``'s kernels for ``dtype`` on a tiny problem."""
    with torch.inference_mode(False), torch.enable_grad():
        gx = torch.zeros(1, 1, GATES[kind], dtype=dtype, requires_grad=True)
        h0 = torch.zeros(1, 1, 1, dtype=dtype)
        out, h_n = linear_recurrent(kind, gx, h0, torch.ones(1, dtype=torch.int64), threads=1)
        (out.sum() + h_n.sum()).backward()
