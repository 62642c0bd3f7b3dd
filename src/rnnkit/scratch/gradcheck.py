"""Finite-difference gradient checks: the test that a hand-written backward pass is right.

The central difference ``(f(w + eps) - f(w - eps)) / (2 eps)`` approximates df/dw with an error of
order eps**2, so in float64 with eps = 1e-6 it agrees with a correct analytic gradient to about
1e-9 relative. A wrong line in backward shows up as a relative error near 1.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch.gradcheck import numerical_gradient, relative_error
    >>> w = np.array([1.0, 2.0])
    >>> num = numerical_gradient(lambda: float((w ** 3).sum()), w)
    >>> relative_error(num, 3 * w ** 2) < 1e-8
    True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """df/dx by central differences; ``f`` reads ``x`` (perturbed in place and restored)."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)
    for index in range(flat.size):
        original = flat[index]
        flat[index] = original + eps
        plus = f()
        flat[index] = original - eps
        minus = f()
        flat[index] = original
        flat_grad[index] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / max(||a|| + ||b||, 1e-12): 0 when equal, about 1 when unrelated."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    total = float(np.linalg.norm(a)) + float(np.linalg.norm(b))
    return float(np.linalg.norm(a - b)) / max(total, 1e-12)


__all__ = ["numerical_gradient", "relative_error"]
