"""The base class of every scratch layer: parameters, their gradients, and weight exchange.

A module keeps ``params`` (name -> array) and ``grads`` (same names, same shapes). ``backward``
*adds* into ``grads`` (like PyTorch's ``.grad``), so call :meth:`Module.zero_grad` between steps.
Containers list their children; :meth:`Module.parameters` flattens everything into one dict whose
names are the PyTorch names (``weight_ih_l0``, ``weight_hh_l1_reverse``, ``0.weight``, ...).

Weight exchange with PyTorch / ``rnnkit.nn`` goes through :meth:`state_dict` and
:meth:`load_state_dict`. ``load_state_dict`` also accepts torch tensors (anything with
``.detach().cpu().numpy()``) without importing torch.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import Dense
    >>> layer = Dense(3, 2, dtype=np.float64)
    >>> sorted(layer.state_dict())
    ['bias', 'weight']
    >>> layer.state_dict()["weight"].shape
    (2, 3)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .errors import ScratchError

Rng = np.random.Generator | int | None


def make_rng(rng: Rng) -> np.random.Generator:
    """A numpy Generator from a Generator, a seed, or None (seed 0: reproducible by default)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


def check_dtype(dtype: Any) -> np.dtype:
    """float32 or float64, else a ScratchError."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ScratchError(f"dtype: expected float32 or float64, got {dt}")
    return dt


def to_numpy(value: Any) -> np.ndarray:
    """A numpy array from an array-like or a torch tensor (duck-typed, torch is never imported)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


class Module:
    """Parameters + gradients + children. Subclasses implement ``forward`` and ``backward``."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    # -- parameters -------------------------------------------------------------------------
    def _add_param(self, name: str, value: np.ndarray) -> np.ndarray:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
        return value

    def _param_name(self, short: str) -> str:
        """The public name of an own parameter (recurrent layers add ``_l0``/``_reverse``)."""
        return short

    def children(self) -> list[tuple[str, Module]]:
        """(name prefix, child) pairs; the prefix is prepended to the child's parameter names."""
        return []

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """(public name, parameter, gradient) for this module and all its children."""
        for short, value in self.params.items():
            yield self._param_name(short), value, self.grads[short]
        for prefix, child in self.children():
            for name, value, grad in child.named_parameters():
                yield prefix + name, value, grad

    def parameters(self) -> dict[str, np.ndarray]:
        """name -> parameter array (the live arrays: optimizers update them in place)."""
        return {name: value for name, value, _ in self.named_parameters()}

    def gradients(self) -> dict[str, np.ndarray]:
        """name -> gradient array, same names as :meth:`parameters`."""
        return {name: grad for name, _, grad in self.named_parameters()}

    def zero_grad(self) -> None:
        """Set every gradient to zero (backward accumulates)."""
        for _, _, grad in self.named_parameters():
            grad.fill(0.0)

    # -- weight exchange --------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters, named and laid out as in torch.nn."""
        return {name: value.copy() for name, value, _ in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays (or torch tensors) into the parameters, checking names and shapes.

        Values are cast to this module's dtype. With ``strict`` the key sets must match exactly.
        """
        own = self.parameters()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if strict and (missing or unexpected):
            raise ScratchError(
                f"state_dict: missing keys {missing}, unexpected keys {unexpected}; "
                "build the layer with the same sizes, num_layers and bidirectional"
            )
        for name, value in state.items():
            if name not in own:
                continue
            array = to_numpy(value)
            if array.shape != own[name].shape:
                raise ScratchError(
                    f"state_dict[{name!r}]: expected shape {own[name].shape}, got {array.shape}"
                )
            np.copyto(own[name], array, casting="unsafe")

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters (float32 or float64)."""
        for _, value, _ in self.named_parameters():
            return value.dtype
        return np.dtype(np.float64)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


__all__ = ["Module", "make_rng", "check_dtype", "to_numpy"]
