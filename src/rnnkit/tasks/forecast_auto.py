"""Automatic choices of the Forecaster, made from the training part only.

- ``season``: :func:`rnnkit.data.series_transforms.detect_season` (autocorrelation peak, snapped
  to the date frequency's period).
- ``lookback``: two seasons when that is at most 60 steps, else one season plus one step when that
  fits, else 30 steps -- never more than a quarter of the training part.
- ``differencing`` as auto.arima decides it (Hyndman & Khandakar 2008): a seasonal difference when
  the seasonal strength of the training part exceeds 0.64 *and* the seasonal naive forecast with
  drift beats persistence on it (so a long, noisy season such as 365 days of temperatures is not
  differenced); a seasonal difference always comes with a first difference (``both``: the network
  learns a correction to the seasonal naive forecast with drift); without one, a first difference
  when the KPSS test rejects level stationarity at 5%.
- ``log`` for positive series whose swings grow with the level (multiplicative): over consecutive
  blocks of one season (12 steps without a season), the correlation between the blocks' mean and
  their standard deviation after removing each block's linear trend exceeds 0.5.

For airline passengers this gives season 12, lookback 24, log, seasonal and first differences.

Example:
    >>> t = np.arange(144)
    >>> y = np.exp(4.8 + 0.01 * t + 0.15 * np.sin(2 * np.pi * t / 12))[:, None]
    >>> choice = resolve_choices(y[:96], "MS", season="auto", lookback="auto", log="auto",
    ...                          differencing="auto", horizon=1)
    >>> choice["season"], choice["lookback"], choice["log"]
    (12, 24, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.data.series_transforms import DIFFERENCING, detect_season
from rnnkit.errors import ConfigError, DataError

MAX_AUTO_LOOKBACK = 60


def auto_lookback(season: int, n_train: int) -> int:
    """The default lookback for a season and a training length (see module docstring)."""
    if season >= 2 and 2 * season <= MAX_AUTO_LOOKBACK:
        lookback = 2 * season
    elif season >= 2 and season + 1 <= MAX_AUTO_LOOKBACK:
        lookback = season + 1
    else:
        lookback = 30
    return max(1, min(lookback, n_train // 4))


def resolve_choices(
    y_train: np.ndarray,
    frequency: str | None,
    *,
    season: int | str,
    lookback: int | str,
    log: bool | str,
    differencing: str,
    horizon: int,
) -> dict[str, Any]:
    """Concrete ``season``, ``lookback``, ``log`` and ``differencing`` (``"auto"`` resolved)."""
    y_train = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
    n = len(y_train)
    m = detect_season(y_train[:, 0], frequency) if season == "auto" else _positive(season, "season")
    L = auto_lookback(m, n) if lookback == "auto" else _positive(lookback, "lookback")
    positive = bool(np.all(y_train > 0))
    if log is True and not positive:
        raise DataError("log=True: the training part has values <= 0; use log=False or 'auto'")
    if log not in (True, False, "auto"):
        raise ConfigError(f"log: expected True, False or 'auto', got {log!r}")
    if differencing != "auto" and differencing not in DIFFERENCING:
        raise ConfigError(f"differencing: expected auto, {', '.join(DIFFERENCING)}; "
                          f"got {differencing!r}")
    use_log = bool(log) if log != "auto" else positive and is_multiplicative(y_train[:, 0], m)
    z = np.log(y_train) if use_log else y_train
    diff = choose_differencing(z[:, 0], m) if differencing == "auto" else differencing
    return {"season": int(m), "lookback": int(L), "log": use_log, "differencing": diff}


def is_multiplicative(y: np.ndarray, season: int, threshold: float = 0.5) -> bool:
    """Whether a positive series' local spread grows with its level (see module docstring)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    block = season if season >= 2 else 12
    count = len(y) // block
    if count < 4 or np.any(y <= 0):
        return False
    blocks = y[len(y) - count * block:].reshape(count, block)
    t = np.arange(block)
    means = blocks.mean(axis=1)
    spreads = np.array([np.std(b - np.polyval(np.polyfit(t, b, 1), t)) for b in blocks])
    if np.std(means) == 0 or np.std(spreads) == 0:
        return False
    return bool(np.corrcoef(means, spreads)[0, 1] > threshold)


def seasonal_strength(z: np.ndarray, season: int) -> float:
    """``max(0, 1 - var(remainder) / var(seasonal + remainder))`` of a classical decomposition."""
    z = np.asarray(z, dtype=np.float64).ravel()
    m = int(season)
    if m < 2 or len(z) < 2 * m + 1:
        return 0.0
    kernel = np.ones(m) / m
    if m % 2 == 0:  # the centred 2 x m moving average of classical decomposition
        kernel = np.convolve(kernel, [0.5, 0.5])
    trend = np.convolve(z, kernel, mode="valid")
    start = (len(kernel) - 1) // 2
    detrended = z[start:start + len(trend)] - trend
    phase = (np.arange(len(detrended)) + start) % m
    means = np.array([detrended[phase == k].mean() for k in range(m)])
    seasonal = (means - means.mean())[phase]
    remainder = detrended - seasonal
    total = np.var(detrended)
    return 0.0 if total == 0 else float(max(0.0, 1.0 - np.var(remainder) / total))


def kpss_statistic(x: np.ndarray) -> float:
    """KPSS level-stationarity statistic (Newey-West lags ``int(4 (n/100)^0.25)``); 0.463 is 5%."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = len(x)
    e = x - x.mean()
    partial = np.cumsum(e)
    lags = int(4 * (n / 100) ** 0.25)
    variance = float(np.dot(e, e)) / n
    for k in range(1, min(lags, n - 1) + 1):
        variance += 2 * (1 - k / (lags + 1)) * float(np.dot(e[k:], e[:-k])) / n
    return float(np.dot(partial, partial) / (n * n * variance)) if variance > 0 else 0.0


def choose_differencing(z: np.ndarray, season: int) -> str:
    """``none``, ``first``, ``seasonal`` or ``both`` for a (log) training series (module docstring).
    """
    z = np.asarray(z, dtype=np.float64).ravel()
    m = int(season)
    seasonal = False
    if m >= 2 and len(z) >= 3 * m and seasonal_strength(z, m) > 0.64:
        # seasonal naive with drift (the forecast of a seasonally differenced random walk)
        yearly = z[m:] - z[:-m]
        drift = np.mean(np.abs(yearly[1:] - yearly[:-1]))
        last = np.mean(np.abs(z[m + 1:] - z[m:-1]))
        seasonal = bool(drift < last)
    if seasonal:
        # Always with a first difference (the airline model's d = D = 1): the network then learns
        # a correction to the seasonal naive forecast with drift, which trains far more stably.
        return "both"
    first = len(z) >= 10 and kpss_statistic(z) > 0.463
    return {(False, False): "none", (False, True): "first", (True, False): "seasonal",
            (True, True): "both"}[(seasonal, first)]


def _positive(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a positive integer or 'auto', got {value!r}") from None
    if number < 1:
        raise ConfigError(f"{name}: expected a positive integer or 'auto', got {value!r}")
    return number


__all__ = ["resolve_choices", "auto_lookback", "choose_differencing", "seasonal_strength",
           "kpss_statistic", "is_multiplicative", "MAX_AUTO_LOOKBACK"]
