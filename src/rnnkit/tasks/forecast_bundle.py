"""A :class:`rnnkit.tasks.Forecaster`'s bundle: what it writes besides the weights, and how it
reads it back.

``config.json`` keeps the resolved choices (season, lookback, log, differencing, ...) and the
network's input size; ``scaler.json`` the series transform, the input and target scalers and the
linear-AR baseline's coefficients; ``series.json`` the series itself (values, features, dates and
the train/test split), so that a loaded model forecasts, evaluates and plots without its CSV.
Everything read back is untrusted and checked (``rnnkit.io.bundle``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.series import SeriesData
from rnnkit.data.series_transforms import Scaler, SeriesTransform
from rnnkit.errors import BundleError
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.forecast_baselines import LinearAR
from rnnkit.tasks.options import MAX_WIDTH, Rule, check_options

#: The resolved choices written to metrics.json (``resolved``).
RESOLVED_KEYS = ("season", "lookback", "log", "differencing", "horizon", "mode", "frequency",
                 "batch_size", "epochs")


def bundle_config(model: Any) -> dict[str, Any]:
    """config.json's ``resolved`` and ``network`` entries of a fitted Forecaster."""
    data = model.data_
    resolved = {k: v for k, v in model.resolved_.items() if k != "candidates"}
    return {
        "resolved": {
            **resolved,
            "target_names": data.target_names,
            "feature_names": data.feature_names,
            "test_size": model._test_size(),
        },
        "network": {
            "input_size": model.resolved_["input_size"],
            "members": int(model.params["ensemble"]),
        },
    }


def bundle_state(model: Any) -> dict[str, Any]:
    """``scaler.json`` (transform, scalers, linear AR) and ``series.json`` of a fitted Forecaster.
    """
    data, linear = model.data_, model.linear_
    scaler_state = {
        "transform": model.transform_.to_dict(),
        "input": model.input_scaler_.to_dict(),
        "target": model.target_scaler_.to_dict(),
        "linear_ar": {"lookback": linear.lookback, "horizon": linear.horizon, "log": linear.log,
                      "coef": linear.coef_.tolist()},
    }
    series_state = {
        "values": data.values.tolist(), "features": data.features.tolist(),
        "dates": None if data.dates is None else [d.isoformat() for d in data.dates],
        "target_names": data.target_names, "feature_names": data.feature_names,
        "source": data.source, "split": list(model.split_),
    }
    return {"scaler": scaler_state, "series": series_state}


def restore_state(model: Any, parts: BundleParts) -> None:
    """Set a new Forecaster's fitted attributes (all but the network) from ``parts``."""
    model.resolved_ = dict(parts.section("resolved", dict))
    model.resolved_["input_size"] = parts.section("network", dict).get("input_size")
    check_options("Forecaster",
                  {k: model.resolved_.get(k) for k in ("lookback", "horizon", "season")})
    if Rule("int", 1, MAX_WIDTH).problem(model.resolved_["input_size"]) is not None:
        raise BundleError(f"bundle {parts.path}: config.json 'network' has no valid input_size; "
                          "re-save the model")
    scaler = parts.json("scaler")
    model.transform_ = SeriesTransform.from_dict(scaler["transform"])
    model.input_scaler_ = Scaler.from_dict(scaler["input"])
    model.target_scaler_ = Scaler.from_dict(scaler["target"])
    lin = scaler["linear_ar"]
    model.linear_ = LinearAR(lin["lookback"], lin["horizon"], lin["log"])
    model.linear_.coef_ = np.asarray(lin["coef"], dtype=np.float64)
    series = parts.json("series")
    dates = None if series["dates"] is None else pd.DatetimeIndex(pd.to_datetime(series["dates"]))
    model.data_ = SeriesData(np.asarray(series["values"]), np.asarray(series["features"]),
                             series["target_names"], series["feature_names"], dates,
                             series["source"])
    model.split_ = (int(series["split"][0]), int(series["split"][1]))


__all__ = ["RESOLVED_KEYS", "bundle_config", "bundle_state", "restore_state"]
