"""Pooling a recurrent layer's outputs over time into one vector per sequence, padding-aware.

Every pooling takes the layer's ``output (B, T, D*H)``, its final ``state`` and the ``lengths (B,)``
and returns ``(B, D*H)``. Padded steps never contribute: ``mean`` divides by each sequence's own
length, ``max`` ignores padded steps, ``attention`` gives them exactly zero weight.

Example:
    >>> import torch
    >>> pool = TimePooling("mean", features=4)
    >>> out = torch.ones(2, 3, 4); out[1, 2:] = 0
    >>> pool(out, None, torch.tensor([3, 2])).shape
    torch.Size([2, 4])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError

POOLINGS = ("last", "mean", "max", "attention", "concat")


def valid_steps(lengths: Tensor, steps: int) -> Tensor:
    """Boolean mask ``(B, T)``, True at the real (not padded) steps of right-padded sequences."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


class TimePooling(nn.Module):
    """Reduce ``(B, T, F)`` recurrent outputs to ``(B, F)``.

    Args:
        mode: ``last`` (final hidden state of the top layer; for a bidirectional layer the forward
            direction's last real step and the backward direction's first step, as the final state
            holds them), ``mean``, ``max``, ``attention`` (a learned query scores each step;
            softmax over real steps; weighted sum) or ``concat`` (ULMFiT's concat pooling:
            ``[last, max, mean]``, ``(B, 3F)``).
        features: F, the size of each step's output (needed by ``attention``).
        directions: 2 for a bidirectional (concat) layer: ``last`` without a state then takes the
            forward half at each sequence's last real step and the backward half at step 0.
    """

    def __init__(self, mode: str, features: int, directions: int = 1) -> None:
        super().__init__()
        if mode not in POOLINGS:
            raise ConfigError(f"pooling: expected one of {', '.join(POOLINGS)}, got {mode!r}")
        if directions not in (1, 2):
            raise ConfigError(f"directions: expected 1 or 2, got {directions}")
        self.mode = mode
        self.directions = directions
        if mode == "attention":
            self.score = nn.Sequential(nn.Linear(features, features), nn.Tanh(),
                                       nn.Linear(features, 1))
        self.last_weights: Tensor | None = None

    def forward(
        self, output: Tensor, state: Tensor | tuple[Tensor, Tensor] | None, lengths: Tensor | None
    ) -> Tensor:
        batch, steps, _ = output.shape
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.long, device=output.device)
        if self.mode == "last":
            return self._last(output, state, lengths, self.directions)
        keep = valid_steps(lengths, steps)
        if self.mode == "mean":
            return _mean(output, keep, lengths)
        if self.mode == "max":
            return _max(output, keep, lengths)
        if self.mode == "concat":
            last = self._last(output, state, lengths, self.directions)
            return torch.cat([last, _max(output, keep, lengths), _mean(output, keep, lengths)], -1)
        scores = self.score(output).squeeze(-1).masked_fill(~keep, float("-inf"))
        weights = torch.softmax(scores, dim=1).nan_to_num(0.0)
        self.last_weights = weights.detach()
        return torch.bmm(weights.unsqueeze(1), output).squeeze(1)

    @property
    def widening(self) -> int:
        """How many times wider the pooled vector is than one step's output (3 for ``concat``)."""
        return 3 if self.mode == "concat" else 1

    @staticmethod
    def _last(
        output: Tensor, state: Tensor | tuple[Tensor, Tensor] | None, lengths: Tensor,
        directions: int
    ) -> Tensor:
        if state is None:
            index = (lengths - 1).clamp(min=0)
            picked = output[torch.arange(output.shape[0]), index]
            if directions == 2:
                # The backward direction ends (has read the whole sequence) at step 0.
                half = output.shape[-1] // 2
                picked = torch.cat([picked[:, :half], output[:, 0, half:]], dim=-1)
            return picked * (lengths > 0)[:, None].to(output.dtype)
        h = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
        directions = output.shape[-1] // h.shape[-1]
        top = h[-directions:]  # (D, B, H): the top layer's directions
        return top.permute(1, 0, 2).reshape(h.shape[1], -1)


def _mean(output: Tensor, keep: Tensor, lengths: Tensor) -> Tensor:
    total = (output * keep[..., None]).sum(dim=1)
    return total / lengths.clamp(min=1)[:, None].to(output.dtype)


def _max(output: Tensor, keep: Tensor, lengths: Tensor) -> Tensor:
    masked = output.masked_fill(~keep[..., None], float("-inf")).amax(dim=1)
    # A zero-length sequence has no step to take the max of: give it zeros, not -inf.
    return torch.where(lengths[:, None] > 0, masked, torch.zeros_like(masked))
