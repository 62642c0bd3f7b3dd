"""torch.autograd.Function around the LRU's recurrence kernels (:mod:`.lru`).

:func:`lru_recurrence` runs one stacked LRU layer's recurrence (all its directions):

- inputs: ``bu`` (B, T, D*S) = ``γ B u`` of every step from the caller's GEMM (per direction
  ``[Re | Im]``, S = 2N, or real, S = N); ``lam_re``, ``lam_im`` (D, N) the decay λ (``lam_im``
  None for a real LRU); ``h0`` (D, B, S); ``lengths`` (B,) int64 (right padding);
- outputs: ``states`` (B, T, D*S), the x_t of every step (zeros at padded steps), and ``h_n``
  (D, B, S), each sequence's state after its last real step.

Gradients reach ``bu`` (hence B, γ and the inputs through the caller's GEMM), λ (hence
``nu_log``, ``theta_log`` through torch) and ``h0``. Nothing is saved but λ, ``h0`` and the
states (already an output). Work units as :func:`rnnkit.nn.kernels.units.work_units`
(direction, block of rows); dλ is reduced per row in the kernel and over rows here, so results
do not depend on the thread count.

Example:
    >>> import torch
    >>> from rnnkit.nn.kernels.lru_autograd import lru_recurrence
    >>> bu = torch.tensor([1.0, 0.0]).repeat(2, 4, 1)             # one complex unit: 1 + 0i
    >>> lam_re, lam_im = torch.zeros(1, 1), torch.ones(1, 1)      # λ = i: a quarter turn
    >>> h0, lengths = torch.zeros(1, 2, 2), torch.tensor([4, 2])
    >>> states, h_n = lru_recurrence(bu, lam_re, lam_im, h0, lengths)
    >>> states[0].tolist(), states[1, 2:].abs().sum().item(), h_n[0, 1].tolist()
    ([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]], 0.0, [1.0, 1.0])
"""

from __future__ import annotations

from typing import Any

import torch

from rnnkit.nn.kernels import lru
from rnnkit.nn.kernels.tensors import as_array, grad_or_zeros
from rnnkit.nn.kernels.threads import run_units
from rnnkit.nn.kernels.units import work_units

# numba's dispatchers, typed loosely (their stubs take one argument)
_FORWARD: Any = lru.lru_forward
_BACKWARD: Any = lru.lru_backward
# Below this many state values per call (B*T*D*S) a thread hand-off costs more than it saves:
# a generation step (T = 1) runs on the calling thread.
MIN_PARALLEL_VALUES = 1 << 16


def _threads(requested: int | None, bu: torch.Tensor) -> int:
    if requested is not None:
        return requested
    return 1 if bu.numel() < MIN_PARALLEL_VALUES else torch.get_num_threads()


def _forward(
    threads: int, lengths: torch.Tensor, bu: torch.Tensor, lam_re: torch.Tensor,
    lam_im: torch.Tensor, h0: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    states = torch.empty_like(bu)
    h_n = torch.empty_like(h0)
    arrays = [as_array(t) for t in (bu, lam_re, lam_im, h0, lengths)]
    states_n, hn_n = as_array(states), as_array(h_n)
    run_units(
        lambda unit: _FORWARD(*arrays, *unit, states_n, hn_n),
        work_units(bu.shape[0], h0.shape[0], threads),
        threads,
    )
    return states, h_n


class LRURecurrenceFunction(torch.autograd.Function):
    """Autograd wrapper: inputs (threads, lengths, bu, lam_re, lam_im, h0)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, threads: int, lengths: torch.Tensor, bu: torch.Tensor, lam_re: torch.Tensor,
        lam_im: torch.Tensor, h0: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states, h_n = _forward(threads, lengths, bu, lam_re, lam_im, h0)
        ctx.threads = threads
        ctx.save_for_backward(lengths, lam_re, lam_im, h0, states)
        return states, h_n

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        lengths, lam_re, lam_im, h0, states = ctx.saved_tensors
        dstates = grad_or_zeros(grads[0], states)
        dh_n = grad_or_zeros(grads[1], h0)
        directions, batch, width = h0.shape
        dbu = torch.empty_like(states)
        dlam_rows = h0.new_empty(directions, batch, width)
        dh0 = torch.empty_like(h0)
        arrays = [as_array(t) for t in (dstates, dh_n, lam_re, lam_im, states, h0, lengths)]
        outs = [as_array(t) for t in (dbu, dlam_rows, dh0)]
        run_units(
            lambda unit: _BACKWARD(*arrays, *unit, *outs),
            work_units(batch, directions, ctx.threads),
            ctx.threads,
        )
        dlam = dlam_rows.sum(1)
        units = lam_re.shape[1]
        dlam_im = dlam[:, units:] if lam_im.shape[1] == units else None
        return None, None, dbu, dlam[:, :units], dlam_im, dh0


def lru_recurrence(
    bu: torch.Tensor,
    lam_re: torch.Tensor,
    lam_im: torch.Tensor | None,
    h0: torch.Tensor,
    lengths: torch.Tensor,
    *,
    threads: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(states, h_n) of ``x_t = λ x_{t-1} + bu_t`` for every direction; shapes in the module
    doc. CPU, float32 or float64."""
    count = _threads(threads, bu)
    if lam_im is None:
        lam_im = lam_re.new_zeros(lam_re.shape[0], 0)
    bu, lam_re, lam_im, h0 = (t.contiguous() for t in (bu, lam_re, lam_im, h0))
    lengths = lengths.to(torch.int64).contiguous()
    if torch.is_grad_enabled() and any(t.requires_grad for t in (bu, lam_re, lam_im, h0)):
        return LRURecurrenceFunction.apply(  # type: ignore[no-any-return]
            count, lengths, bu, lam_re, lam_im, h0
        )
    with torch.no_grad():
        return _forward(count, lengths, bu, lam_re, lam_im, h0)


def warm_up(dtype: torch.dtype) -> None:
    """Compile (or load from numba's cache) the forward and backward kernels for ``dtype``."""
    with torch.inference_mode(False), torch.enable_grad():
        bu = torch.zeros(1, 1, 2, dtype=dtype, requires_grad=True)
        lam = torch.zeros(1, 1, dtype=dtype, requires_grad=True)
        h0 = torch.zeros(1, 1, 2, dtype=dtype)
        states, h_n = lru_recurrence(bu, lam, lam, h0, torch.ones(1, dtype=torch.int64), threads=1)
        (states.sum() + h_n.sum()).backward()
