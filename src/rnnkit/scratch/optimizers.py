"""Optimizers and gradient clipping, written out as the update rules (PyTorch's formulas).

An optimizer updates a dict of parameter arrays *in place* from a dict of gradients with the same
names; its per-parameter state (momentum, running averages) is keyed by those names::

    opt = Adam(lr=1e-3)
    opt.step(model.parameters(), model.gradients())   # or: opt.update(model)

Update rules (g = gradient, t = step count from 1):

    SGD      v = mu v + g;  p -= lr v                      (mu = momentum; plain SGD: mu = 0)
    RMSprop  s = a s + (1 - a) g^2;  p -= lr g / (sqrt(s) + eps)
    Adagrad  s += g^2;  p -= lr g / (sqrt(s) + eps)
    Adam     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
             p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

Clipping, applied to the gradients before ``step``:

    clip_by_value(grads, 1.0)       every entry into [-1, 1] (the classic from-scratch tutorials)
    clip_by_global_norm(grads, 5.0) rescale all gradients together so that ||g||_2 <= 5

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import SGD
    >>> p = {"w": np.array([1.0])}
    >>> SGD(lr=0.1).step(p, {"w": np.array([2.0])})
    >>> p["w"].tolist()
    [0.8]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import ScratchError

Arrays = Mapping[str, np.ndarray]


class Optimizer:
    """Base class: ``step(params, grads)`` updates ``params`` in place."""

    def __init__(self, lr: float) -> None:
        if lr <= 0:
            raise ScratchError(f"lr: must be positive, got {lr}")
        self.lr = lr
        self.state: dict[str, dict[str, Any]] = {}

    def step(self, params: Arrays, grads: Arrays) -> None:
        for name, p in params.items():
            self._update(
                name, p, np.asarray(grads[name], dtype=p.dtype), self.state.setdefault(name, {})
            )

    def update(self, module: Any) -> None:
        """``step(module.parameters(), module.gradients())``."""
        self.step(module.parameters(), module.gradients())

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (heavy-ball) momentum as ``torch.optim.SGD``."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0) -> None:
        super().__init__(lr)
        self.momentum = momentum

    def _update(self, name, p, g, state):
        if self.momentum:
            v = state.get("velocity")
            v = g.copy() if v is None else v * self.momentum + g
            state["velocity"] = v
            g = v
        p -= self.lr * g


class RMSprop(Optimizer):
    """Divide by a running root-mean-square of recent gradients (``torch.optim.RMSprop``)."""

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.alpha, self.eps = alpha, eps

    def _update(self, name, p, g, state):
        s = state.setdefault("square_avg", np.zeros_like(p))
        s *= self.alpha
        s += (1 - self.alpha) * g * g
        p -= self.lr * g / (np.sqrt(s) + self.eps)


class Adagrad(Optimizer):
    """Divide by the root of the sum of all past squared gradients (``torch.optim.Adagrad``)."""

    def __init__(self, lr: float = 0.01, eps: float = 1e-10) -> None:
        super().__init__(lr)
        self.eps = eps

    def _update(self, name, p, g, state):
        s = state.setdefault("sum", np.zeros_like(p))
        s += g * g
        p -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    """Adam with bias correction (``torch.optim.Adam``, no weight decay)."""

    def __init__(
        self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        self.beta1, self.beta2 = betas
        self.eps = eps

    def _update(self, name, p, g, state):
        m = state.setdefault("m", np.zeros_like(p))
        v = state.setdefault("v", np.zeros_like(p))
        t = state["t"] = state.get("t", 0) + 1
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def clip_by_value(grads: Arrays, limit: float = 1.0) -> None:
    """Clip every gradient entry into [-limit, limit], in place."""
    if limit <= 0:
        raise ScratchError(f"clip value: must be positive, got {limit}")
    for g in grads.values():
        np.clip(g, -limit, limit, out=g)


def global_norm(grads: Arrays) -> float:
    """sqrt of the sum of squares of all gradient entries."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def clip_by_global_norm(grads: Arrays, max_norm: float) -> float:
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

    Returns the norm before clipping (as ``torch.nn.utils.clip_grad_norm_``).
    """
    if max_norm <= 0:
        raise ScratchError(f"clip norm: must be positive, got {max_norm}")
    norm = global_norm(grads)
    if norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads.values():
            g *= scale
    return norm


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adam": Adam}


def get_optimizer(name: str | Optimizer, lr: float | None = None) -> Optimizer:
    """An optimizer instance by name ("sgd", "rmsprop", "adagrad", "adam") or the instance."""
    if isinstance(name, Optimizer):
        return name
    if name not in OPTIMIZERS:
        raise ScratchError(f"optimizer: expected one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name]() if lr is None else OPTIMIZERS[name](lr=lr)


__all__ = [
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adam",
    "clip_by_value",
    "clip_by_global_norm",
    "global_norm",
    "get_optimizer",
]
