"""The simple forecasts every Forecaster is compared with, and the error report in original units.

All baselines forecast ``horizon`` steps from each origin ``T`` (history ``y[:T]``) and return
``(N, horizon, C)``:

- ``persistence``: the last value, ``y[T-1]``;
- ``seasonal_naive``: the value one season back, ``y[t - m*k]`` with ``k = ceil((t - T + 1) / m)``;
- ``seasonal_drift``: seasonal naive plus ``k`` times the latest season-on-season change
  ``y[T-1] - y[T-1-m]`` (the forecast of the seasonal random walk with drift,
  ARIMA(0,1,0)(0,1,0)m);
- ``linear_ar``: a linear autoregression on the same lookback, one least-squares fit per forecast
  step (direct), with an intercept, on the log scale when the model uses log (NumPy only).

Example:
    >>> y = np.array([1., 2, 3, 4, 5, 6, 7, 8])[:, None]
    >>> persistence(y, np.array([6]), 2)[0, :, 0].tolist()
    [6.0, 6.0]
    >>> seasonal_naive(y, np.array([6]), 2, season=4)[0, :, 0].tolist()
    [3.0, 4.0]
    >>> seasonal_drift(y, np.array([6]), 2, season=4)[0, :, 0].tolist()
    [7.0, 8.0]
    >>> ar = LinearAR(lookback=2, horizon=1).fit(y[:6])
    >>> np.round(ar.predict(y, np.array([6, 7])), 6)[:, 0, 0].tolist()
    [7.0, 8.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.data.series_transforms import SeriesTransform, valid_origins, windows
from rnnkit.errors import DataError
from rnnkit.train.metrics import mae, mape, mase, rmse, smape

BASELINES = ("persistence", "seasonal_naive", "seasonal_drift", "linear_ar")
METRICS = ("rmse", "mae", "mape", "smape", "mase")
BASELINE_LABELS = {"persistence": "persistence", "seasonal_naive": "seasonal naive",
                   "seasonal_drift": "seasonal naive + drift", "linear_ar": "linear AR"}


def _check_origins(origins: np.ndarray, needed: int, what: str) -> np.ndarray:
    origins = np.asarray(origins, dtype=np.int64)
    if origins.size and origins.min() < needed:
        raise DataError(f"{what}: needs {needed} values of history before the first forecast, "
                        f"got {origins.min()}")
    return origins


def persistence(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value repeated over the horizon."""
    origins = _check_origins(origins, 1, "persistence")
    return SeriesTransform(differencing="first").reference(y, origins, horizon)


def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The value one season before each target (``season=1`` is persistence)."""
    if season < 2:
        return persistence(y, origins, horizon)
    origins = _check_origins(origins, season, "seasonal naive")
    return SeriesTransform(differencing="seasonal", season=season).reference(y, origins, horizon)


def seasonal_drift(y: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Seasonal naive plus the latest season-on-season change per season stepped back."""
    season = max(int(season), 1)
    origins = _check_origins(origins, season + 1, "seasonal naive with drift")
    if season == 1:  # a straight line through the last two values
        last = y[origins - 1][:, None, :]
        change = last - y[origins - 2][:, None, :]
        return last + np.arange(1, horizon + 1)[None, :, None] * change
    return SeriesTransform(differencing="both", season=season).reference(y, origins, horizon)


class LinearAR:
    """Least-squares autoregression ``z[T+h] ~ a_h + sum_i b_hi z[T-i]`` per target column.

    Args:
        lookback: number of lags. horizon: steps forecast directly (one fit per step).
        log: fit on ``log(y)`` (and return ``exp`` of the forecast).
    """

    def __init__(self, lookback: int, horizon: int = 1, log: bool = False) -> None:
        self.lookback = int(lookback)
        self.horizon = int(horizon)
        self.log = bool(log)
        self.coef_: np.ndarray | None = None  # (C, H, lookback + 1)

    def _z(self, y: np.ndarray) -> np.ndarray:
        return SeriesTransform(log=self.log).forward(y)

    def fit(self, y_train: np.ndarray) -> LinearAR:
        """Fit on the training rows ``(n, C)`` only."""
        z = self._z(np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1))
        origins = valid_origins(len(z), self.lookback, 0, self.horizon)
        if origins.size < 2:
            raise DataError(
                f"linear AR baseline: {len(z)} training values are too few for lookback "
                f"{self.lookback} and horizon {self.horizon}; use a smaller lookback or more data"
            )
        coef = np.zeros((z.shape[1], self.horizon, self.lookback + 1))
        for c in range(z.shape[1]):
            design = _design(windows(z[:, c:c + 1], origins, self.lookback)[..., 0])
            for h in range(self.horizon):
                coef[c, h] = np.linalg.lstsq(design, z[origins + h, c], rcond=None)[0]
        self.coef_ = coef
        return self

    def predict(self, y: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Forecasts ``(N, horizon, C)`` from the history before each origin."""
        if self.coef_ is None:
            raise DataError("linear AR baseline: call fit() first")
        origins = _check_origins(origins, self.lookback, "linear AR baseline")
        z = self._z(np.asarray(y, dtype=np.float64).reshape(len(y), -1))
        out = np.zeros((len(origins), self.horizon, z.shape[1]))
        for c in range(z.shape[1]):
            design = _design(windows(z[:, c:c + 1], origins, self.lookback)[..., 0])
            out[:, :, c] = design @ self.coef_[c].T
        return SeriesTransform(log=self.log).inverse(out)


def _design(lags: np.ndarray) -> np.ndarray:
    return np.concatenate([lags, np.ones((len(lags), 1))], axis=1)


def baseline_forecasts(
    y: np.ndarray, origins: np.ndarray, horizon: int, season: int, linear: LinearAR | None
) -> dict[str, np.ndarray]:
    """Every baseline's ``(N, horizon, C)`` forecasts, keyed by name (``linear_ar`` when given)."""
    out = {
        "persistence": persistence(y, origins, horizon),
        "seasonal_naive": seasonal_naive(y, origins, horizon, season),
        "seasonal_drift": seasonal_drift(y, origins, horizon, season),
    }
    if linear is not None:
        out["linear_ar"] = linear.predict(y, origins)
    return out


def error_report(
    actual: np.ndarray, predicted: np.ndarray, y_train: np.ndarray, season: int
) -> dict[str, float]:
    """RMSE, MAE, MAPE (%), sMAPE (%) and MASE of ``(N, H, C)`` forecasts, in original units.

    MAPE leaves out zero actual values (where it is undefined).
    Pooled over origins and steps; with several targets, the mean of the per-target numbers. MASE
    divides by the in-sample MAE of the seasonal naive forecast on ``y_train`` (lag 1 when the
    training part is shorter than two seasons).
    """
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    y_train = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
    per: dict[str, list[float]] = {k: [] for k in METRICS}
    lag = season if len(y_train) > 2 * season else 1
    for c in range(actual.shape[-1]):
        t, p = actual[..., c].ravel(), predicted[..., c].ravel()
        per["rmse"].append(rmse(t, p))
        per["mae"].append(mae(t, p))
        nonzero = t != 0  # MAPE is undefined at zero actuals (e.g. months without sunspots)
        per["mape"].append(mape(t, p, mask=nonzero) if nonzero.any() else float("nan"))
        per["smape"].append(smape(t, p))
        per["mase"].append(mase(t, p, y_train[:, c], season=lag))
    report: dict[str, Any] = {k: float(np.mean(v)) for k, v in per.items()}
    report["count"] = int(actual[..., 0].size)
    return report


__all__ = [
    "BASELINES",
    "METRICS",
    "persistence",
    "seasonal_naive",
    "seasonal_drift",
    "LinearAR",
    "baseline_forecasts",
    "error_report",
    "BASELINE_LABELS",
]
