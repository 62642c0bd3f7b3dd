"""The figures of a fitted :class:`rnnkit.tasks.Forecaster`: the fit and test forecasts beside
the best baseline (:func:`fit_figure`), and a forecast of the future (:func:`future_figure`).

The drawing is :func:`rnnkit.viz.forecast.plot_forecast`'s; this module picks what to draw from
the model (one-step forecasts over the training part, the test part's forecasts and intervals,
the baseline with the lowest test RMSE, labelled with its display name).
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
        origins = report["origins"]
        forecast = report["forecasts"]["model"]
        parts["test"] = (origins, forecast["point"][:, 0])
        if "lower" in forecast:
            parts["interval"] = (origins, forecast["lower"][:, 0], forecast["upper"][:, 0],
                                 float(params["interval_level"]))
        if baseline is None:
            baseline = min(report["baselines"], key=lambda k: report["baselines"][k]["rmse"])
        label = BASELINE_LABELS.get(baseline, baseline)
        parts["baseline"] = (origins, report["forecasts"][baseline]["point"][:, 0], label)
        title += (f" - test RMSE {report['model']['rmse']:.4g} vs {label} "
                  f"{report['baselines'][baseline]['rmse']:.4g}")
    return plot_forecast(x_axis, data.values, data.target_names, split=test_start, title=title,
                         **parts)


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


__all__ = ["fit_figure", "future_figure"]
