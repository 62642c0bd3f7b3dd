"""Forecaster: beats persistence on a seasonal series, uses feature columns, intervals, modes,
bundle round trip and the plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rnnkit
from rnnkit.data.series import SeriesData
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import Forecaster

FAST = dict(ensemble=2, epochs=40, hidden_size=8, verbose=0)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def seasonal_model(tmp_path_factory):
    from series_helpers import seasonal_series

    dates = pd.date_range("2000-01-01", periods=120, freq="MS")
    data = SeriesData.from_arrays(seasonal_series(120), dates=dates, target_names=["sales"])
    model = Forecaster(**FAST).fit(data, test_size=0.25)
    path = model.save(tmp_path_factory.mktemp("series") / "bundle")
    return model, path


def test_forecast_on_seasonal_series_beats_persistence(seasonal_model) -> None:
    model, _ = seasonal_model
    # two seasons (24) capped at a quarter of the 90 training values
    assert model.resolved_["season"] == 12 and model.resolved_["lookback"] == 22
    test, base = model.metrics_["test"], model.metrics_["baselines"]
    assert set(base) == {"persistence", "seasonal_naive", "seasonal_drift", "linear_ar"}
    assert set(test) >= {"rmse", "mae", "mape", "smape", "mase"} and test["count"] == 30
    assert test["rmse"] < 0.5 * base["persistence"]["rmse"]
    assert test["rmse"] < base["seasonal_naive"]["rmse"]


def test_forecast_from_the_end_has_future_dates(seasonal_model) -> None:
    model, _ = seasonal_model
    frame = model.forecast(14)
    assert list(frame.columns) == ["sales"] and len(frame) == 14
    assert frame.index[0] == pd.Timestamp("2010-01-01") and frame.index[-1] == pd.Timestamp(
        "2011-02-01"
    )
    # the seasonal shape continues: the forecast follows next year's sine
    t = np.arange(120, 134)
    expected = 50 + 0.3 * t + 8 * np.sin(2 * np.pi * t / 12)
    assert np.sqrt(np.mean((frame["sales"].to_numpy() - expected) ** 2)) < 4.0


def test_bundle_round_trip_and_rnnkit_load(seasonal_model) -> None:
    model, path = seasonal_model
    loaded = rnnkit.load(path)
    assert isinstance(loaded, Forecaster)
    history = model.data_.values[:100]
    np.testing.assert_allclose(loaded.predict(history), model.predict(history), rtol=1e-6)
    pd.testing.assert_frame_equal(loaded.forecast(5), model.forecast(5))
    assert (
        loaded.resolved_["season"] == 12
        and loaded.metrics_["test"]["rmse"] == model.metrics_["test"]["rmse"]
    )
    scaler = (path / "scaler.json").read_text()
    assert '"transform"' in scaler and '"shift"' in scaler  # scaler state is JSON, not pickle
    assert (path / "forecast.png").read_bytes().startswith(PNG)
    assert (path / "curves.png").read_bytes().startswith(PNG)


def test_plot_shows_series_fit_test_and_baseline(seasonal_model, tmp_path) -> None:
    from rnnkit.viz import save_figure

    model, _ = seasonal_model
    fig = model.plot()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[:3] == ["sales", "training fit (one step)", "test forecast"]
    assert labels[3].startswith("baseline: ")
    assert len(fig.axes) == 2  # the series and the test errors
    out = save_figure(model.plot_future(model.forecast(12)), tmp_path / "future.png")
    assert out.read_bytes().startswith(PNG)


def test_multivariate_feature_column_carries_the_signal() -> None:
    rng = np.random.default_rng(3)
    n = 400
    x = rng.standard_normal(n)
    y = np.zeros(n)
    y[1:] = 3.0 * x[:-1] + 0.1 * rng.standard_normal(n - 1)  # y follows yesterday's x
    data = SeriesData.from_arrays(y, features=x, target_names=["y"], feature_names=["x"])
    options = dict(ensemble=1, epochs=40, hidden_size=8, lookback=4, season=1, verbose=0)
    with_x = Forecaster(**options).fit(data, test_size=0.25)
    without_x = Forecaster(**options).fit(y, test_size=0.25)
    rmse = with_x.metrics_["test"]["rmse"]
    assert rmse < 0.3 * without_x.metrics_["test"]["rmse"]
    assert rmse < 0.3 * with_x.metrics_["baselines"]["persistence"]["rmse"]
    assert with_x.forecast(1).shape == (1, 1)
    with pytest.raises(ConfigError, match="feature columns"):
        with_x.forecast(3)


def test_direct_and_recursive_horizons_and_backtest(make_seasonal) -> None:
    y = make_seasonal(100)
    direct = Forecaster(horizon=3, ensemble=1, epochs=20, verbose=0).fit(y, test_size=0.3)
    recursive = Forecaster(horizon=3, mode="recursive", ensemble=1, epochs=20, verbose=0).fit(
        y, test_size=0.3
    )
    for model in (direct, recursive):
        assert model.predict(y[:70]).shape == (3,)
        assert len(model.metrics_["test"]["rmse_by_step"]) == 3
        assert model.metrics_["evaluation"] == "averaged over 3 steps"
    assert direct.model_.members[0].head.out_features == 3
    assert recursive.model_.members[0].head.out_features == 1
    result = direct.backtest(steps=5)
    assert result["one_step"]["steps"] == 1 and result["multi_step"]["steps"] == 5
    assert result["one_step"]["origins"] == 30 and result["multi_step"]["origins"] == 26
    assert set(result["multi_step"]["baselines"]) == {"persistence", "seasonal_naive",
                                                      "seasonal_drift", "linear_ar"}


@pytest.mark.parametrize("intervals", ["quantile", "mc_dropout"])
def test_prediction_intervals_and_coverage(make_seasonal, intervals) -> None:
    y = make_seasonal(100, noise=1.0)
    model = Forecaster(intervals=intervals, ensemble=1, epochs=30, mc_samples=20, verbose=0).fit(
        y, test_size=0.3
    )
    test = model.metrics_["test"]
    assert 0.0 <= test["coverage"] <= 1.0 and test["interval_level"] == 0.8
    frame = model.forecast(4)
    assert list(frame.columns) == ["y", "y_lower", "y_upper"]
    assert np.all(frame["y_lower"] <= frame["y"]) and np.all(frame["y"] <= frame["y_upper"])


def test_too_short_and_bad_options() -> None:
    with pytest.raises(DataError, match="too short for lookback 30"):
        Forecaster(lookback=30, season=1, verbose=0).fit(np.arange(1.0, 41.0), test_size=0.2)
    with pytest.raises(DataError, match="only 4 training values"):
        Forecaster().fit(np.arange(1.0, 7.0), test_size=0.33)
    with pytest.raises(TypeError, match="window"):
        Forecaster(window=3)
    with pytest.raises(ConfigError, match="mode"):
        Forecaster(mode="sideways").fit(np.arange(1.0, 41.0))
    with pytest.raises(ConfigError, match="not fitted"):
        Forecaster().forecast(3)
