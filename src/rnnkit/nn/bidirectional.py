"""Run a sequence layer both ways: :class:`Bidirectional` and the merge modes.

The backward layer reads every sequence from its last real step to its first (padding stays
where it is), and its outputs are put back in time order before merging with the forward ones:
``concat`` (B, T, 2H), ``sum``, ``mean`` (alias ``ave``, Keras' name) or ``mul`` (B, T, H).

Example:
    >>> import torch
    >>> from rnnkit.nn import GRUCell, Recurrent
    >>> layer = Bidirectional(Recurrent(GRUCell(4, 3)), merge_mode="sum")
    >>> out, (state_fwd, state_bwd) = layer(torch.randn(2, 5, 4), lengths=torch.tensor([5, 3]))
    >>> tuple(out.shape), tuple(state_bwd.shape)
    ((2, 5, 3), (2, 3))
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.nn.masking import resolve_padding, reverse_padded, rotate_time
from rnnkit.nn.recurrent import check_sequence_input

MERGE_MODES = ("concat", "sum", "mean", "mul")


def check_merge_mode(merge_mode: str) -> str:
    """Validate and canonicalize a merge mode (``ave`` -> ``mean``); raises ConfigError."""
    mode = "mean" if merge_mode == "ave" else merge_mode
    if mode not in MERGE_MODES:
        raise ConfigError(
            f"merge_mode: unknown mode {merge_mode!r}; use one of {', '.join(MERGE_MODES)}"
        )
    return mode


def merge(forward: torch.Tensor, backward: torch.Tensor, mode: str) -> torch.Tensor:
    """Combine forward and backward outputs (B, T, H) by ``mode``."""
    if mode == "concat":
        return torch.cat([forward, backward], dim=-1)
    if mode == "sum":
        return forward + backward
    if mode == "mean":
        return (forward + backward) * 0.5
    return forward * backward


def merge_concatenated(output: torch.Tensor, mode: str) -> torch.Tensor:
    """Apply ``mode`` to an output whose last dimension is ``[forward H | backward H]``."""
    if mode == "concat":
        return output
    half = output.shape[-1] // 2
    return merge(output[..., :half], output[..., half:], mode)


def _reinitialize(module: nn.Module) -> None:
    for sub in module.modules():
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset):
            reset()


class Bidirectional(nn.Module):
    """Wrap a sequence layer ``layer(x, lengths=..., initial_state=...) -> (output, state)``.

    ``backward_layer`` defaults to a freshly initialized copy of ``layer``. Returns
    ``(merged_output, (forward_state, backward_state))``; ``initial_state`` is such a pair or None.
    """

    def __init__(
        self, layer: nn.Module, backward_layer: nn.Module | None = None, merge_mode: str = "concat"
    ) -> None:
        super().__init__()
        self.merge_mode = check_merge_mode(merge_mode)
        self.forward_layer = layer
        if backward_layer is None:
            backward_layer = copy.deepcopy(layer)
            _reinitialize(backward_layer)
        self.backward_layer = backward_layer

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        initial_state: tuple[Any, Any] | None = None,
    ) -> tuple[torch.Tensor, tuple[Any, Any]]:
        check_sequence_input(x)
        padding = resolve_padding(x.shape[0], x.shape[1], lengths, mask)
        if padding.shift is not None:
            x = rotate_time(x, padding.shift)
        init_fwd, init_bwd = initial_state if initial_state is not None else (None, None)
        lens = padding.lengths
        out_fwd, state_fwd = self.forward_layer(x, lengths=lens, initial_state=init_fwd)
        out_bwd, state_bwd = self.backward_layer(
            reverse_padded(x, lens), lengths=lens, initial_state=init_bwd
        )
        out = merge(out_fwd, reverse_padded(out_bwd, lens), self.merge_mode)
        if padding.shift is not None:
            out = rotate_time(out, -padding.shift)
        return out, (state_fwd, state_bwd)

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}"
