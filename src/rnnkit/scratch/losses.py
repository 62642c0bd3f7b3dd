"""Losses, each returning ``(loss, dL/d(prediction))`` so that backward can start right away.

* :func:`cross_entropy`: softmax + negative log-likelihood. ``logits`` (B, C) with ``target`` (B,),
  or (B, T, C) with (B, T) and an optional ``mask`` (B, T) (True = count) or ``-100`` = ignore.
  The gradient is the famous ``softmax(logits) - onehot(target)``, divided by the count.
* :func:`bce_with_logits`: binary cross-entropy on raw logits, computed stably as
  ``max(z, 0) - z*y + log(1 + exp(-|z|))``; gradient ``sigmoid(z) - y``.
* :func:`mse`: mean squared error; gradient ``2 (pred - target) / N``.

All use ``reduction="mean"`` (over counted elements) or ``"sum"``.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import cross_entropy
    >>> loss, grad = cross_entropy(np.zeros((1, 2)), np.array([1]))
    >>> round(loss, 4), grad.tolist()
    (0.6931, [[0.5, -0.5]])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import ScratchError
from .functional import sigmoid, softmax

IGNORE_INDEX = -100


def _scale(count: int, reduction: str) -> float:
    """The factor that turns a sum into the requested reduction."""
    if reduction == "sum":
        return 1.0
    if reduction == "mean":
        return 1.0 / max(count, 1)
    raise ScratchError(f"reduction: expected 'mean' or 'sum', got {reduction!r}")


def cross_entropy(
    logits: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray | None = None,
    reduction: str = "mean",
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy. Returns ``(loss, dlogits)`` with dlogits shaped like logits."""
    logits = np.asarray(logits)
    target = np.asarray(target)
    if logits.shape[:-1] != target.shape:
        raise ScratchError(
            f"target: expected shape {logits.shape[:-1]} to match logits {logits.shape}"
        )
    keep = target != IGNORE_INDEX
    if mask is not None:
        keep = keep & np.asarray(mask, dtype=bool)
    classes = logits.shape[-1]
    safe_target = np.where(keep, target, 0)
    if safe_target.size and (safe_target.min() < 0 or safe_target.max() >= classes):
        raise ScratchError(f"target: class ids must be in [0, {classes}) or {IGNORE_INDEX}")
    probs = softmax(logits)
    picked = np.take_along_axis(probs, safe_target[..., None], axis=-1)[..., 0]
    count = int(keep.sum())
    scale = _scale(count, reduction)
    loss = float(-(np.log(np.maximum(picked, np.finfo(probs.dtype).tiny)) * keep).sum() * scale)
    grad = probs
    np.put_along_axis(grad, safe_target[..., None], picked[..., None] - 1.0, axis=-1)
    grad *= (keep * scale)[..., None]
    return loss, grad.astype(logits.dtype, copy=False)


def bce_with_logits(
    logits: np.ndarray, target: np.ndarray, reduction: str = "mean"
) -> tuple[float, np.ndarray]:
    """Binary cross-entropy from logits (any shape; target of the same shape, 0/1 or soft)."""
    z = np.asarray(logits)
    y = np.asarray(target, dtype=z.dtype)
    if z.shape != y.shape:
        raise ScratchError(f"target: expected shape {z.shape} like logits, got {y.shape}")
    scale = _scale(z.size, reduction)
    loss = float((np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum() * scale)
    return loss, (sigmoid(z) - y) * scale


def mse(pred: np.ndarray, target: np.ndarray, reduction: str = "mean") -> tuple[float, np.ndarray]:
    """Mean squared error."""
    pred = np.asarray(pred)
    target = np.asarray(target, dtype=pred.dtype)
    if pred.shape != target.shape:
        raise ScratchError(f"target: expected shape {pred.shape} like the prediction")
    diff = pred - target
    scale = _scale(diff.size, reduction)
    return float((diff * diff).sum() * scale), 2.0 * diff * scale


LOSSES: dict[str, Callable[..., tuple[float, np.ndarray]]] = {
    "cross_entropy": cross_entropy,
    "bce": bce_with_logits,
    "mse": mse,
}


def get_loss(name: str | Callable[..., tuple[float, np.ndarray]]) -> Callable[..., tuple]:
    """A loss by name ("cross_entropy", "bce", "mse") or the callable itself."""
    if callable(name):
        return name
    if name not in LOSSES:
        raise ScratchError(f"loss: expected one of {sorted(LOSSES)}, got {name!r}")
    return LOSSES[name]


__all__ = ["cross_entropy", "bce_with_logits", "mse", "get_loss", "IGNORE_INDEX"]
