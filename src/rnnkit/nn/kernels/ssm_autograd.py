"""torch.autograd.Function around the fused selective scan (:mod:`.ssm`).

:func:`selective_scan` takes u, Δ (B, T, E), A (E, N), B_t, C_t (B, T, N), D (E,), h0 (B, E, N)
and ``lengths`` (B,) and returns y (B, T, E) (zeros at padded steps) and h_n (B, E, N), the
state after each sequence's last real step. Gradients reach every tensor input; nothing is saved
but the inputs (the backward kernel recomputes the states). Work units are blocks of batch rows
(:func:`rnnkit.nn.kernels.units.work_units`) on torch's threads; results do not depend on the
thread count.

Example:
    >>> import torch
    >>> from rnnkit.nn.kernels.ssm_autograd import selective_scan
    >>> u, dt = torch.randn(2, 5, 3), torch.rand(2, 5, 3)
    >>> b, c = torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    >>> y, h_n = selective_scan(u, dt, -torch.ones(3, 4), b, c, torch.ones(3),
    ...                         torch.zeros(2, 3, 4), torch.tensor([5, 2]))
    >>> tuple(y.shape), tuple(h_n.shape), bool((y[1, 2:] == 0).all())
    ((2, 5, 3), (2, 3, 4), True)
"""

from __future__ import annotations

from typing import Any

import torch

from rnnkit.nn.kernels import ssm
from rnnkit.nn.kernels.tensors import as_array, grad_or_zeros
from rnnkit.nn.kernels.threads import run_units
from rnnkit.nn.kernels.units import work_units

# numba's dispatchers, typed loosely (their stubs take one argument)
_FORWARD: Any = ssm.ssm_forward
_BACKWARD: Any = ssm.ssm_backward


def _forward(
    threads: int, lengths: torch.Tensor, *inputs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    u, h0 = inputs[0], inputs[-1]
    y = torch.empty_like(u)
    h_n = torch.empty_like(h0)
    arrays = [as_array(t) for t in inputs] + [as_array(lengths)]
    y_n, hn_n = as_array(y), as_array(h_n)
    run_units(
        lambda unit: _FORWARD(*arrays, unit[1], unit[2], y_n, hn_n),
        work_units(u.shape[0], 1, threads),
        threads,
    )
    return y, h_n


class SelectiveScanFunction(torch.autograd.Function):
    """Autograd wrapper: inputs (threads, lengths, u, Δ, A, B, C, D, h0)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, threads: int, lengths: torch.Tensor, *inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ctx.threads = threads
        ctx.save_for_backward(lengths, *inputs)
        return _forward(threads, lengths, *inputs)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        lengths, *inputs = ctx.saved_tensors
        u, delta, a_mat, b_in, c_out, d_skip, h0 = inputs
        dy = grad_or_zeros(grads[0], u)
        dh_n = grad_or_zeros(grads[1], h0)
        batch = u.shape[0]
        du, ddelta = torch.empty_like(u), torch.empty_like(delta)
        db, dc = torch.empty_like(b_in), torch.empty_like(c_out)
        da_rows = u.new_empty(batch, *a_mat.shape)
        dd_rows = u.new_empty(batch, *d_skip.shape)
        dh0 = torch.empty_like(h0)
        arrays = [as_array(dy), as_array(dh_n)]
        arrays += [as_array(t) for t in inputs] + [as_array(lengths)]
        outs = [as_array(t) for t in (du, ddelta, da_rows, db, dc, dd_rows, dh0)]
        run_units(
            lambda unit: _BACKWARD(*arrays, unit[1], unit[2], *outs),
            work_units(batch, 1, ctx.threads),
            ctx.threads,
        )
        return None, None, du, ddelta, da_rows.sum(0), db, dc, dd_rows.sum(0), dh0


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    a_mat: torch.Tensor,
    b_in: torch.Tensor,
    c_out: torch.Tensor,
    d_skip: torch.Tensor,
    h0: torch.Tensor,
    lengths: torch.Tensor,
    *,
    threads: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, h_n) of the selective scan; shapes in the module doc. CPU, float32 or float64."""
    count = threads or torch.get_num_threads()
    inputs = tuple(t.contiguous() for t in (u, delta, a_mat, b_in, c_out, d_skip, h0))
    lengths = lengths.to(torch.int64).contiguous()
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return SelectiveScanFunction.apply(count, lengths, *inputs)  # type: ignore[no-any-return]
    with torch.no_grad():
        return _forward(count, lengths, *inputs)


def warm_up(dtype: torch.dtype) -> None:
    """Compile (or load from numba's cache) the forward and backward kernels for ``dtype``."""
    with torch.inference_mode(False), torch.enable_grad():
        shapes = ((1, 1, 1), (1, 1, 1), (1, 1), (1, 1, 1), (1, 1, 1), (1,), (1, 1, 1))
        u, dt, a, b, c, d, h0 = (torch.zeros(s, dtype=dtype, requires_grad=True) for s in shapes)
        y, h_n = selective_scan(u, dt, a, b, c, d, h0, torch.ones(1, dtype=torch.int64), threads=1)
        (y.sum() + h_n.sum()).backward()
