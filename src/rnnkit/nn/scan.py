"""Parallel scans of the linear recurrence ``h_t = a_t * h_{t-1} + b_t`` over time.

A recurrence that is *linear in the state*, with coefficients that depend on the inputs only
(minGRU, minLSTM, the LRU, state-space layers), composes: two steps ``h -> a2 (a1 h + b1) + b2``
are one step with ``a = a2 a1``, ``b = a2 b1 + b2``. That composition is associative, so the T
steps need not run one after the other (see docs/tutorials/parallel_scan.md). Shapes are
batch-first, elementwise over the last dimension S (the state width):

    a, b   (B, T, S)   real, or complex (a complex diagonal recurrence, as the LRU's)
    h0     (B, S)      the state before the first step (default zeros)
    h      (B, T, S)   the state after every step

Two parallel forms, both differentiable:

- :func:`linear_scan` (``method="chunked"``, the default): the T steps are cut into chunks of
  about sqrt(T); every chunk runs its steps from a zero state at once (a loop of C steps on
  (B, T/C, S) tensors), a loop over the T/C chunk ends carries the true state across, and one
  product puts it into every step (``h = local + cumprod(a) * carry``). Only products and sums of
  the coefficients, no divisions or logarithms, so it is as accurate as the step loop, for any
  sign, and for complex coefficients. Its backward is the same scan run backwards in time
  (``dh_t = g_t + a_{t+1} dh_{t+1}``), so training keeps only ``a`` and ``h``. ``method=
  "sequential"`` is the plain loop over T (the reference; same backward).
- :func:`log_linear_scan`: the log-space form of Feng et al. (2024, "Were RNNs All We Needed?")
  for positive coefficients given as logarithms: ``h_t = A_t h0 + exp(A_t + logcumsumexp(log b
  - A)_t)`` with ``A = cumsum(log a)``; two cumulative torch ops, no Python loop at all, but its
  rounding grows with ``|A_t|`` (about ``T * eps`` relative for long sequences in float32).

``lengths`` (B,) handles right padding: past a sequence's end ``a = 1, b = 0`` (the state is
carried unchanged), so ``h[:, -1]`` is each sequence's state after its own last real step and a
zero-length sequence keeps ``h0``. ``reverse=True`` scans each sequence from its last real step
back to its first; ``h`` is returned in time order (``h[:, t]`` has seen steps t..length-1), so
there the final state is ``h[:, 0]`` (padded steps hold it too; ``h0`` for an empty sequence).

Example:
    >>> import torch
    >>> a, b = torch.full((1, 4, 1), 0.5), torch.ones(1, 4, 1)
    >>> linear_scan(a, b)[0, :, 0].tolist()
    [1.0, 1.5, 1.75, 1.875]
    >>> linear_scan(a, b, lengths=torch.tensor([2]))[0, :, 0].tolist()
    [1.0, 1.5, 1.5, 1.5]
    >>> torch.allclose(log_linear_scan(a.log(), b.log()), linear_scan(a, b))
    True
"""

from __future__ import annotations

import math
from typing import Any

import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn.masking import mask_from_lengths, reverse_padded

METHODS = ("chunked", "sequential")


def linear_scan(
    a: torch.Tensor,
    b: torch.Tensor,
    h0: torch.Tensor | None = None,
    *,
    lengths: torch.Tensor | None = None,
    reverse: bool = False,
    method: str = "chunked",
    chunk_size: int | None = None,
) -> torch.Tensor:
    """All states of ``h_t = a_t * h_{t-1} + b_t``: a, b (B, T, S) -> h (B, T, S).

    ``method``: "chunked" (parallel across chunks of ``chunk_size`` steps, default about
    sqrt(T)) or "sequential" (one step at a time). Both are exact up to rounding and share a
    backward pass that is the same scan run backwards in time.

    Example:
        >>> import torch
        >>> a = torch.tensor([[[1j], [1j], [1j]]])        # a quarter turn per step
        >>> linear_scan(a, torch.ones(1, 3, 1, dtype=a.dtype))[0, :, 0].tolist()
        [(1+0j), (1+1j), 1j]
    """
    a, b, h0 = _check(a, b, h0)
    if method not in METHODS:
        raise ConfigError(f"method: expected one of {METHODS}, got {method!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise ConfigError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    if lengths is not None:
        lengths = lengths.to(a.device)
        if reverse:
            a, b = reverse_padded(a, lengths), reverse_padded(b, lengths)
        real = mask_from_lengths(lengths, a.shape[1])[..., None]
        a = torch.where(real, a, torch.ones((), dtype=a.dtype, device=a.device))
        b = torch.where(real, b, torch.zeros((), dtype=b.dtype, device=b.device))
    elif reverse:
        a, b = a.flip(1), b.flip(1)
    h = _LinearScan.apply(a, b, h0, method, chunk_size)
    if reverse:
        h = h.flip(1) if lengths is None else _reverse_keeping_final(h, lengths)
    return h


def log_linear_scan(
    log_a: torch.Tensor,
    log_b: torch.Tensor,
    h0: torch.Tensor | None = None,
    *,
    lengths: torch.Tensor | None = None,
    reverse: bool = False,
) -> torch.Tensor:
    """The log-space parallel scan (Heinsen 2023, as used by minGRU/minLSTM): the states of
    ``h_t = a_t h_{t-1} + b_t`` for positive a, b given as ``log_a``, ``log_b`` (B, T, S), real.

    ``h0`` may have any sign: its part ``A_t h0`` (``A = exp(cumsum(log a))``) is added
    linearly; only the inputs' part goes through ``logcumsumexp``. Autograd differentiates the
    torch ops directly.

    Example:
        >>> import torch
        >>> log_a, log_b = torch.zeros(1, 3, 1), torch.zeros(1, 3, 1)   # a = b = 1: counting
        >>> log_linear_scan(log_a, log_b, torch.full((1, 1), -1.0))[0, :, 0].tolist()
        [0.0, 1.0, 2.0]
    """
    log_a, log_b, h0 = _check(log_a, log_b, h0)
    if log_a.is_complex() or log_b.is_complex():
        raise ShapeError("log_a, log_b: the log-space scan takes real logarithms; use linear_scan")
    if reverse:
        log_a = log_a.flip(1) if lengths is None else reverse_padded(log_a, lengths)
        log_b = log_b.flip(1) if lengths is None else reverse_padded(log_b, lengths)
    a_star = torch.cumsum(log_a, dim=1)
    h = torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))
    if h0 is not None:
        h = h + torch.exp(a_star) * h0[:, None]
    if lengths is not None:
        # Equivalent to a = 1, b = 0 past the end, without a log(0) = -inf in the backward pass:
        # the state after the last real step is repeated (h0 for an empty sequence).
        h = _hold_after_end(h, lengths.to(h.device), h0)
        if reverse:
            h = _reverse_keeping_final(h, lengths.to(h.device))
    elif reverse:
        h = h.flip(1)
    return h


def default_chunk_size(steps: int) -> int:
    """About sqrt(T): C steps inside the chunks plus T/C across them is smallest there."""
    return max(1, math.isqrt(max(steps - 1, 0)) + 1)


# -- checks and padding -------------------------------------------------------------------------
def _check(
    a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, torch.Tensor) or t.dim() != 3:
            raise ShapeError(f"{name}: expected a (B, T, S) tensor")
    if a.shape != b.shape:
        raise ShapeError(f"a, b: shapes differ, {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype:
        common = torch.promote_types(a.dtype, b.dtype)
        a, b = a.to(common), b.to(common)
    if h0 is not None:
        if tuple(h0.shape) != (a.shape[0], a.shape[2]):
            raise ShapeError(
                f"h0: expected shape (B, S) = {(a.shape[0], a.shape[2])}, got {tuple(h0.shape)}"
            )
        h0 = h0.to(a.dtype) if a.is_complex() or not h0.is_complex() else h0
    return a, b, h0


def _hold_after_end(
    h: torch.Tensor, lengths: torch.Tensor, h0: torch.Tensor | None
) -> torch.Tensor:
    """h with every padded step holding the state after the last real step (h0 if empty)."""
    steps = h.shape[1]
    last = (lengths - 1).clamp(min=0)
    index = torch.minimum(torch.arange(steps, device=h.device)[None, :], last[:, None])
    held = h.gather(1, index[..., None].expand(-1, -1, h.shape[2]))
    empty = (lengths == 0)[:, None, None]
    start = h.new_zeros(()) if h0 is None else h0[:, None]
    return torch.where(empty, start, held)


def _reverse_keeping_final(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse scan results back to time order; padded steps keep the final state (which the
    reversed run held there), which is now at ``h[:, 0]`` too."""
    final = h[:, -1:]
    back = reverse_padded(h, lengths)
    real = mask_from_lengths(lengths, h.shape[1])[..., None]
    return torch.where(real, back, final)


# -- the chunked scan and its backward ----------------------------------------------------------
def _conj(t: torch.Tensor) -> torch.Tensor:
    return t.conj() if t.is_complex() else t


@torch.no_grad()
def _scan(
    a: torch.Tensor,
    b: torch.Tensor,
    h0: torch.Tensor | None,
    method: str,
    chunk_size: int | None,
    backwards: bool = False,
) -> torch.Tensor:
    """The states, no autograd: a, b (B, T, S) -> h (B, T, S). ``backwards``: from the last
    step to the first, ``h_t = a_t h_{t+1} + b_t`` (``h_T`` = h0), without flipping copies."""
    a, b = a.contiguous(), b.contiguous()
    h = torch.empty_like(b)
    if method == "sequential":
        _steps_into(h, a, b, h0, backwards)
    else:
        _chunked_into(h, a, b, h0, chunk_size or default_chunk_size(a.shape[1]), backwards)
    return h


def _steps_into(
    h: torch.Tensor, a: torch.Tensor, b: torch.Tensor, start: torch.Tensor | None, backwards: bool
) -> None:
    """h_t = a_t * h_{t-1} + b_t along dim 1 (``backwards``: h_{t+1}), one step at a time."""
    steps = a.shape[1]
    order = range(steps - 1, -1, -1) if backwards else range(steps)
    previous = start
    for t in order:
        if previous is None:
            h[:, t] = b[:, t]
        else:
            torch.addcmul(b[:, t], a[:, t], previous, out=h[:, t])
        previous = h[:, t]


def _chunked_into(
    h: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    h0: torch.Tensor | None,
    size: int,
    backwards: bool,
) -> None:
    """Two passes over chunks of ``size`` steps, each step on all N chunks at once (B, N, S):

    1. every chunk from a zero state: its end state ``e_n`` and the product ``p_n`` of its a's;
    2. the true state entering each chunk, ``s_{n+1} = p_n s_n + e_n`` (N steps on (B, S));
    3. every chunk again from its true entering state, writing h.

    3C + N small steps instead of T, no full-size temporaries, no divisions; the ragged rest
    (T mod C steps, read last) runs step by step.
    """
    batch, steps, width = a.shape
    chunks = steps // size
    if chunks < 2:
        _steps_into(h, a, b, h0, backwards)
        return
    rest = steps - chunks * size
    body = slice(rest, steps) if backwards else slice(0, steps - rest)
    shape = (batch, chunks, size, width)
    a_c, b_c, h_c = a[:, body].view(shape), b[:, body].view(shape), h[:, body].view(shape)
    inner = list(range(size - 1, -1, -1) if backwards else range(size))
    first = inner[0]
    end = b_c[:, :, first].clone()
    product = a_c[:, :, first].clone()
    for k in inner[1:]:
        end.mul_(a_c[:, :, k]).add_(b_c[:, :, k])
        product.mul_(a_c[:, :, k])
    entering = torch.empty_like(end)
    state = h0 if h0 is not None else a.new_zeros(batch, width)
    for n in range(chunks - 1, -1, -1) if backwards else range(chunks):
        entering[:, n] = state
        state = torch.addcmul(end[:, n], product[:, n], state)
    previous = entering
    for k in inner:
        torch.addcmul(b_c[:, :, k], a_c[:, :, k], previous, out=h_c[:, :, k])
        previous = h_c[:, :, k]
    if rest:
        tail = slice(0, rest) if backwards else slice(steps - rest, steps)
        carried = h[:, rest] if backwards else h[:, steps - rest - 1]
        _steps_into(h[:, tail], a[:, tail], b[:, tail], carried, backwards)


class _LinearScan(torch.autograd.Function):
    """``h = scan(a, b, h0)`` with the backward pass as a reverse scan.

    With ``g_t = dL/dh_t`` from outside, the total gradient reaching h_t is
    ``dh_t = g_t + conj(a_{t+1}) dh_{t+1}`` (a linear recurrence backwards in time), and then
    ``db_t = dh_t``, ``da_t = dh_t conj(h_{t-1})``, ``dh0 = conj(a_1) dh_1`` (conjugates for
    complex inputs, PyTorch's convention).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        a: torch.Tensor,
        b: torch.Tensor,
        h0: torch.Tensor | None,
        method: str,
        chunk_size: int | None,
    ) -> torch.Tensor:
        h = _scan(a, b, h0, method, chunk_size)
        ctx.save_for_backward(a, h, h0)
        ctx.options = (method, chunk_size)
        return h

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        a, h, h0 = ctx.saved_tensors
        coefficient = torch.empty_like(a)  # a_{t+1} at t; the last one is never read
        coefficient[:, :-1] = _conj(a[:, 1:])
        coefficient[:, -1] = 0
        method, chunk_size = ctx.options
        dh = _scan(coefficient, grad, None, method, chunk_size, backwards=True)
        d_a = d_h0 = None
        if ctx.needs_input_grad[0]:
            start = h0 if h0 is not None else h.new_zeros(h.shape[0], h.shape[2])
            previous = torch.cat([start[:, None], h[:, :-1]], dim=1)
            d_a = dh * _conj(previous)
        if h0 is not None and ctx.needs_input_grad[2]:
            d_h0 = _conj(a[:, 0]) * dh[:, 0]
        return d_a, dh, d_h0, None, None


__all__ = ["linear_scan", "log_linear_scan", "default_chunk_size", "METHODS"]
