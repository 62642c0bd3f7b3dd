"""Series pipelines: scalers, log and differencing transforms, windows, season detection, loader.

Conventions: a series is ``(n, C)`` float64, oldest first. An *origin* ``T`` is the index of the
first value to forecast; the history is rows ``[0, T)``. A window for origin ``T`` holds rows
``T - lookback .. T - 1`` and its targets are rows ``T .. T + horizon - 1``.

:class:`SeriesTransform` maps values ``y`` to the model's space and back:

- ``z = log(y)`` when ``log`` is set (positive series whose swings grow with the level), else ``y``;
- inputs: ``z`` (``differencing="none"``), its first differences (``"first"``), seasonal
  differences (``"seasonal"``) or both (``"both"``), so that a trend or season does not push test
  inputs outside the range seen in training;
- targets: ``z`` minus a *reference* forecast that depends only on the history -- 0, the last value,
  the value one season back, or the value one season back plus the latest season-on-season change.
  For one step ahead these are exactly the differenced values; for several steps they keep every
  step's target relative to a known number, so quantiles invert exactly.

Scalers (:class:`rnnkit.data.scaling.Scaler`: ``standard``, ``minmax``, ``none``) are fitted on the
training rows only and serialise to JSON.

Example:
    >>> y = np.arange(1.0, 41.0)[:, None]                     # a straight line
    >>> tf = SeriesTransform(log=False, differencing="first", season=12)
    >>> z = tf.forward(y)
    >>> tf.inputs(z)[1:4, 0].tolist()                          # first differences
    [1.0, 1.0, 1.0]
    >>> origins = np.array([30])
    >>> tf.reference(z, origins, 2)[0, :, 0].tolist()          # the last value, z[29]
    [30.0, 30.0]
    >>> tf.inverse(tf.reference(z, origins, 2) + 1.0)[0, :, 0].tolist()
    [31.0, 31.0]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from rnnkit.data.scaling import Scaler
from rnnkit.errors import ConfigError, DataError

DIFFERENCING = ("none", "first", "seasonal", "both")
SCALERS = ("standard", "minmax", "none")

# Periods that calendar frequencies suggest (pandas offset alias prefix -> candidate seasons).
FREQUENCY_PERIODS: dict[str, tuple[int, ...]] = {
    "H": (24, 168), "h": (24, 168), "D": (7, 365), "B": (5, 260), "W": (52,),
    "M": (12,), "MS": (12,), "ME": (12,), "Q": (4,), "QS": (4,), "QE": (4,),
}


# ------------------------------------------------------------------------------------ transform


class SeriesTransform:
    """Log and differencing: values <-> model inputs and residual targets (see module docstring).

    Args:
        log: model ``log(y)``; every value must be positive.
        differencing: ``none``, ``first``, ``seasonal`` or ``both`` (seasonal then first).
        season: the seasonal period m (used by ``seasonal`` and ``both``).
    """

    def __init__(self, log: bool = False, differencing: str = "none", season: int = 1) -> None:
        if differencing not in DIFFERENCING:
            raise ConfigError(f"differencing: expected one of {', '.join(DIFFERENCING)} or 'auto', "
                              f"got {differencing!r}")
        if differencing in ("seasonal", "both") and season < 2:
            raise ConfigError(f"differencing={differencing!r} needs a season >= 2, got {season}; "
                              "set season")
        self.log = bool(log)
        self.differencing = differencing
        self.season = int(season)

    @property
    def offset(self) -> int:
        """Rows lost at the start to differencing: 0, 1, m or m + 1."""
        return {"none": 0, "first": 1, "seasonal": self.season, "both": self.season + 1}[
            self.differencing
        ]

    def forward(self, y: np.ndarray) -> np.ndarray:
        """``z``: log of the values (when ``log``), as float64 ``(n, C)``."""
        y = np.asarray(y, dtype=np.float64)
        if not self.log:
            return y.copy()
        if np.any(y <= 0):
            raise DataError("log transform: the series has values <= 0; use log=False")
        return np.log(y)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        return np.exp(np.clip(z, -700, 700)) if self.log else z

    def inputs(self, z: np.ndarray) -> np.ndarray:
        """The differenced series ``(n, C)``; the first ``offset`` rows are NaN."""
        out = np.full_like(z, np.nan)
        m = self.season
        if self.differencing == "none":
            out = z.copy()
        elif self.differencing == "first":
            out[1:] = z[1:] - z[:-1]
        elif self.differencing == "seasonal":
            out[m:] = z[m:] - z[:-m]
        else:
            seasonal = z[m:] - z[:-m]
            out[m + 1:] = seasonal[1:] - seasonal[:-1]
        return out

    def reference(self, z: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Reference forecasts ``(N, horizon, C)`` from the history ``z[:T]`` of each origin T."""
        origins = np.asarray(origins, dtype=np.int64)
        steps = np.arange(horizon)
        n, c = len(origins), z.shape[1]
        if self.differencing == "none":
            return np.zeros((n, horizon, c))
        last = z[origins - 1][:, None, :]  # (N, 1, C)
        if self.differencing == "first":
            return np.repeat(last, horizon, axis=1)
        m = self.season
        cycles = steps // m + 1  # seasons to step back so the reference lies in the history
        back = (origins[:, None] + steps[None, :]) - m * cycles[None, :]
        seasonal = z[back]  # (N, H, C)
        if self.differencing == "seasonal":
            return seasonal
        change = last - z[origins - 1 - m][:, None, :]
        return seasonal + cycles[None, :, None] * change

    def to_dict(self) -> dict[str, Any]:
        return {"log": self.log, "differencing": self.differencing, "season": self.season}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> SeriesTransform:
        return cls(bool(state["log"]), str(state["differencing"]), int(state["season"]))


# -------------------------------------------------------------------------------------- windows


def valid_origins(n: int, lookback: int, offset: int, horizon: int, start: int = 0,
                  stop: int | None = None, stride: int = 1) -> np.ndarray:
    """Origins T with a full window (``T - lookback >= offset``) and all targets in
    ``[start, stop)``.

    Example:
        >>> valid_origins(20, lookback=4, offset=1, horizon=2, start=10).tolist()
        [10, 11, 12, 13, 14, 15, 16, 17, 18]
    """
    stop = n if stop is None else stop
    first = max(start, lookback + offset)
    last = stop - horizon  # the last origin whose targets end before stop
    if stride < 1:
        raise ConfigError(f"stride: must be >= 1, got {stride}")
    if last < first:
        return np.zeros(0, dtype=np.int64)
    # Count the stride back from the last origin so the most recent data is always used.
    return np.arange(last, first - 1, -stride, dtype=np.int64)[::-1].copy()


def windows(inputs: np.ndarray, origins: np.ndarray, lookback: int) -> np.ndarray:
    """Input windows ``(N, lookback, F)``: rows ``T - lookback .. T - 1`` of ``inputs (n, F)``."""
    index = np.asarray(origins, dtype=np.int64)[:, None] + np.arange(-lookback, 0)[None, :]
    return inputs[index]


def targets(z: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Values ``(N, horizon, C)`` at rows ``T .. T + horizon - 1`` (NaN beyond the end)."""
    index = np.asarray(origins, dtype=np.int64)[:, None] + np.arange(horizon)[None, :]
    padded = np.concatenate([z, np.full((horizon, z.shape[1]), np.nan)])
    return padded[np.minimum(index, len(padded) - 1)]


class WindowLoader:
    """Batches ``({"x": (B, L, F)}, target (B, H, C))`` of float32 windows for the Trainer.

    Shuffling (``shuffle=True``) is a pure function of ``(seed, epoch)`` via ``set_epoch``.

    Example:
        >>> loader = WindowLoader(np.zeros((10, 4, 1)), np.zeros((10, 1, 1)), batch_size=4)
        >>> len(loader), next(iter(loader))[0]["x"].shape
        (3, torch.Size([4, 4, 1]))
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | None, batch_size: int = 32,
                 shuffle: bool = False, seed: int = 0) -> None:
        self.x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        self.y = None if y is None else torch.as_tensor(np.asarray(y, dtype=np.float32))
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor | None]]:
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
            order = torch.randperm(len(self.x), generator=gen)
        else:
            order = torch.arange(len(self.x))
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            yield {"x": self.x[idx]}, (None if self.y is None else self.y[idx])


# ------------------------------------------------------------------------------ season detection


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """ACF at lags ``1..max_lag`` of a 1-D series after removing its linear trend."""
    x = np.asarray(x, dtype=np.float64).ravel()
    t = np.arange(len(x))
    residual = x - np.polyval(np.polyfit(t, x, 1), t) if len(x) > 2 else x - x.mean()
    residual = residual - residual.mean()
    denom = float(np.dot(residual, residual))
    if denom == 0.0:
        return np.zeros(max_lag)
    size = 1 << int(np.ceil(np.log2(2 * len(residual))))
    spectrum = np.fft.rfft(residual, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 1] / denom
    return acf[1:]


def detect_season(values: np.ndarray, frequency: str | None = None, max_lag: int | None = None,
                  min_acf: float = 0.2) -> int:
    """The seasonal period of a series, or 1 when there is none.

    The peak of the autocorrelation (after removing a linear trend) beyond its first zero
    crossing, up to half the series (at most 400 lags), if it exceeds ``min_acf``; a peak within 10%
    of a period that the date ``frequency`` suggests (12 for monthly, 7 or 365 for daily, ...) snaps
    to that period. Without such a peak the frequency's first period is used, else 1.

    Example:
        >>> t = np.arange(120)
        >>> detect_season(10 + t * 0.1 + np.sin(2 * np.pi * t / 12))
        12
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[:, 0] if x.ndim == 2 else x
    candidates = FREQUENCY_PERIODS.get(_frequency_key(frequency), ())
    limit = min(len(x) // 2, max_lag or 400)
    if limit >= 4:
        acf = autocorrelation(x, limit)
        negative = np.flatnonzero(acf < 0)
        if negative.size:
            lo = int(negative[0])
            peak = lo + int(np.argmax(acf[lo:]))
            if acf[peak] > min_acf:
                lag = peak + 1
                for period in candidates:
                    if abs(lag - period) <= 0.1 * period and period <= limit:
                        return period
                return lag
    usable = [p for p in candidates if 2 * p <= len(x)]
    return usable[0] if usable else 1


def _frequency_key(frequency: str | None) -> str:
    if not frequency:
        return ""
    key = frequency.lstrip("0123456789").split("-")[0]
    return key if key in FREQUENCY_PERIODS else key[:1]


__all__ = [
    "Scaler",
    "SeriesTransform",
    "valid_origins",
    "windows",
    "targets",
    "WindowLoader",
    "autocorrelation",
    "detect_season",
    "DIFFERENCING",
    "SCALERS",
]
