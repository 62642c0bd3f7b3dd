"""The generic scan: :class:`Recurrent` runs any cell over a batch of (variable-length) sequences.

A cell is any callable ``cell(x_t, state) -> (y_t, new_state)`` with
``cell.initial_state(batch_size)``; ``state`` is a tensor (B, ...) or a tuple of them. When the cell
also has ``project_inputs(x)`` and ``step(xp_t, state)`` (rnnkit's cells do), the inputs of all
steps are projected in one matrix product first and the loop only does the recurrent part. If it has
``make_recurrent_mask(B)``, that mask (variational recurrent dropout) is drawn once per call and
passed to every ``step``.

Padded steps (right padding, ``lengths``; or a ``mask`` with left or right padding) leave the state
unchanged and produce zero outputs, so the final state is each sequence's last real step and a
zero-length sequence keeps its initial state (zeros by default).

Example:
    >>> import torch
    >>> from rnnkit.nn import LSTMCell
    >>> layer = Recurrent(LSTMCell(4, 3))
    >>> out, (h, c) = layer(torch.randn(2, 5, 4), lengths=torch.tensor([5, 2]))
    >>> tuple(out.shape), bool((out[1, 2:] == 0).all())
    ((2, 5, 3), True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from rnnkit.errors import ShapeError
from rnnkit.nn.masking import mask_from_lengths, resolve_padding, reverse_padded, rotate_time


def map_state(fn: Callable[..., torch.Tensor], *states: Any) -> Any:
    """Apply ``fn`` leaf-wise to states that are tensors or (nested) tuples/lists of tensors."""
    first = states[0]
    if isinstance(first, torch.Tensor):
        return fn(*states)
    return tuple(map_state(fn, *parts) for parts in zip(*states, strict=True))


def _keep_where(keep: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    def select(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
        return torch.where(keep.view(-1, *([1] * (new.dim() - 1))), new, old)

    return select


def scan(
    cell: Any,
    x: torch.Tensor,
    state: Any,
    lengths: torch.Tensor | None = None,
    *,
    projected: bool = False,
    recurrent_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, Any]:
    """Run ``cell`` over right-padded x (B, T, F): returns outputs (B, T, H_out) and final state.

    ``projected=True`` means x already holds ``cell.project_inputs`` of the inputs. The loop walks
    ``unbind(1)`` slices (indexing ``x[:, t]`` in an autograd loop costs O(T^2) memory in backward).
    """
    fast = hasattr(cell, "project_inputs") and hasattr(cell, "step")
    if fast and not projected:
        x = cell.project_inputs(x)
    if fast and recurrent_mask is not None:

        def step(x_t: torch.Tensor, s: Any) -> tuple[torch.Tensor, Any]:
            return cell.step(x_t, s, recurrent_mask)
    else:
        step = cell.step if fast else cell

    keeps: tuple[torch.Tensor, ...] | None = None
    if lengths is not None:
        keeps = mask_from_lengths(lengths.to(x.device), x.shape[1]).unbind(1)
    outputs = []
    for t, x_t in enumerate(x.unbind(1)):
        y, new_state = step(x_t, state)
        if keeps is not None:
            select = _keep_where(keeps[t])
            new_state = map_state(select, new_state, state)
            y = select(y, torch.zeros((), dtype=y.dtype, device=y.device))
        outputs.append(y)
        state = new_state
    if not outputs:
        size = getattr(cell, "output_size", getattr(cell, "hidden_size", 0))
        return x.new_zeros(x.shape[0], 0, size), state
    return torch.stack(outputs, dim=1), state


def check_sequence_input(x: object, input_size: int | None = None) -> torch.Tensor:
    """Validate a batch-first input (B, T, F); raises :class:`ShapeError` naming ``x``."""
    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"x: expected a torch.Tensor of shape (B, T, F), got {type(x).__name__}")
    if x.dim() != 3:
        raise ShapeError(
            f"x: expected 3 dimensions (B, T, F), batch first, got {x.dim()} with shape "
            f"{tuple(x.shape)}; for one sequence use x.unsqueeze(0)"
        )
    if not x.is_floating_point():
        raise ShapeError(
            f"x: expected floating-point features, got {x.dtype}; embed token ids first "
            "(e.g. torch.nn.Embedding)"
        )
    if input_size is not None and x.shape[2] != input_size:
        raise ShapeError(f"x: expected F={input_size} features (input_size), got {x.shape[2]}")
    return x


class Recurrent(nn.Module):
    """Run a cell over sequences:
    ``Recurrent(cell)(x, lengths=None, mask=None, initial_state=None)``.

    Returns ``(output, state)``: output (B, T, H_out) with zeros at padded steps, and the cell's
    state after each sequence's last real step. ``reverse=True`` reads each sequence from its last
    real step back to its first (outputs are put back at their original positions).

    Example:
        >>> import torch
        >>> class Accumulate(torch.nn.Module):   # a user-defined cell: running sum
        ...     hidden_size = 2
        ...     def initial_state(self, batch_size):
        ...         return torch.zeros(batch_size, 2)
        ...     def forward(self, x_t, state):
        ...         new = state + x_t
        ...         return new, new
        >>> out, state = Recurrent(Accumulate())(torch.ones(1, 3, 2), lengths=torch.tensor([2]))
        >>> state.tolist(), out[0, :, 0].tolist()
        ([[2.0, 2.0]], [1.0, 2.0, 0.0])
    """

    def __init__(self, cell: nn.Module, *, reverse: bool = False) -> None:
        super().__init__()
        self.cell = cell
        self.reverse = bool(reverse)

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        initial_state: Any = None,
    ) -> tuple[torch.Tensor, Any]:
        check_sequence_input(x, getattr(self.cell, "input_size", None))
        batch_size, max_len = x.shape[:2]
        padding = resolve_padding(batch_size, max_len, lengths, mask)
        if padding.shift is not None:
            x = rotate_time(x, padding.shift)
        if self.reverse:
            x = reverse_padded(x, padding.lengths)
        cell: Any = self.cell
        state = initial_state
        if state is None:
            state = cell.initial_state(batch_size)
        recurrent_mask = None
        if hasattr(cell, "make_recurrent_mask"):
            recurrent_mask = cell.make_recurrent_mask(batch_size)
        out, state = scan(cell, x, state, padding.lengths, recurrent_mask=recurrent_mask)
        if self.reverse:
            out = reverse_padded(out, padding.lengths)
        if padding.shift is not None:
            out = rotate_time(out, -padding.shift)
        return out, state

    def extra_repr(self) -> str:
        return "reverse=True" if self.reverse else ""
