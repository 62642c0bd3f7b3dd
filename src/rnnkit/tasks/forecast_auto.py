"""Automatic choices of the Forecaster, made from the training part only.

- ``season``: :func:`rnnkit.data.series_transforms.detect_season` (autocorrelation peak, snapped
  to the date frequency's period).
- ``lookback``: two seasons when that is at most 60 steps, else one season plus one step when that
  fits, else 30 steps -- never more than a quarter of the training part.
- ``differencing`` as auto.arima decides it (Hyndman & Khandakar 2008): a seasonal difference when
  the seasonal strength of the training part exceeds 0.64 *and* the seasonal naive forecast with
  drift beats persistence on it (so a long, noisy season such as 365 days of temperatures is not differenced);
  a seasonal difference always comes with a first difference (``both``: the network learns a
  correction to the seasonal naive forecast with drift); without one, a first difference when the
  KPSS test rejects level stationarity at 5%.
- ``log`` (positive series only): for the chosen differencing, a linear autoregression on the
  lookback is fitted to the first 75% of the training part with and without log and forecasts the
  last 25% one step ahead; the lower RMSE in original units wins.

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

import itertools
from typing import Any

import numpy as np

from rnnkit.data.series_transforms import DIFFERENCING, SeriesTransform, detect_season, valid_origins, windows
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
        raise ConfigError(f"differencing: expected auto, {', '.join(DIFFERENCING)}; got {differencing!r}")
    logs = [True, False] if log == "auto" and positive else [bool(log) and positive]
    if differencing == "auto":
        z = np.log(y_train) if positive and log != False else y_train  # noqa: E712
        diffs = [choose_differencing(z[:, 0], m)]
    else:
        diffs = [differencing]
    candidates = list(itertools.product(logs, diffs))
    scores = {}
    if len(candidates) > 1:
        for cand in candidates:
            scores[cand] = _validation_rmse(y_train, L, m, *cand)
        finite = {k: v for k, v in scores.items() if np.isfinite(v)}
        best = min(finite, key=finite.__getitem__) if finite else (False, "none" if m < 2 else "first")
    else:
        best = candidates[0]
    return {"season": int(m), "lookback": int(L), "log": bool(best[0]), "differencing": best[1],
            "candidates": {f"log={k[0]},differencing={k[1]}": float(v) for k, v in scores.items()}}


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
    """``none``, ``first``, ``seasonal`` or ``both`` for a (log) training series (module docstring)."""
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


def _validation_rmse(y: np.ndarray, lookback: int, season: int, log: bool, differencing: str) -> float:
    """One-step RMSE of a linear AR on the transformed windows over the last 25% of ``y``."""
    transform = SeriesTransform(log, differencing, season)
    z = transform.forward(y)
    w = transform.inputs(z)
    split = int(len(y) * 0.75)
    fit_origins = valid_origins(len(y), lookback, transform.offset, 1, stop=split)
    test_origins = valid_origins(len(y), lookback, transform.offset, 1, start=split)
    if len(fit_origins) < lookback + 2 or len(test_origins) == 0:
        return float("inf")
    errors = []
    for c in range(y.shape[1]):
        def design(origins: np.ndarray, c: int = c) -> np.ndarray:
            lags = windows(w[:, c:c + 1], origins, lookback)[..., 0]
            return np.concatenate([lags, np.ones((len(lags), 1))], axis=1)

        ref_fit = transform.reference(z, fit_origins, 1)[:, 0, c]
        coef = np.linalg.lstsq(design(fit_origins), z[fit_origins, c] - ref_fit, rcond=None)[0]
        ref = transform.reference(z, test_origins, 1)[:, 0, c]
        pred = transform.inverse((design(test_origins) @ coef + ref)[:, None])[:, 0]
        errors.append(float(np.sqrt(np.mean((y[test_origins, c] - pred) ** 2))))
    return float(np.mean(errors))


__all__ = ["resolve_choices", "auto_lookback", "choose_differencing", "seasonal_strength",
           "kpss_statistic", "MAX_AUTO_LOOKBACK"]
