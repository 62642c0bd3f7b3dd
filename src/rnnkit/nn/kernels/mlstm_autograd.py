"""torch.autograd.Function around the fused mLSTM kernels (:mod:`.mlstm`).

:func:`mlstm_recurrent` runs one stacked MLSTM layer (all its directions):

- inputs: ``gx`` (B, T, D*(4H + 2*heads)) = the input projections of every step, computed by the
  caller in one GEMM (so autograd handles W_ih, b_ih and x); ``state`` (D, B, S) in the layer's
  layout (S = heads*d*d + heads*d + heads); ``lengths`` (B,) int64; ``heads``;
- outputs: ``out`` (B, T, D*H) (zeros at padded steps), ``state_n`` (D, B, S), each sequence's
  state after its last real step.

The backward kernel returns d(gx) and d(state); the forward saves the state every
:data:`rnnkit.nn.kernels.mlstm.BLOCK` steps (about ``d / BLOCK`` times the size of ``out``)
and the backward recomputes the rest. Work units as
:func:`rnnkit.nn.kernels.units.work_units` (direction, block of rows) on torch's threads;
results do not depend on the thread count.

Example:
    >>> import torch
    >>> from rnnkit.nn.kernels.mlstm_autograd import mlstm_recurrent
    >>> gx = torch.randn(2, 5, 4 * 4 + 2 * 2)                  # H = 4, heads = 2: d = 2
    >>> state = torch.zeros(1, 2, 2 * 2 * 2 + 2 * 2 + 2)
    >>> out, final = mlstm_recurrent(gx, state, torch.tensor([5, 2]), heads=2)
    >>> tuple(out.shape), tuple(final.shape), bool((out[1, 2:] == 0).all())
    ((2, 5, 4), (1, 2, 14), True)
"""

from __future__ import annotations

from typing import Any

import torch

from rnnkit.nn.kernels import mlstm
from rnnkit.nn.kernels.tensors import as_array, grad_or_zeros
from rnnkit.nn.kernels.threads import run_units
from rnnkit.nn.kernels.units import work_units

# numba's dispatchers, typed loosely (their stubs take one argument)
_FORWARD: Any = mlstm.mlstm_forward
_BACKWARD: Any = mlstm.mlstm_backward


def _sizes(gx: torch.Tensor, state: torch.Tensor, heads: int) -> tuple[int, int]:
    """(H, d) of a call: gx's width per direction is 4H + 2*heads."""
    hidden = (gx.shape[2] // state.shape[0] - 2 * heads) // 4
    return hidden, hidden // heads


def _forward(
    threads: int, heads: int, gx: torch.Tensor, state: torch.Tensor, lengths: torch.Tensor,
    save: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    batch, steps, _ = gx.shape
    directions = state.shape[0]
    hidden, d = _sizes(gx, state, heads)
    out = torch.empty(batch, steps, directions * hidden, dtype=gx.dtype)
    state_n = torch.empty_like(state)
    blocks = -(-steps // mlstm.BLOCK)
    shape = (directions, batch, heads, blocks, d * d + d + 1) if save else (1, 1, 1, 1, 1)
    saved = torch.empty(shape, dtype=gx.dtype)
    arrays = (as_array(gx), as_array(state), as_array(lengths))
    outs = (as_array(out), as_array(state_n), as_array(saved))
    run_units(
        lambda unit: _FORWARD(*arrays, heads, *unit, save, *outs),
        work_units(batch, directions, threads),
        threads,
    )
    return out, state_n, saved


class MLSTMFunction(torch.autograd.Function):
    """Autograd wrapper: inputs (heads, threads, lengths, gx, state)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, heads: int, threads: int, lengths: torch.Tensor, gx: torch.Tensor,
        state: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out, state_n, saved = _forward(threads, heads, gx, state, lengths, save=True)
        ctx.options = (heads, threads)
        ctx.save_for_backward(lengths, gx, state, saved)
        return out, state_n

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        heads, threads = ctx.options
        lengths, gx, state, saved = ctx.saved_tensors
        hidden, _ = _sizes(gx, state, heads)
        batch, steps, _ = gx.shape
        directions = state.shape[0]
        dout = grad_or_zeros(grads[0], gx.new_empty(batch, steps, directions * hidden))
        dstate_n = grad_or_zeros(grads[1], state)
        dgx = torch.empty_like(gx)
        dstate = torch.empty_like(state)
        arrays = (
            as_array(dout), as_array(dstate_n), as_array(gx), as_array(state), as_array(saved),
            as_array(lengths),
        )
        outs = (as_array(dgx), as_array(dstate))
        run_units(
            lambda unit: _BACKWARD(*arrays, heads, *unit, *outs),
            work_units(batch, directions, threads),
            threads,
        )
        return None, None, None, dgx, dstate


def mlstm_recurrent(
    gx: torch.Tensor,
    state: torch.Tensor,
    lengths: torch.Tensor,
    *,
    heads: int,
    threads: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run one MLSTM layer's directions: (out, state_n). Shapes: module doc. CPU, float32 or
    float64."""
    count = threads or torch.get_num_threads()
    gx = gx.contiguous()
    state = state.contiguous()
    lengths = lengths.to(torch.int64).contiguous()
    if torch.is_grad_enabled() and (gx.requires_grad or state.requires_grad):
        out, state_n = MLSTMFunction.apply(heads, count, lengths, gx, state)
        return out, state_n
    with torch.no_grad():
        out, state_n, _ = _forward(count, heads, gx, state, lengths, save=False)
    return out, state_n


def warm_up(dtype: torch.dtype) -> None:
    """Compile (or load from numba's cache) the forward and backward kernels for ``dtype``."""
    with torch.inference_mode(False), torch.enable_grad():
        gx = torch.zeros(1, 1, 6, dtype=dtype, requires_grad=True)  # H = 1, heads = 1
        state = torch.zeros(1, 1, 3, dtype=dtype)
        lengths = torch.ones(1, dtype=torch.int64)
        out, state_n = mlstm_recurrent(gx, state, lengths, heads=1, threads=1)
        (out.sum() + state_n.sum()).backward()
        with torch.no_grad():
            mlstm_recurrent(gx, state, lengths, heads=1, threads=1)
