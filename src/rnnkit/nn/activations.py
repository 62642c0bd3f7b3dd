"""Activation functions by Keras name, for the ``activation``/``recurrent_activation`` options.

Names follow Keras: ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"hard_sigmoid"`` (Keras 3 form,
``relu6(x + 3) / 6``), ``"linear"`` (identity, also ``None``), ``"elu"``, ``"selu"``, ``"gelu"``,
``"silu"``/``"swish"``, ``"softsign"``, ``"softplus"``. Any callable ``Tensor -> Tensor`` works too.

Example:
    >>> import torch
    >>> resolve_activation("hard_sigmoid", "activation")(torch.tensor([0.0])).item()
    0.5
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from rnnkit.errors import ConfigError

Activation = Callable[[torch.Tensor], torch.Tensor]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


ACTIVATIONS: dict[str, Activation] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "hard_sigmoid": F.hardsigmoid,
    "linear": _identity,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "silu": F.silu,
    "swish": F.silu,
    "softsign": F.softsign,
    "softplus": F.softplus,
}


def resolve_activation(spec: str | Activation | None, argument: str) -> Activation:
    """The function for a Keras activation name (or the callable itself).

    Raises :class:`ConfigError` naming ``argument`` for an unknown name.
    """
    if spec is None:
        return _identity
    if callable(spec):
        return spec
    if isinstance(spec, str) and spec.lower() in ACTIVATIONS:
        return ACTIVATIONS[spec.lower()]
    known = ", ".join(sorted(ACTIVATIONS))
    raise ConfigError(f"{argument}: unknown activation {spec!r}; use one of {known} or a callable")


def activation_name(spec: str | Activation | None) -> str | None:
    """The canonical lower-case name of a named activation, ``None`` for a callable."""
    if spec is None:
        return "linear"
    if isinstance(spec, str):
        return spec.lower()
    for name, fn in ACTIVATIONS.items():
        if fn is spec:
            return name
    return None
