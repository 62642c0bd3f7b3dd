"""One scaler: column-wise ``(x - shift) / scale``, fitted on training rows, saved as JSON.

Kinds (how ``shift`` and ``scale`` are learnt from ``x (N, C)``):

- ``"standard"``: the mean and the standard deviation of each column.
- ``"minmax"``: the minimum and the range (max - min) of each column: values map onto [0, 1].
- ``"feature"``: the mean, and the standard deviation but at least a tenth of the range. The floor
  leaves a spread-out feature alone (a normal sample's range is 6-8 standard deviations) and keeps
  an almost constant feature with rare large values -- MNIST's border pixels: std 0.5, values up
  to 255 -- within about +-10 instead of +-500.
- ``"global"``: one mean and one standard deviation over all columns (pixels, same units).
- ``"none"``: values are kept as they are.

A scale below 1e-12 (a constant column) becomes 1. Rows with NaN or infinite values are left out
of the fit. ``to_dict`` gives ``{"kind", "shift", "scale"}``; ``from_dict`` also reads the
``{"mode", "mean", "scale"}`` spelling that sequence-classifier bundles saved before.

:class:`rnnkit.data.sequences.FeatureScaler` is this scaler fitted on the real time steps of
variable-length sequences; the forecaster uses it on series windows.

Example:
    >>> s = Scaler("minmax").fit(np.array([[0.0], [10.0]]))
    >>> s.transform(np.array([[5.0]])).tolist(), s.inverse_transform(np.array([[1.0]])).tolist()
    ([[0.5]], [[10.0]])
    >>> Scaler.from_dict({"mode": "feature", "mean": [1.0], "scale": [2.0]}).to_dict()
    {'kind': 'feature', 'shift': [1.0], 'scale': [2.0]}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.errors import ConfigError, DataError

KINDS = ("standard", "minmax", "feature", "global", "none")
_MIN_SCALE = 1e-12


class Scaler:
    """Column-wise affine scaler ``(x - shift) / scale`` (see the module docstring for ``kind``)."""

    KINDS: tuple[str, ...] = KINDS

    def __init__(self, kind: str = "standard") -> None:
        if kind not in self.KINDS:
            raise self._unknown_kind(kind)
        self.kind = kind
        self.shift: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def _unknown_kind(self, kind: str) -> Exception:
        return ConfigError(f"scaler: expected one of {', '.join(self.KINDS)}, got {kind!r}")

    def _not_fitted(self) -> Exception:
        return ConfigError("scaler: call fit() first")

    def fit(self, x: np.ndarray) -> Scaler:
        """Learn the shift and scale of every column of ``x (N, C)`` (non-finite rows ignored)."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        x = x[np.all(np.isfinite(x), axis=1)]
        if len(x) == 0:
            raise DataError("scaler: no finite training values to fit on; "
                            "give a longer training part")
        shift, scale = _statistics(self.kind, x)
        self.shift, self.scale = shift, np.where(scale > _MIN_SCALE, scale, 1.0)
        return self

    def fitted(self) -> tuple[np.ndarray, np.ndarray]:
        """``(shift, scale)``, each ``(C,)``; an error before ``fit``."""
        if self.shift is None or self.scale is None:
            raise self._not_fitted()
        return self.shift, self.scale

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x - shift) / scale`` in float64, ``x (N, C)``."""
        shift, scale = self.fitted()
        return (np.asarray(x, dtype=np.float64) - shift) / scale

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """``x * scale + shift`` in float64: the values :meth:`transform` was given."""
        shift, scale = self.fitted()
        return np.asarray(x, dtype=np.float64) * scale + shift

    def to_dict(self) -> dict[str, Any]:
        shift, scale = self.fitted()
        return {"kind": self.kind, "shift": shift.tolist(), "scale": scale.tolist()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Any:
        """A fitted scaler from :meth:`to_dict`'s JSON, or from ``{"mode", "mean", "scale"}``."""
        kind = state.get("kind", state.get("mode", "feature"))
        obj = cls(kind)
        shift = np.asarray(state["shift"] if "shift" in state else state["mean"], dtype=np.float64)
        scale = np.asarray(state["scale"], dtype=np.float64)
        if shift.shape != scale.shape or shift.ndim != 1:
            raise DataError("scaler.json: shift (mean) and scale must be lists of the same length")
        obj.shift, obj.scale = shift, scale
        return obj


def _statistics(kind: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(shift, scale)`` of the rows ``x (N, C)`` for one kind, before the constant-column floor.
    """
    columns = x.shape[1]
    if kind == "standard":
        return x.mean(axis=0), x.std(axis=0)
    if kind == "minmax":
        return x.min(axis=0), x.max(axis=0) - x.min(axis=0)
    if kind == "feature":
        spread = np.maximum(x.std(axis=0), 0.1 * (x.max(axis=0) - x.min(axis=0)))
        return x.mean(axis=0), spread
    if kind == "global":
        return np.full(columns, x.mean()), np.full(columns, x.std())
    return np.zeros(columns), np.ones(columns)


__all__ = ["KINDS", "Scaler"]
