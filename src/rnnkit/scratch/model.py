"""A small Keras-like ``Sequential`` model with ``fit`` / ``evaluate`` / ``predict``.

Layers run one after another; a recurrent layer passes on its output sequence (B, T, D*H);
layers that need the lengths (recurrent layers, :class:`LastStep`, the heads) receive them.
``fit`` runs mini-batch training: forward, loss, backward, optional clipping, optimizer step, and
prints loss and accuracy every ``print_every`` epochs.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import Sequential, RNN, ManyToOne, SGD
    >>> model = Sequential([RNN(2, 8, dtype=np.float64), ManyToOne(8, 2, dtype=np.float64)])
    >>> model.compile(loss="cross_entropy", optimizer=SGD(lr=0.1))
    >>> x = np.random.default_rng(0).normal(size=(6, 3, 2)); y = np.array([0, 1] * 3)
    >>> history = model.fit(x, y, epochs=2, verbose=0)
    >>> sorted(history)
    ['accuracy', 'loss']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import ScratchError
from .functional import lengths_to_mask
from .losses import get_loss
from .module import Module
from .optimizers import (
    SGD,
    Optimizer,
    clip_by_global_norm,
    clip_by_value,
    get_optimizer,
)
from .stacked import Stacked


class Sequential(Module):
    """Layers in order. Parameter names are ``{index}.{name}`` (as ``torch.nn.Sequential``)."""

    def __init__(self, layers: Sequence[Module]) -> None:
        super().__init__()
        self.layers = list(layers)
        self.loss_name: str | Callable[..., Any] = "cross_entropy"
        self.loss_fn = get_loss("cross_entropy")
        self.optimizer: Optimizer = SGD(lr=0.01)
        self.clip_value: float | None = None
        self.clip_norm: float | None = None
        self.reduction = "mean"

    def children(self) -> list[tuple[str, Module]]:
        return [(f"{index}.", layer) for index, layer in enumerate(self.layers)]

    def compile(
        self,
        loss: str | Callable[..., Any] = "cross_entropy",
        optimizer: str | Optimizer = "adam",
        lr: float | None = None,
        clip_value: float | None = None,
        clip_norm: float | None = None,
        reduction: str = "mean",
    ) -> None:
        """Choose the loss ("cross_entropy", "bce", "mse"), optimizer and gradient clipping.

        ``reduction="sum"`` adds the per-example losses of a batch instead of averaging them, so
        one batch update equals the sum of per-example SGD steps (the classic tutorials' setting).
        """
        if reduction not in ("mean", "sum"):
            raise ScratchError(f"reduction: expected 'mean' or 'sum', got {reduction!r}")
        self.loss_name, self.loss_fn, self.reduction = loss, get_loss(loss), reduction
        self.optimizer = get_optimizer(optimizer, lr)
        self.clip_value, self.clip_norm = clip_value, clip_norm

    # -- forward / backward -----------------------------------------------------------------
    def forward(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        for layer in self.layers:
            if isinstance(layer, Stacked):
                x, _ = layer(x, lengths)
            elif getattr(layer, "uses_lengths", False):
                x = layer(x, lengths)
            else:
                x = layer(x)
        return x

    def backward(self, d_out: np.ndarray) -> np.ndarray | None:
        for layer in reversed(self.layers):
            result = layer.backward(d_out)  # type: ignore[attr-defined]
            d_out = result[0] if isinstance(result, tuple) else result
        return d_out

    def _loss(
        self, out: np.ndarray, y: np.ndarray, lengths: np.ndarray | None, reduction: str
    ) -> tuple:
        options = {} if callable(self.loss_name) else {"reduction": reduction}
        if self.loss_name == "cross_entropy" and out.ndim == 3 and lengths is not None:
            return self.loss_fn(out, y, mask=lengths_to_mask(lengths, out.shape[1]), **options)
        if self.loss_name == "bce" and out.ndim == y.ndim + 1 and out.shape[-1] == 1:
            loss, grad = self.loss_fn(out[..., 0], y, **options)
            return loss, grad[..., None]
        return self.loss_fn(out, y, **options)

    def _accuracy(self, out: np.ndarray, y: np.ndarray, lengths: np.ndarray | None) -> float | None:
        if self.loss_name == "cross_entropy":
            hits = out.argmax(axis=-1) == y
            keep = y != -100
            if out.ndim == 3 and lengths is not None:
                keep &= lengths_to_mask(lengths, out.shape[1])
            return float(hits[keep].mean()) if keep.any() else 0.0
        if self.loss_name == "bce":
            pred = (out.reshape(y.shape) > 0).astype(y.dtype)
            return float((pred == y).mean())
        return None

    # -- the verbs ---------------------------------------------------------------------------
    def train_step(self, x: np.ndarray, y: np.ndarray, lengths: np.ndarray | None = None) -> float:
        """One update on one batch; returns the batch loss."""
        self.zero_grad()
        out = self.forward(x, lengths)
        loss, d_out = self._loss(out, y, lengths, self.reduction)
        if not np.isfinite(loss):
            raise ScratchError("training diverged (non-finite loss); lower lr or clip gradients")
        self.backward(d_out)
        grads = self.gradients()
        if self.clip_value is not None:
            clip_by_value(grads, self.clip_value)
        if self.clip_norm is not None:
            clip_by_global_norm(grads, self.clip_norm)
        self.optimizer.step(self.parameters(), grads)
        return loss

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        lengths: np.ndarray | None = None,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        shuffle: bool = True,
        validation_data: tuple | None = None,
        print_every: int = 1,
        verbose: int = 1,
        seed: int = 0,
    ) -> dict[str, list[float]]:
        """Train; return a history {"loss": [...], "accuracy": [...], "val_loss": ...}.

        ``validation_data`` is ``(x, y)`` or ``(x, y, lengths)``.
        """
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise ScratchError(f"y: expected {len(x)} targets, one per sequence, got {len(y)}")
        rng = np.random.default_rng(seed)
        history: dict[str, list[float]] = {}
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            for start in range(0, len(x), batch_size):
                idx = order[start : start + batch_size]
                self.train_step(x[idx], y[idx], None if lengths is None else lengths[idx])
            metrics = self.evaluate(x, y, lengths)
            if validation_data is not None:
                val = self.evaluate(*validation_data)
                metrics.update({f"val_{k}": v for k, v in val.items()})
            for key, value in metrics.items():
                history.setdefault(key, []).append(value)
            if verbose and (epoch % print_every == 0 or epoch == epochs):
                text = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                print(f"epoch {epoch}/{epochs}  {text}")
        return history

    def evaluate(
        self, x: np.ndarray, y: np.ndarray, lengths: np.ndarray | None = None
    ) -> dict[str, float]:
        """{"loss": ..., "accuracy": ...} on the given data (mean loss; accuracy if classifying)."""
        out = self.forward(np.asarray(x), lengths)
        y = np.asarray(y)
        loss, _ = self._loss(out, y, lengths, "mean")
        result = {"loss": loss}
        accuracy = self._accuracy(out, y, lengths)
        if accuracy is not None:
            result["accuracy"] = accuracy
        return result

    def predict(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """The model's raw outputs (logits for classification)."""
        return self.forward(np.asarray(x), lengths)


__all__ = ["Sequential"]
