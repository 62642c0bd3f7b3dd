"""Each baseline against a hand computation, the linear AR against a known process, the report."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.errors import DataError
from rnnkit.tasks.forecast_baselines import (
    LinearAR,
    error_report,
    persistence,
    seasonal_drift,
    seasonal_naive,
)

Y = np.array([10.0, 12, 14, 11, 13, 15, 17, 14, 16, 18, 20, 17])[:, None]  # season 4, +3 a season


def test_persistence_by_hand() -> None:
    out = persistence(Y, np.array([5, 8]), 3)[:, :, 0]
    assert out.tolist() == [[13, 13, 13], [14, 14, 14]]


def test_seasonal_naive_by_hand() -> None:
    # origin 8 (history Y[:8]), steps t = 8..13: one season back, then two seasons back for t >= 12
    out = seasonal_naive(Y, np.array([8]), 6, season=4)[0, :, 0]
    assert out.tolist() == [Y[4, 0], Y[5, 0], Y[6, 0], Y[7, 0], Y[4, 0], Y[5, 0]]
    assert seasonal_naive(Y, np.array([8]), 2, season=1)[0, :, 0].tolist() == [14, 14]


def test_seasonal_drift_by_hand() -> None:
    # latest season-on-season change: Y[7] - Y[3] = 14 - 11 = 3 per season stepped back
    out = seasonal_drift(Y, np.array([8]), 6, season=4)[0, :, 0]
    assert out.tolist() == [13 + 3, 15 + 3, 17 + 3, 14 + 3, 13 + 6, 15 + 6]
    # on this series (exactly +3 a season) it is perfect one step ahead
    origins = np.arange(5, 12)
    np.testing.assert_allclose(seasonal_drift(Y, origins, 1, season=4)[:, 0], Y[origins])
    # season 1: a straight line through the last two values
    assert seasonal_drift(Y, np.array([3]), 2, season=1)[0, :, 0].tolist() == [16, 18]
    with pytest.raises(DataError, match="needs 5 values of history"):
        seasonal_drift(Y, np.array([4]), 1, season=4)


def test_linear_ar_recovers_a_known_process() -> None:
    rng = np.random.default_rng(0)
    y = np.zeros(400)
    for t in range(2, 400):
        y[t] = 1.0 + 0.6 * y[t - 1] - 0.2 * y[t - 2] + 0.01 * rng.standard_normal()
    ar = LinearAR(lookback=2, horizon=1).fit(y[:300, None])
    np.testing.assert_allclose(ar.coef_[0, 0], [-0.2, 0.6, 1.0], atol=0.05)  # lags oldest first
    origins = np.arange(300, 400)
    one_step = ar.predict(y[:, None], origins)[:, 0, 0]
    assert np.sqrt(np.mean((one_step - y[origins]) ** 2)) < 0.02
    # direct two-step fit on the log scale also runs, and inverts with exp
    logged = LinearAR(3, horizon=2, log=True).fit(np.exp(y[:300, None]))
    assert logged.predict(np.exp(y[:, None]), origins).shape == (100, 2, 1)


def test_error_report_by_hand() -> None:
    actual = np.array([[[2.0]], [[4.0]], [[0.0]]])
    predicted = np.array([[[3.0]], [[2.0]], [[1.0]]])
    train = np.array([1.0, 2.0, 4.0, 7.0])  # lag-1 in-sample MAE = (1 + 2 + 3) / 3 = 2
    report = error_report(actual, predicted, train[:, None], season=1)
    assert report["rmse"] == pytest.approx(np.sqrt((1 + 4 + 1) / 3))
    assert report["mae"] == pytest.approx(4 / 3)
    assert report["mape"] == pytest.approx(100 * (0.5 + 0.5) / 2)  # zero actual left out
    assert report["smape"] == pytest.approx(100 * (2 / 5 + 4 / 6 + 2 / 1) / 3)
    assert report["mase"] == pytest.approx((4 / 3) / 2)
    assert report["count"] == 3
