"""``Forecaster``: forecast a (multivariate) time series with a recurrent network, always beside
simple baselines.

Pipeline (every choice fitted on the training part only): optional log -> differencing -> scaling
-> windows of ``lookback`` steps -> an ensemble of small LSTMs with a linear skip
(:class:`ForecastNetwork`) that forecasts all ``horizon`` steps at once (``mode="direct"``) or one
step at a time fed back (``mode="recursive"``) -> inverse scaling, reference forecast, exp.

``fit`` holds out the last ``test_size`` of the series, trains on the rest and reports RMSE, MAE,
MAPE, sMAPE and MASE in original units on the test part, one step ahead (averaged over the horizon
when ``horizon > 1``), for the model and for the baselines of :mod:`rnnkit.tasks.forecast_baselines`
on exactly the same origins.

Example:
    >>> import numpy as np
    >>> from rnnkit.tasks import Forecaster
    >>> t = np.arange(120)
    >>> y = 50 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12)
    >>> model = Forecaster(ensemble=1, epochs=30).fit(y, test_size=0.2)
    >>> model.resolved_["season"], sorted(model.metrics_["baselines"])
    (12, ['linear_ar', 'persistence', 'seasonal_drift', 'seasonal_naive'])
    >>> model.metrics_["test"]["rmse"] < model.metrics_["baselines"]["persistence"]["rmse"]
    True
    >>> model.forecast(3).shape
    (3, 1)
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnkit.data.series import SeriesData, chronological_split
from rnnkit.data.series_transforms import (
    Scaler,
    SeriesTransform,
    WindowLoader,
    targets,
    valid_origins,
    windows,
)
from rnnkit.errors import BundleError, ConfigError, DataError
from rnnkit.io import check_bundle_target, register_task, save_bundle
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.defaults import FORECAST_DEFAULTS, FORECAST_TASK
from rnnkit.tasks.forecast_auto import resolve_choices
from rnnkit.tasks.forecast_baselines import (
    BASELINE_LABELS,
    LinearAR,
    baseline_forecasts,
    error_report,
)
from rnnkit.tasks.forecast_model import ForecastNetwork, forecast_loss
from rnnkit.tasks.loadable import LoadableFromBundle
from rnnkit.tasks.options import MAX_WIDTH, Rule, check_options, with_defaults
from rnnkit.train import EarlyStopping, History, Trainer

MODES = ("direct", "recursive")
INTERVALS = (None, "quantile", "mc_dropout")
#: About this many optimizer steps when ``epochs="auto"`` (10 to 300 epochs).
AUTO_STEPS = 800


class Forecaster(LoadableFromBundle):
    """A recurrent forecaster with the verbs of a scikit-learn estimator.

    Args (keyword, defaults in ``FORECAST_DEFAULTS``):
        lookback: window length, or "auto" (two seasons up to 60 steps, see ``forecast_auto``).
        horizon: steps forecast from each origin. mode: ``direct`` (all steps at once) or
            ``recursive`` (one step, fed back). stride: steps between training windows.
        season: seasonal period or "auto". log: True, False or "auto". differencing: ``none``,
            ``first``, ``seasonal``, ``both`` or "auto". scaler: ``standard``, ``minmax``, ``none``.
        cell (``lstm``, ``gru``, ``rnn``), hidden_size, num_layers, bidirectional, dropout,
        linear_skip, ensemble (networks averaged): the network.
        intervals: None, ``quantile`` (pinball loss) or ``mc_dropout`` (dropout kept on at
            prediction, ``mc_samples`` passes); ``interval_level`` e.g. 0.8 for 10%..90%.
        batch_size, epochs ("auto": about 800 steps), optimizer, lr, weight_decay, clip_norm,
        validation_size (fraction before the test part, for early stopping with ``patience``),
        time_budget (seconds), seed, verbose: training.

    Attributes after ``fit``: ``resolved_`` (the concrete season, lookback, log, differencing),
    ``model_``, ``history_``, ``metrics_``, ``data_`` (the series), ``split_`` (train end, test
    start).
    """

    task = FORECAST_TASK

    def __init__(self, **params: Any) -> None:
        self.params = with_defaults("Forecaster", params, FORECAST_DEFAULTS)
        p = self.params
        if p["mode"] not in MODES:
            raise ConfigError(f"mode: expected direct or recursive, got {p['mode']!r}")
        if p["intervals"] not in INTERVALS:
            raise ConfigError(f"intervals: expected None, 'quantile' or 'mc_dropout', got {p['intervals']!r}")
        self.resolved_: dict[str, Any] = {}
        self.model_: ForecastNetwork | None = None
        self.history_: History | None = None
        self.metrics_: dict[str, Any] = {}
        self.data_: SeriesData | None = None
        self.split_: tuple[int, int] | None = None
        self.transform_: SeriesTransform | None = None
        self.input_scaler_: Scaler | None = None
        self.target_scaler_: Scaler | None = None
        self.linear_: LinearAR | None = None

    # ------------------------------------------------------------------ properties
    @property
    def horizon(self) -> int:
        return int(self.params["horizon"])

    @property
    def net_horizon(self) -> int:
        """Steps the network emits: ``horizon`` (direct) or 1 (recursive)."""
        return 1 if self.params["mode"] == "recursive" else self.horizon

    @property
    def quantile_levels(self) -> tuple[float, float]:
        level = float(self.params["interval_level"])
        return ((1 - level) / 2, (1 + level) / 2)

    @property
    def history_needed(self) -> int:
        """Values of history a forecast needs: lookback + rows lost to differencing."""
        self._require_fitted()
        return int(self.resolved_["lookback"]) + self.transform_.offset  # type: ignore[union-attr]

    # ------------------------------------------------------------------ fitting
    def fit(self, data: Any, test_size: float = 0.33, test_start: Any = None,
            features: Any = None, dates: Any = None) -> Forecaster:
        """Train on the series before the test part and report errors on the test part.

        Args:
            data: a :class:`SeriesData`, or an array ``(n,)`` / ``(n, C)`` of target values
                (then ``features`` ``(n, F)`` and ``dates`` may be given).
            test_size: fraction (or row count) of the end held out; 0 trains on everything and
                reports nothing. test_start: a date or row index instead.
        """
        check_options(type(self).__name__, self.params)
        started = time.perf_counter()
        data = _as_series(data, features, dates)
        p = self.params
        train_end, test_start_row = chronological_split(
            len(data), test_size, float(p["validation_size"]), test_start, data.dates)
        self.data_, self.split_ = data, (train_end, test_start_row)
        date_column = None if data.dates is None else data.dates.name
        y_train = data.values[:train_end]
        if len(y_train) < 8:
            raise DataError(f"{data.source}: only {len(y_train)} training values; give a longer series or a smaller test part")
        choice = resolve_choices(
            y_train, data.frequency, season=p["season"], lookback=p["lookback"], log=p["log"],
            differencing=p["differencing"], horizon=self.horizon)
        self.resolved_ = {**choice, "frequency": data.frequency, "horizon": self.horizon, "mode": p["mode"],
                          "test_size": float(test_size), "date_column": date_column,
                          "target_names": list(data.target_names), "feature_names": list(data.feature_names)}
        self.transform_ = SeriesTransform(choice["log"], choice["differencing"], choice["season"])
        if p["mode"] == "recursive" and data.features.shape[1] and self.horizon > 1:
            raise ConfigError("mode='recursive' cannot use feature columns (their future values are unknown); use mode='direct'")
        lookback, offset = choice["lookback"], self.transform_.offset
        origins = valid_origins(train_end, lookback, offset, self.net_horizon, stride=int(p["stride"]))
        if len(origins) < 2:
            raise DataError(
                f"{data.source}: the training part ({train_end} values) is too short for lookback {lookback}"
                f"{f' after differencing ({offset} values)' if offset else ''} and horizon {self.net_horizon}; "
                "use a smaller --lookback or --horizon, or a smaller test part"
            )
        z = self.transform_.forward(data.values)
        inputs = np.concatenate([self.transform_.inputs(z), data.features], axis=1)
        self.input_scaler_ = Scaler(p["scaler"]).fit(inputs[offset:train_end])
        scaled = self.input_scaler_.transform(inputs)
        residual = self._residual_targets(z, origins)
        self.target_scaler_ = Scaler(p["scaler"]).fit(residual.reshape(len(origins), -1))
        x_train = windows(scaled, origins, lookback)
        y_train_scaled = self.target_scaler_.transform(residual.reshape(len(origins), -1)).reshape(residual.shape)
        self.linear_ = LinearAR(lookback, self.horizon, choice["log"]).fit(y_train)
        self._train(x_train, y_train_scaled, scaled, z, train_end, test_start_row)
        self.metrics_ = {"train_seconds": time.perf_counter() - started,
                         "epochs_run": len(self.history_ or []), "resolved": self._resolved_json(),
                         "split": {"train_end": train_end, "test_start": test_start_row, "rows": len(data)}}
        if test_start_row < len(data):
            self.metrics_.update(self._test_report(data, test_start_row))
        return self

    def _residual_targets(self, z: np.ndarray, origins: np.ndarray) -> np.ndarray:
        assert self.transform_ is not None
        h = self.net_horizon
        return targets(z, origins, h) - self.transform_.reference(z, origins, h)

    def _train(self, x: np.ndarray, y: np.ndarray, scaled: np.ndarray, z: np.ndarray,
               train_end: int, test_start: int) -> None:
        p = self.params
        n_windows = len(x)
        batch_size = (16 if n_windows < 500 else 64) if p["batch_size"] == "auto" else int(p["batch_size"])
        batches = math.ceil(n_windows / batch_size)
        epochs = (min(300, max(10, math.ceil(AUTO_STEPS / batches))) if p["epochs"] == "auto"
                  else int(p["epochs"]))
        self.resolved_.update({"batch_size": batch_size, "epochs": epochs})
        val_loader = None
        if test_start > train_end:
            val_origins = valid_origins(test_start, self.resolved_["lookback"], self.transform_.offset,  # type: ignore[union-attr]
                                        self.net_horizon, start=train_end)
            if len(val_origins):
                res = self._residual_targets(z, val_origins)
                res = self.target_scaler_.transform(res.reshape(len(val_origins), -1)).reshape(res.shape)  # type: ignore[union-attr]
                val_loader = WindowLoader(windows(scaled, val_origins, self.resolved_["lookback"]), res, 256)
        torch.manual_seed(int(p["seed"]))
        self.model_ = self._checked_network()
        quantiles = self.quantile_levels if p["intervals"] == "quantile" else ()
        callbacks = []
        if val_loader is not None and p["patience"]:
            callbacks.append(EarlyStopping("val_loss", patience=int(p["patience"]), restore_best_weights=True))
        trainer = Trainer(
            loss=forecast_loss(quantiles), optimizer=p["optimizer"], lr=float(p["lr"]),
            weight_decay=float(p["weight_decay"]), clip_norm=p["clip_norm"], metrics=(),
            callbacks=callbacks, seed=int(p["seed"]), verbose=int(p["verbose"]),
        )
        loader = WindowLoader(x, y, batch_size, shuffle=True, seed=int(p["seed"]))
        with single_thread():
            self.history_ = trainer.fit(self.model_, loader, validation_data=val_loader, epochs=epochs,
                                        time_budget=p["time_budget"])
        self.model_.eval()

    def _build_network(self) -> ForecastNetwork:
        p = self.params
        assert self.data_ is not None or self.resolved_
        dropout = float(p["dropout"])
        if p["intervals"] == "mc_dropout" and dropout == 0.0:
            dropout = 0.2  # Monte-Carlo dropout needs some dropout to sample from
        return ForecastNetwork(
            input_size=int(self.resolved_["input_size"]) if "input_size" in self.resolved_ else self._input_size(),
            lookback=int(self.resolved_["lookback"]), horizon=self.net_horizon,
            targets=len(self._target_names()), quantiles=3 if p["intervals"] == "quantile" else 1,
            cell=p["cell"], hidden_size=int(p["hidden_size"]), num_layers=int(p["num_layers"]),
            bidirectional=bool(p["bidirectional"]), dropout=dropout,
            linear_skip=bool(p["linear_skip"]), members=int(p["ensemble"]),
        )

    def _input_size(self) -> int:
        assert self.data_ is not None
        size = self.data_.values.shape[1] + self.data_.features.shape[1]
        self.resolved_["input_size"] = size
        return size

    def _target_names(self) -> list[str]:
        if self.data_ is not None:
            return self.data_.target_names
        return list(self.resolved_.get("target_names", ["y"]))

    # ------------------------------------------------------------------ inference core
    def _require_fitted(self) -> ForecastNetwork:
        if self.model_ is None or self.transform_ is None:
            raise ConfigError("this Forecaster is not fitted yet; call fit() or load() first")
        return self.model_

    def _network(self, x: np.ndarray) -> np.ndarray:
        """Scaled residual forecasts ``(N, S, H, C, Q)``: S = members, or samples x members."""
        model = self._require_fitted()
        tensor = torch.as_tensor(np.asarray(x, dtype=np.float32))
        if self.params["intervals"] == "mc_dropout":
            outputs = [self._forward(model, tensor, dropout=False)]
            for i in range(int(self.params["mc_samples"])):
                torch.manual_seed(int(self.params["seed"]) * 7919 + i)
                outputs.append(self._forward(model, tensor, dropout=True))
            return np.concatenate(outputs, axis=1)
        return self._forward(model, tensor, dropout=False)

    @staticmethod
    def _forward(model: ForecastNetwork, tensor: torch.Tensor, dropout: bool) -> np.ndarray:
        model.eval()
        if dropout:
            for module in model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.train()
        with torch.inference_mode(), single_thread():
            chunks = [model(tensor[i:i + 1024]).double().numpy() for i in range(0, len(tensor), 1024)]
        model.eval()
        return np.concatenate(chunks) if chunks else np.zeros((0,))

    def _step(self, zbuf: np.ndarray, fbuf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """One network call from buffers ``zbuf (t, N, C)``, ``fbuf (t, N, F)`` ending at the origin.

        Returns z-space ``point (N, h, C)``, the residual samples, and lower/upper or None.
        """
        assert self.transform_ is not None and self.input_scaler_ is not None and self.target_scaler_ is not None
        t, n, c = zbuf.shape
        lookback, h = int(self.resolved_["lookback"]), self.net_horizon
        flat = zbuf.reshape(t, n * c)
        w = self.transform_.inputs(flat).reshape(t, n, c)
        ref = self.transform_.reference(flat, np.array([t]), h).reshape(h, n, c).transpose(1, 0, 2)
        inputs = np.concatenate([w[t - lookback:], fbuf[t - lookback:]], axis=2).transpose(1, 0, 2)
        x = self.input_scaler_.transform(inputs)
        raw = self._network(x)  # (N, S, h, C, Q)
        shape = raw.shape
        res = self.target_scaler_.inverse_transform(
            raw.transpose(0, 1, 4, 2, 3).reshape(-1, h * c)).reshape(shape[0], shape[1], shape[4], h, c)
        members = int(self.params["ensemble"])
        point = res[:, :members, 0].mean(axis=1) + ref
        lower = upper = None
        if self.params["intervals"] == "quantile":
            lower = res[:, :members, 1].mean(axis=1) + ref
            upper = res[:, :members, 2].mean(axis=1) + ref
        elif self.params["intervals"] == "mc_dropout":
            samples = res[:, members:, 0] + ref[:, None]
            lo, hi = self.quantile_levels
            lower, upper = np.quantile(samples, lo, axis=1), np.quantile(samples, hi, axis=1)
        return point, ref, lower, upper

    def _forecast_buffers(self, zbuf: np.ndarray, fbuf: np.ndarray, steps: int) -> dict[str, np.ndarray]:
        """Forecast ``steps`` values after each column of the buffers, in original units."""
        assert self.transform_ is not None
        h = self.net_horizon
        if fbuf.shape[2] and steps > h:
            raise ConfigError(
                f"steps={steps} is more than the horizon ({h}) and the model uses feature columns, "
                "whose future values are unknown; forecast at most horizon steps"
            )
        points, lowers, uppers = [], [], []
        done = 0
        while done < steps:
            point, _, lower, upper = self._step(zbuf, fbuf)
            take = min(h, steps - done)
            points.append(point[:, :take])
            if lower is not None and upper is not None:
                lowers.append(np.minimum(lower, point)[:, :take])
                uppers.append(np.maximum(upper, point)[:, :take])
            zbuf = np.concatenate([zbuf, point[:, :take].transpose(1, 0, 2)], axis=0)
            fbuf = np.concatenate([fbuf, np.zeros((take, *fbuf.shape[1:]))], axis=0)
            done += take
        inv = self.transform_.inverse
        out = {"point": inv(np.concatenate(points, axis=1))}
        if lowers:
            out["lower"] = inv(np.concatenate(lowers, axis=1))
            out["upper"] = inv(np.concatenate(uppers, axis=1))
        return out

    def _at_origins(self, data: SeriesData, origins: np.ndarray, steps: int) -> dict[str, np.ndarray]:
        """Forecasts ``(N, steps, C)`` from each origin, using the actual history before it."""
        assert self.transform_ is not None
        need = self.history_needed
        index = np.asarray(origins)[None, :] + np.arange(-need, 0)[:, None]
        z = self.transform_.forward(data.values)
        return self._forecast_buffers(z[index], data.features[index], steps)

    # ------------------------------------------------------------------ public inference
    def predict(self, history: Any, features: Any = None) -> np.ndarray:
        """The next ``horizon`` values after ``history`` (original units): ``(horizon,)`` for one
        target, else ``(horizon, C)``. ``history`` needs at least ``history_needed`` values."""
        self._require_fitted()
        data = _as_series(history, features, None)
        self._check_compatible(data)
        if len(data) < self.history_needed:
            raise DataError(f"history: {len(data)} values given, {self.history_needed} needed (lookback + differencing)")
        out = self._at_origins(data, np.array([len(data)]), self.horizon)["point"][0]
        return out[:, 0] if out.shape[1] == 1 else out

    def forecast(self, steps: int | None = None, data: SeriesData | None = None) -> pd.DataFrame:
        """Forecast ``steps`` (default ``horizon``) values after the end of the series.

        The series is the one given to ``fit`` (or ``data``). Returns a DataFrame indexed by the
        future dates (or row numbers) with one column per target, plus ``<target>_lower`` and
        ``<target>_upper`` when the model has intervals.
        """
        self._require_fitted()
        data = data if data is not None else self.data_
        if data is None:
            raise DataError("forecast: no series; pass data=")
        self._check_compatible(data)
        steps = self.horizon if steps is None else int(steps)
        if steps < 1:
            raise ConfigError(f"steps: must be >= 1, got {steps}")
        if len(data) < self.history_needed:
            raise DataError(f"the series has {len(data)} values, {self.history_needed} are needed")
        result = self._at_origins(data, np.array([len(data)]), steps)
        frame = pd.DataFrame(index=future_index(data, steps))
        for c, name in enumerate(data.target_names):
            frame[name] = result["point"][0, :, c]
            if "lower" in result:
                frame[f"{name}_lower"] = result["lower"][0, :, c]
                frame[f"{name}_upper"] = result["upper"][0, :, c]
        return frame

    def _check_compatible(self, data: SeriesData) -> None:
        want_c = len(self.resolved_.get("target_names", data.target_names))
        want_f = int(self.resolved_.get("input_size", data.values.shape[1] + data.features.shape[1])) - want_c
        if data.values.shape[1] != want_c or data.features.shape[1] != want_f:
            raise DataError(
                f"the series has {data.values.shape[1]} target and {data.features.shape[1]} feature columns; "
                f"the model was trained with {want_c} and {want_f}"
            )

    # ------------------------------------------------------------------ evaluation
    def _train_rows(self, data: SeriesData) -> int:
        if self.split_ is not None and self.data_ is not None and len(data) == len(self.data_):
            return self.split_[0]
        return chronological_split(len(data), self._test_size())[0]

    def _test_size(self) -> float:
        return float(self.resolved_.get("test_size", 0.33))

    def _evaluate(self, data: SeriesData, start: int, steps: int, y_train: np.ndarray,
                  linear: LinearAR | None) -> dict[str, Any]:
        """Model and baselines over the origins whose ``steps`` targets lie in ``[start, n)``."""
        m = int(self.resolved_["season"])
        first = max(start, self.history_needed, m + 1, int(self.resolved_["lookback"]))
        origins = valid_origins(len(data), 0, 0, steps, start=first)
        if len(origins) == 0:
            raise DataError(
                f"{data.source}: the test part has no complete window of {steps} step(s) after "
                f"{self.history_needed} values of history; use a longer series or a larger test part"
            )
        actual = targets(data.values, origins, steps)
        result = self._at_origins(data, origins, steps)
        report: dict[str, Any] = {"model": error_report(actual, result["point"], y_train, m)}
        if "lower" in result:
            inside = (actual >= result["lower"]) & (actual <= result["upper"])
            report["model"]["coverage"] = float(inside.mean())
            report["model"]["interval_level"] = float(self.params["interval_level"])
        forecasts = baseline_forecasts(data.values, origins, steps, m, linear)
        report["baselines"] = {k: error_report(actual, v, y_train, m) for k, v in forecasts.items()}
        report["origins"] = origins
        report["forecasts"] = {"model": result, **{k: {"point": v} for k, v in forecasts.items()}}
        report["actual"] = actual
        if steps > 1:
            report["model"]["rmse_by_step"] = [float(np.sqrt(np.nanmean((actual[:, s] - result["point"][:, s]) ** 2)))
                                               for s in range(steps)]
        return report

    def _test_report(self, data: SeriesData, start: int) -> dict[str, Any]:
        train_rows = self.split_[0] if self.split_ else start
        report = self._evaluate(data, start, self.horizon, data.values[:train_rows], self.linear_)
        self._last_eval = report
        return {
            "test": report["model"],
            "baselines": report["baselines"],
            "evaluation": "one-step-ahead" if self.horizon == 1 else f"averaged over {self.horizon} steps",
            "test_origins": int(len(report["origins"])),
        }

    def evaluate(self, data: Any = None, test_size: float | None = None) -> dict[str, Any]:
        """Model and baseline errors over the test part of ``data`` (default: the fitted series)."""
        self._require_fitted()
        data = self.data_ if data is None else _as_series(data, None, None)
        if data is None:
            raise DataError("evaluate: no series; pass data")
        self._check_compatible(data)
        start = chronological_split(len(data), test_size if test_size is not None else self._test_size())[1]
        if test_size is None and self.split_ is not None and self.data_ is not None and len(data) == len(self.data_):
            start = self.split_[1]
        report = self._evaluate(data, start, self.horizon, data.values[:self._train_rows(data)], self.linear_)
        return {"test": report["model"], "baselines": report["baselines"], "test_origins": int(len(report["origins"]))}

    def backtest(self, data: Any = None, steps: int | None = None, test_size: float | None = None) -> dict[str, Any]:
        """Rolling-origin evaluation over the test part: one step ahead and ``steps`` ahead.

        Every origin in the test part forecasts from the actual history before it (the model is not
        refitted). Returns ``{"one_step": {...}, "multi_step": {...}}``, each with the model's and
        the baselines' errors; ``multi_step`` adds the model's RMSE per step.
        """
        self._require_fitted()
        data = self.data_ if data is None else _as_series(data, None, None)
        if data is None:
            raise DataError("backtest: no series; pass data")
        self._check_compatible(data)
        steps = self.horizon if steps is None else int(steps)
        if test_size is None and self.split_ is not None and self.data_ is not None and len(data) == len(self.data_):
            start = self.split_[1]
        else:
            start = chronological_split(len(data), test_size if test_size is not None else self._test_size())[1]
        train_rows = min(self._train_rows(data), start)
        y_train = data.values[:train_rows]
        lookback, log = int(self.resolved_["lookback"]), bool(self.resolved_["log"])
        out: dict[str, Any] = {}
        for name, k in (("one_step", 1), ("multi_step", max(steps, 1))):
            linear = LinearAR(lookback, k, log).fit(y_train)
            report = self._evaluate(data, start, k, y_train, linear)
            out[name] = {"steps": k, "origins": int(len(report["origins"])), "model": report["model"],
                         "baselines": report["baselines"]}
        return out

    # ------------------------------------------------------------------ plots
    def plot(self, data: SeriesData | None = None, baseline: str | None = None) -> Any:
        """The series, the one-step fit on the training part, the test forecasts (and intervals)
        and the best baseline on the test part, as a matplotlib Figure."""
        from rnnkit.viz.forecast import plot_forecast

        self._require_fitted()
        data = data if data is not None else self.data_
        if data is None or self.split_ is None:
            raise DataError("plot: no series; fit first or pass data")
        train_end, test_start = self.split_
        x_axis = data.dates if data.dates is not None else np.arange(len(data))
        fit_origins = valid_origins(train_end, 0, 0, 1, start=self.history_needed)
        fit = self._at_origins(data, fit_origins, 1)["point"][:, 0] if len(fit_origins) else np.zeros((0, 1))
        parts: dict[str, Any] = {"train_fit": (fit_origins, fit)}
        title = f"{', '.join(data.target_names)}: {self.params['cell'].upper()} forecaster"
        if test_start < len(data):
            report = self._evaluate(data, test_start, 1, data.values[:train_end], LinearAR(
                int(self.resolved_["lookback"]), 1, bool(self.resolved_["log"])).fit(data.values[:train_end]))
            origins = report["origins"]
            model = report["forecasts"]["model"]
            parts["test"] = (origins, model["point"][:, 0])
            if "lower" in model:
                parts["interval"] = (origins, model["lower"][:, 0], model["upper"][:, 0],
                                     float(self.params["interval_level"]))
            if baseline is None:
                baseline = min(report["baselines"], key=lambda k: report["baselines"][k]["rmse"])
            parts["baseline"] = (origins, report["forecasts"][baseline]["point"][:, 0], baseline)
            title += (f" - test RMSE {report['model']['rmse']:.4g} vs {BASELINE_LABELS.get(baseline, baseline)} "
                      f"{report['baselines'][baseline]['rmse']:.4g}")
        return plot_forecast(x_axis, data.values, data.target_names, split=test_start, title=title, **parts)

    def plot_future(self, frame: pd.DataFrame, data: SeriesData | None = None, history: int = 500) -> Any:
        """The last ``history`` values of the series and a :meth:`forecast` frame after them."""
        from rnnkit.viz.forecast import plot_forecast

        data = data if data is not None else self.data_
        if data is None:
            raise DataError("plot_future: no series; pass data")
        part = data.slice(max(0, len(data) - history))
        x = part.dates if part.dates is not None else np.arange(len(data) - len(part), len(data))
        name = data.target_names[0]
        lower = frame[f"{name}_lower"].to_numpy() if f"{name}_lower" in frame else None
        upper = frame[f"{name}_upper"].to_numpy() if f"{name}_upper" in frame else None
        future_x = frame.index.to_numpy() if isinstance(frame.index, pd.DatetimeIndex) else np.asarray(frame.index)
        return plot_forecast(x, part.values, data.target_names,
                             future=(future_x, frame[name].to_numpy(), lower, upper),
                             title=f"{name}: forecast of the next {len(frame)} steps")

    # ------------------------------------------------------------------ bundles
    def get_params(self) -> dict[str, Any]:
        return dict(self.params)

    def _resolved_json(self) -> dict[str, Any]:
        keys = ("season", "lookback", "log", "differencing", "horizon", "mode", "frequency", "batch_size", "epochs")
        return {k: self.resolved_.get(k) for k in keys}

    def save(self, path: str | Path, extra_metrics: dict[str, Any] | None = None, *,
             force: bool = False) -> Path:
        """Write the bundle (config, weights, scaler.json, series.json, metrics, plots) atomically.
        ``force``: replace a bundle of another task (anything that is not a bundle is never
        replaced)."""
        from rnnkit.viz import plot_history

        model = self._require_fitted()
        assert self.data_ is not None and self.split_ is not None
        check_bundle_target(path, self.task, force)  # before the figures are drawn
        metrics = {**self.metrics_, **(extra_metrics or {})}
        plots: dict[str, Any] = {"forecast": self.plot()}
        if self.history_ is not None and len(self.history_):
            plots["curves"] = plot_history(self.history_, title="Forecaster training")
        data = self.data_
        resolved = {k: v for k, v in self.resolved_.items() if k != "candidates"}
        config = {
            "task": self.task,
            "params": dict(self.params),
            "resolved": {**resolved, "target_names": data.target_names, "feature_names": data.feature_names,
                         "test_size": self._test_size()},
            "network": {"input_size": self.resolved_["input_size"], "members": int(self.params["ensemble"])},
        }
        scaler_state = {
            "transform": self.transform_.to_dict(),  # type: ignore[union-attr]
            "input": self.input_scaler_.to_dict(),  # type: ignore[union-attr]
            "target": self.target_scaler_.to_dict(),  # type: ignore[union-attr]
            "linear_ar": {"lookback": self.linear_.lookback, "horizon": self.linear_.horizon,  # type: ignore[union-attr]
                          "log": self.linear_.log, "coef": self.linear_.coef_.tolist()},  # type: ignore[union-attr]
        }
        series_state = {
            "values": data.values.tolist(), "features": data.features.tolist(),
            "dates": None if data.dates is None else [d.isoformat() for d in data.dates],
            "target_names": data.target_names, "feature_names": data.feature_names,
            "source": data.source, "split": list(self.split_),
        }
        return save_bundle(path, config, model.state_dict(),
                           extra_json={"scaler": scaler_state, "series": series_state},
                           history=self.history_, metrics=metrics, plots=plots, force=force)

    @classmethod
    def _from_parts(cls, parts: BundleParts) -> Forecaster:
        parts.require_task(cls.task)
        obj = cls(**cls._params_from(parts))
        obj.resolved_ = dict(parts.section("resolved", dict))
        obj.resolved_["input_size"] = parts.section("network", dict).get("input_size")
        check_options("Forecaster", {k: obj.resolved_.get(k) for k in ("lookback", "horizon", "season")})
        if Rule("int", 1, MAX_WIDTH).problem(obj.resolved_["input_size"]) is not None:
            raise BundleError(f"bundle {parts.path}: config.json 'network' has no valid input_size; "
                              "re-save the model")
        scaler = parts.json("scaler")
        obj.transform_ = SeriesTransform.from_dict(scaler["transform"])
        obj.input_scaler_ = Scaler.from_dict(scaler["input"])
        obj.target_scaler_ = Scaler.from_dict(scaler["target"])
        lin = scaler["linear_ar"]
        obj.linear_ = LinearAR(lin["lookback"], lin["horizon"], lin["log"])
        obj.linear_.coef_ = np.asarray(lin["coef"], dtype=np.float64)
        series = parts.json("series")
        dates = None if series["dates"] is None else pd.DatetimeIndex(pd.to_datetime(series["dates"]))
        obj.data_ = SeriesData(np.asarray(series["values"]), np.asarray(series["features"]),
                               series["target_names"], series["feature_names"], dates, series["source"])
        obj.split_ = (int(series["split"][0]), int(series["split"][1]))
        obj._restore_network(parts)
        return obj

    def read_like_training(self, path: str | Path, fill: str | None = None) -> SeriesData:
        """Read a CSV with the target and feature columns (and date column) used in training."""
        from rnnkit.data.series import read_series

        self._require_fitted()
        return read_series(path, target=list(self._target_names()),
                           features=list(self.resolved_.get("feature_names", [])) or None, fill=fill,
                           date_column=self.resolved_.get("date_column"))


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread: the forecaster's networks are tiny, and with two or more threads
    every call pays for thread synchronisation -- on a busy machine 100x more than the maths."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def future_index(data: SeriesData, steps: int) -> pd.Index:
    """The dates (or row numbers) of the ``steps`` values after the end of ``data``."""
    freq = data.frequency
    if data.dates is not None and freq is not None:
        return pd.date_range(data.dates[-1], periods=steps + 1, freq=freq)[1:]
    return pd.RangeIndex(len(data), len(data) + steps)


def _as_series(data: Any, features: Any, dates: Any) -> SeriesData:
    if isinstance(data, SeriesData):
        if features is not None or dates is not None:
            raise ConfigError("give features and dates inside the SeriesData, not separately")
        return data
    if isinstance(data, pd.Series):
        index = data.index if isinstance(data.index, pd.DatetimeIndex) else None
        return SeriesData.from_arrays(data.to_numpy(), features, dates if dates is not None else index,
                                      target_names=[str(data.name or "y")])
    if isinstance(data, pd.DataFrame):
        index = data.index if isinstance(data.index, pd.DatetimeIndex) else None
        return SeriesData.from_arrays(data.to_numpy(), features, dates if dates is not None else index,
                                      target_names=[str(c) for c in data.columns])
    return SeriesData.from_arrays(data, features, dates)


register_task(Forecaster.task, Forecaster._from_parts)

__all__ = ["Forecaster", "FORECAST_DEFAULTS", "future_index"]
