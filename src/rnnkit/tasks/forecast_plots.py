"""The figures of a fitted :class:`rnnkit.tasks.Forecaster`: the fit and test forecasts beside
the best baseline (:func:`fit_figure`), and a forecast of the future (:func:`future_figure`).

The drawing is :func:`rnnkit.viz.forecast.plot_forecast`'s; this module picks what to draw from
the model (one-step forecasts over the training part, the test part's forecasts and intervals,
the baseline with the lowest test RMSE, labelled with its display name). The title gives the
test RMSE as the console prints it (over the whole horizon), and says what the lines drawn are
(one-step forecasts) with their own RMSE when the horizon is longer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.series import SeriesData
from rnnkit.data.series_transforms import valid_origins
from rnnkit.errors import DataError
from rnnkit.tasks.forecast_baselines import BASELINE_LABELS, LinearAR


def fit_figure(model: Any, data: SeriesData | None = None, baseline: str | None = None) -> Any:
    """The series, the one-step fit on the training part, the test forecasts (and intervals)
    and the best (or the named) baseline on the test part of ``model`` (a fitted Forecaster)."""
    from rnnkit.viz.forecast import plot_forecast

    model._require_fitted()
    data = data if data is not None else model.data_
    if data is None or model.split_ is None:
        raise DataError("plot: no series; fit first or pass data")
    train_end, test_start = model.split_
    x_axis = data.dates if data.dates is not None else np.arange(len(data))
    fit_origins = valid_origins(train_end, 0, 0, 1, start=model.history_needed)
    fit = (
        model._at_origins(data, fit_origins, 1)["point"][:, 0]
        if len(fit_origins)
        else np.zeros((0, 1))
    )
    parts: dict[str, Any] = {"train_fit": (fit_origins, fit)}
    params = model.params
    title = f"{', '.join(data.target_names)}: {params['cell'].upper()} forecaster"
    if test_start < len(data):
        resolved = model.resolved_
        linear = LinearAR(int(resolved["lookback"]), 1, bool(resolved["log"])).fit(
            data.values[:train_end]
        )
        report = model._evaluate(data, test_start, 1, data.values[:train_end], linear)
        horizon = model._horizon
        # the headline numbers are the console's: over the whole horizon (one step when h = 1)
        headline = report if horizon == 1 else model._evaluate(
            data, test_start, horizon, data.values[:train_end], model.linear_
        )
        origins = report["origins"]
        forecast = report["forecasts"]["model"]
        parts["test"] = (origins, forecast["point"][:, 0])
        if "lower" in forecast:
            parts["interval"] = (origins, forecast["lower"][:, 0], forecast["upper"][:, 0],
                                 float(params["interval_level"]))
        if baseline is None:
            baseline = min(headline["baselines"], key=lambda k: headline["baselines"][k]["rmse"])
        label = BASELINE_LABELS.get(baseline, baseline)
        parts["baseline"] = (origins, report["forecasts"][baseline]["point"][:, 0], label)
        title += "\n" + figure_subtitle(
            horizon, label, headline["model"]["rmse"], headline["baselines"][baseline]["rmse"],
            report["model"]["rmse"], report["baselines"][baseline]["rmse"],
        )
    return plot_forecast(x_axis, data.values, data.target_names, split=test_start, title=title,
                         **parts)


def figure_subtitle(horizon: int, label: str, rmse: float, baseline_rmse: float,
                    step1: float, step1_baseline: float) -> str:
    """The title line with the test RMSE as the console prints it (over the whole horizon) and,
    when the horizon is longer than one step, the one-step figures of the lines drawn.

    Example:
        >>> line = figure_subtitle(7, "linear AR", 2.766, 2.773, 2.397, 2.344)
        >>> print(*line.split("; "), sep="\\n")
        test RMSE over 7 steps 2.766 vs linear AR 2.773
        drawn: one-step forecasts (RMSE 2.397 vs 2.344)
    """
    if horizon == 1:
        return f"test RMSE (one step ahead) {rmse:.4g} vs {label} {baseline_rmse:.4g}"
    return (f"test RMSE over {horizon} steps {rmse:.4g} vs {label} {baseline_rmse:.4g}; "
            f"drawn: one-step forecasts (RMSE {step1:.4g} vs {step1_baseline:.4g})")


def future_figure(frame: pd.DataFrame, data: SeriesData, history: int = 500) -> Any:
    """The last ``history`` values of ``data`` and a ``Forecaster.forecast`` frame after them."""
    from rnnkit.viz.forecast import plot_forecast

    part = data.slice(max(0, len(data) - history))
    x = part.dates if part.dates is not None else np.arange(len(data) - len(part), len(data))
    name = data.target_names[0]
    lower = frame[f"{name}_lower"].to_numpy() if f"{name}_lower" in frame else None
    upper = frame[f"{name}_upper"].to_numpy() if f"{name}_upper" in frame else None
    future_x = (
        frame.index.to_numpy()
        if isinstance(frame.index, pd.DatetimeIndex)
        else np.asarray(frame.index)
    )
    return plot_forecast(x, part.values, data.target_names,
                         future=(future_x, frame[name].to_numpy(), lower, upper),
                         title=f"{name}: forecast of the next {len(frame)} steps")


__all__ = ["fit_figure", "figure_subtitle", "future_figure"]
