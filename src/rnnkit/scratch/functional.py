"""Activations, their derivatives, and the helpers for variable-length batches.

Every derivative is written in terms of the activation's *output*, because that is what the
forward pass caches:

    s = sigmoid(a)   ->  ds/da = s * (1 - s)
    y = tanh(a)      ->  dy/da = 1 - y**2
    y = relu(a)      ->  dy/da = 1 if y > 0 else 0

Shapes: ``lengths`` is an int array ``(B,)``; a mask is ``(B, T)`` bool, True = a real step.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch.functional import sigmoid, lengths_to_mask
    >>> float(sigmoid(np.array(0.0)))
    0.5
    >>> lengths_to_mask(np.array([2, 0]), 3).tolist()
    [[True, True, False], [False, False, False]]
"""

from __future__ import annotations

import numpy as np

from .errors import ScratchError


def sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-a)), written as 0.5 * (1 + tanh(a / 2)) (no overflow)."""
    if out is None:
        return 0.5 * (1.0 + np.tanh(0.5 * a))
    np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def sigmoid_grad_from_output(s: np.ndarray) -> np.ndarray:
    """ds/da given s = sigmoid(a)."""
    return s * (1.0 - s)


def tanh_grad_from_output(y: np.ndarray) -> np.ndarray:
    """dy/da given y = tanh(a)."""
    return 1.0 - y * y


def relu(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """max(a, 0)."""
    return np.maximum(a, 0.0, out=out)


def relu_grad_from_output(y: np.ndarray) -> np.ndarray:
    """dy/da given y = relu(a) (the subgradient at 0 is taken as 0, as in PyTorch)."""
    return (y > 0).astype(y.dtype)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def check_lengths(lengths: np.ndarray | None, batch: int, steps: int) -> np.ndarray | None:
    """Validate ``lengths`` (B,) against a batch of ``batch`` sequences of ``steps`` steps.

    A boolean ``(B, T)`` mask (True = keep, right padding) is accepted too and turned into lengths.
    """
    if lengths is None:
        return None
    lengths = np.asarray(lengths)
    if lengths.dtype == bool:
        if lengths.shape != (batch, steps):
            raise ScratchError(
                f"mask: expected shape ({batch}, {steps}) matching x, got {lengths.shape}"
            )
        mask = lengths
        lengths = mask.sum(axis=1)
        if not np.array_equal(lengths_to_mask(lengths, steps), mask):
            raise ScratchError("mask: only right padding is supported; put real steps first")
    if lengths.shape != (batch,):
        raise ScratchError(f"lengths: expected shape ({batch},), one length per sequence")
    if not np.issubdtype(lengths.dtype, np.integer):
        raise ScratchError(f"lengths: expected integers, got dtype {lengths.dtype}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > steps):
        raise ScratchError(f"lengths: every length must be in [0, {steps}] (the T of x)")
    return lengths.astype(np.int64)


def lengths_to_mask(lengths: np.ndarray, steps: int) -> np.ndarray:
    """(B,) lengths -> (B, T) bool mask, True at real steps (right padding)."""
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


def reverse_index(lengths: np.ndarray | None, batch: int, steps: int) -> np.ndarray:
    """(B, T) indices that reverse each sequence within its own length and leave padding in place.

    Applying the gather twice gives back the input, so the same index undoes the reversal.
    """
    t = np.arange(steps)[None, :].repeat(batch, axis=0)
    if lengths is None:
        return t[:, ::-1].copy()
    lengths = np.asarray(lengths)[:, None]
    return np.where(t < lengths, lengths - 1 - t, t)


def reverse_padded(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """Reverse every sequence of ``x`` (B, T, ...) within its length (padding stays at the end)."""
    if lengths is None:
        return x[:, ::-1]
    idx = reverse_index(lengths, x.shape[0], x.shape[1])
    idx = idx.reshape(idx.shape + (1,) * (x.ndim - 2))
    return np.take_along_axis(x, idx, axis=1)


def last_step(output: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """The output of each sequence's last real step: (B, T, H) -> (B, H); zeros for length 0.

    This is ``return_sequences=False`` applied after the fact.
    """
    batch, steps = output.shape[:2]
    lengths = check_lengths(lengths, batch, steps)
    if lengths is None:
        return output[:, -1].copy()
    idx = np.maximum(lengths - 1, 0)
    picked = output[np.arange(batch), idx]
    picked[lengths == 0] = 0.0
    return picked


__all__ = [
    "sigmoid",
    "sigmoid_grad_from_output",
    "tanh_grad_from_output",
    "relu",
    "relu_grad_from_output",
    "softmax",
    "check_lengths",
    "lengths_to_mask",
    "reverse_index",
    "reverse_padded",
    "last_step",
]
