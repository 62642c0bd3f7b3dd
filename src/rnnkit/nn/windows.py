"""Reading long sequences in windows with the state carried over, pooled over the whole sequence.

ULMFiT's BPT3C (Howard & Ruder 2018): a document longer than a window of ``window`` steps is read
window by window by a unidirectional encoder, each window starting from the state the previous
one left, and the pooling (``last``, ``max``, ``mean`` or ``concat``) runs over every step of
every window. The state is carried with its gradient, so the result and its gradients equal
reading the sequence whole; what changes is that no call sees more than ``window`` steps, and
the rows whose sequence has ended drop out of the later windows.

Example:
    >>> import torch
    >>> from rnnkit.nn import LSTM
    >>> lstm = LSTM(3, 4).double()
    >>> x, lengths = torch.randn(2, 9, 3, dtype=torch.float64), torch.tensor([9, 4])
    >>> whole = TimePooling("concat", 4)(lstm(x, lengths=lengths)[0], None, lengths)
    >>> torch.allclose(read_in_windows(lstm, x, lengths, 3, "concat"), whole)
    True
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError
from rnnkit.nn.pooling import TimePooling, valid_steps

#: The poolings a windowed read can accumulate across windows.
WINDOW_POOLINGS = ("last", "max", "mean", "concat")

__all__ = ["WINDOW_POOLINGS", "TimePooling", "check_windowed", "read_in_windows"]


def check_windowed(window: int | None, pooling: str, bidirectional: bool) -> None:
    """ConfigError when ``window`` cannot be used with this encoder and pooling."""
    if window is None:
        return
    if bidirectional:
        raise ConfigError("window: reading in windows needs a unidirectional encoder (the "
                          "backward direction cannot carry its state); set bidirectional=False")
    if pooling not in WINDOW_POOLINGS:
        raise ConfigError(f"window: pooling={pooling!r} cannot be accumulated over windows; use "
                          f"one of {', '.join(WINDOW_POOLINGS)} or window=None")


def read_in_windows(
    encoder: nn.Module, inputs: Tensor, lengths: Tensor | None, window: int, pooling: str
) -> Tensor:
    """Pool ``encoder``'s outputs over ``inputs (B, T, F)`` read ``window`` steps at a time.

    ``lengths (B,)``: real steps per right-padded row (None = all ``T``). Returns ``(B, D)``, or
    ``(B, 3D)`` for ``concat`` (``[last, max, mean]``, as :class:`TimePooling`), ``D`` the
    encoder's output width. A row of length 0 pools to zeros.
    """
    batch, steps, _ = inputs.shape
    if lengths is None:
        lengths = torch.full((batch,), steps, dtype=torch.long, device=inputs.device)
    width: Any = encoder.output_size  # D, the layers of rnnkit.nn say
    pools = _Accumulators(batch, int(width), inputs)
    state: Any = None
    mask_scope = getattr(encoder, "one_weight_mask", None)
    with mask_scope() if mask_scope is not None else nullcontext():
        for start in range(0, steps, window):
            active = torch.nonzero(lengths > start).squeeze(1)
            if active.numel() == 0:
                break
            run = (lengths[active] - start).clamp(max=window)
            x = inputs[active, start:start + int(run.max())]
            output, new_state = encoder(x, lengths=run, initial_state=_rows(state, active))
            state = _scatter(state, active, new_state, batch)
            pools.add(active, output, run)
    return pools.result(lengths, pooling)


class _Accumulators:
    """Running last output, max and sum per row, updated without in-place writes (autograd)."""

    def __init__(self, batch: int, width: int, like: Tensor) -> None:
        zeros = like.new_zeros(batch, width)
        self.last, self.sum = zeros, zeros
        self.max = torch.full_like(zeros, float("-inf"))

    def add(self, active: Tensor, output: Tensor, run: Tensor) -> None:
        keep = valid_steps(run, output.shape[1])[..., None]
        picked = output[torch.arange(len(active)), run - 1]
        window_max = output.masked_fill(~keep, float("-inf")).amax(dim=1)
        self.last = self.last.index_copy(0, active, picked)
        self.max = self.max.index_copy(0, active, torch.maximum(self.max[active], window_max))
        self.sum = self.sum.index_add(0, active, (output * keep).sum(dim=1))

    def result(self, lengths: Tensor, pooling: str) -> Tensor:
        seen = (lengths > 0)[:, None]
        maximum = torch.where(seen, self.max, torch.zeros_like(self.max))
        mean = self.sum / lengths.clamp(min=1)[:, None].to(self.sum.dtype)
        if pooling == "last":
            return self.last
        if pooling == "max":
            return maximum
        if pooling == "mean":
            return mean
        return torch.cat([self.last, maximum, mean], dim=-1)


def _rows(state: Any, rows: Tensor) -> Any:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]


def _scatter(state: Any, rows: Tensor, new: Any, batch: int) -> Any:
    """The full-batch state with ``rows`` replaced by ``new`` (zeros elsewhere at first)."""
    if isinstance(new, tuple):
        olds = state if state is not None else (None,) * len(new)
        return tuple(_scatter(o, rows, n, batch) for o, n in zip(olds, new, strict=True))
    if state is None:
        state = new.new_zeros(new.shape[0], batch, *new.shape[2:])
    return state.index_copy(1, rows, new)


