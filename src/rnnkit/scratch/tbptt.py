"""Truncated backpropagation through time for long streams: forward k1 steps, backpropagate k2.

A stream (B, T, F) far longer than memory or patience allows is consumed in chunks of ``k1`` new
steps. After each chunk ending at step ``e``, the losses of those k1 steps are backpropagated
through the last ``k2 >= k1`` steps: the layer is re-run from the state it had at ``e - k2``
(treated as a constant, so gradients stop there) over steps ``e - k2 .. e``. The state then
carries on to the next chunk, so the forward pass sees the whole stream while every backward pass
is bounded by k2 steps.

* ``k1 = k2 = T`` is ordinary full BPTT (one chunk, one backward pass).
* ``k1 = k2 = k`` is the common "detach the state every k steps" recipe.
* ``k2 > k1`` lets each chunk's losses reach ``k2 - k1`` steps further back than the chunk.

With an optimizer the weights are updated after every chunk; without one the gradients of all
chunks accumulate in the layer (and head), which is what the tests compare against full BPTT.
The state at the end of the stream is kept in ``state`` so a following call continues the stream.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import GRU, Dense, TruncatedBPTT, Adam
    >>> x = np.random.default_rng(0).normal(size=(2, 40, 3)); y = np.roll(x, -1, axis=1)
    >>> tb = TruncatedBPTT(GRU(3, 8, dtype=np.float64), Dense(8, 3, dtype=np.float64), "mse",
    ...                    k1=10, k2=20)
    >>> loss = tb.run(x, y, optimizer=Adam(1e-2))
    >>> tb.state.shape
    (1, 2, 8)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ScratchError
from .layers import Dense
from .losses import get_loss
from .optimizers import Optimizer, clip_by_global_norm, clip_by_value
from .recurrent import State
from .stacked import Stacked


class TruncatedBPTT:
    """TBPTT(k1, k2) driver for a unidirectional recurrent ``layer`` and a per-step ``head``."""

    def __init__(
        self,
        layer: Stacked,
        head: Dense | None,
        loss: str | Callable[..., Any],
        k1: int,
        k2: int | None = None,
        clip_value: float | None = None,
        clip_norm: float | None = None,
    ) -> None:
        k2 = k1 if k2 is None else k2
        if not 1 <= k1 <= k2:
            raise ScratchError(f"k1, k2: need 1 <= k1 <= k2, got k1={k1}, k2={k2}")
        if layer.num_directions != 1:
            raise ScratchError("layer: truncated BPTT runs over a stream; use bidirectional=False")
        self.layer, self.head, self.loss_fn = layer, head, get_loss(loss)
        self.k1, self.k2 = k1, k2
        self.clip_value, self.clip_norm = clip_value, clip_norm
        self.state: State | None = None

    def reset(self) -> None:
        """Start the next stream from a zero state."""
        self.state = None

    def _zero_grad(self) -> None:
        self.layer.zero_grad()
        if self.head is not None:
            self.head.zero_grad()

    def _params_and_grads(self) -> tuple[dict, dict]:
        params, grads = dict(self.layer.parameters()), dict(self.layer.gradients())
        if self.head is not None:
            params.update({f"head.{k}": v for k, v in self.head.parameters().items()})
            grads.update({f"head.{k}": v for k, v in self.head.gradients().items()})
        return params, grads

    def run(self, x: np.ndarray, y: np.ndarray, optimizer: Optimizer | None = None) -> float:
        """Consume the stream ``x`` (B, T, F) with per-step targets ``y`` (B, T, ...).

        Returns the mean of the chunk losses. With an optimizer, gradients are zeroed before and
        applied after every chunk; without one they accumulate over the chunks.
        """
        x, y = np.asarray(x), np.asarray(y)
        steps = x.shape[1]
        states: dict[int, State | None] = {0: self.state}
        losses = []
        previous_end = 0
        while previous_end < steps:
            end = min(previous_end + self.k1, steps)
            start = max(0, end - self.k2)
            out, _ = self.layer(x[:, start:end], initial_state=states[start])
            for step in range(previous_end + 1, end + 1):
                states[step] = self.layer.state_at(step - start)
            new = end - previous_end
            pred = out[:, -new:] if self.head is None else self.head(out[:, -new:])
            loss, d_pred = self.loss_fn(pred, y[:, previous_end:end])
            losses.append(loss)
            if optimizer is not None:
                self._zero_grad()
            d_out = np.zeros_like(out)
            d_out[:, -new:] = d_pred if self.head is None else self.head.backward(d_pred)
            self.layer.backward(d_out)
            if optimizer is not None:
                params, grads = self._params_and_grads()
                if self.clip_value is not None:
                    clip_by_value(grads, self.clip_value)
                if self.clip_norm is not None:
                    clip_by_global_norm(grads, self.clip_norm)
                optimizer.step(params, grads)
            for old in [k for k in states if k < end + 1 - self.k2]:
                del states[old]  # no later window starts before end + 1 - k2
            previous_end = end
        self.state = states[steps]
        return float(np.mean(losses))


__all__ = ["TruncatedBPTT"]
