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
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnkit import threads
from rnnkit.data.series import SeriesData, chronological_split, missing_dates
from rnnkit.data.series_transforms import (
    Scaler,
    SeriesTransform,
    WindowLoader,
    targets,
    valid_origins,
    windows,
)
from rnnkit.errors import ConfigError, DataError
from rnnkit.io import register_task
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.base import Estimator
from rnnkit.tasks.defaults import FORECAST_DEFAULTS, FORECAST_TASK
from rnnkit.tasks.forecast_auto import resolve_choices
from rnnkit.tasks.forecast_baselines import LinearAR, baseline_forecasts, error_report
from rnnkit.tasks.forecast_bundle import RESOLVED_KEYS, bundle_config, bundle_state, restore_state
from rnnkit.tasks.forecast_model import ForecastNetwork, forecast_loss
from rnnkit.tasks.forecast_plots import fit_figure, future_figure
from rnnkit.train import EarlyStopping, History, Trainer

MODES = ("direct", "recursive")
INTERVALS = (None, "quantile", "mc_dropout")
#: About this many optimizer steps when ``epochs="auto"`` (10 to 300 epochs).
AUTO_STEPS = 800


class Forecaster(Estimator):
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

    choices = {"mode": MODES, "intervals": INTERVALS}

    # Fitted state (class-level defaults: ``__init__`` sets only the options).
    resolved_: dict[str, Any] = {}
    model_: ForecastNetwork | None = None
    history_: History | None = None
    data_: SeriesData | None = None
    split_: tuple[int, int] | None = None
    transform_: SeriesTransform | None = None
    input_scaler_: Scaler | None = None
    target_scaler_: Scaler | None = None
    linear_: LinearAR | None = None

    def __init__(
        self, *, lookback: Any = "auto", horizon: Any = 1, mode: Any = "direct", stride: Any = 1,
        season: Any = "auto", log: Any = "auto", differencing: Any = "auto",
        scaler: Any = "standard", cell: Any = "lstm", hidden_size: Any = 8, num_layers: Any = 1,
        bidirectional: Any = False, dropout: Any = 0.0, linear_skip: Any = True, ensemble: Any = 5,
        intervals: Any = None, interval_level: Any = 0.8, mc_samples: Any = 50,
        batch_size: Any = "auto", epochs: Any = "auto", optimizer: Any = "adam", lr: Any = 0.001,
        weight_decay: Any = 0.0001, clip_norm: Any = None, validation_size: Any = 0.0,
        patience: Any = 20, time_budget: Any = None, seed: Any = 0, verbose: Any = 0,
    ) -> None:
        self._store_params(locals())

    # ------------------------------------------------------------------ properties
    @property
    def _horizon(self) -> int:
        """``horizon`` as an int (the option is checked by ``fit``)."""
        return int(self.params["horizon"])

    @property
    def net_horizon(self) -> int:
        """Steps the network emits: ``horizon`` (direct) or 1 (recursive)."""
        return 1 if self.params["mode"] == "recursive" else self._horizon

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
    def fit(
        self,
        X: Any,
        y: None = None,
        validation_data: None = None,
        epochs: int | None = None,
        time_budget: float | None = None,
        *,
        workers: int | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        checkpoint_every: int | None = None,
        test_size: float = 0.33,
        test_start: Any = None,
        features: Any = None,
        dates: Any = None,
    ) -> Forecaster:
        """Train on the series before the test part and report errors on the test part.

        Args:
            X: the series: a :class:`SeriesData`, a pandas Series/DataFrame, or an array
                ``(n,)`` / ``(n, C)`` of target values (then ``features`` ``(n, F)`` and ``dates``
                may be given).
            y: unused (scikit-learn's slot; the targets are in ``X``); must be None.
            validation_data: not supported (ConfigError): the validation part is the
                ``validation_size`` fraction before the test part, for early stopping.
            epochs, time_budget: override the options of the same name for this run.
            workers: 1 only (ConfigError otherwise): the networks are tiny and train fastest in
                one process. checkpoint_dir, resume, checkpoint_every: as for every estimator.
            test_size: fraction (or row count) of the end held out; 0 trains on everything and
                reports nothing. test_start: a date or row index instead.
        """
        p = self._validate_params()
        self._check_y_unused(y)
        if validation_data is not None:
            raise ConfigError("Forecaster: validation_data is not supported; set validation_size "
                              "(the fraction before the test part used for early stopping)")
        if workers not in (None, 1):
            raise ConfigError(f"Forecaster: {workers!r} workers asked for (workers=); "
                              "forecasting trains in one process, its networks are small enough "
                              "that more only add overhead: use 1")
        self._run_options: dict[str, Any] = {"checkpoint_dir": checkpoint_dir, "resume": resume,
                                             "checkpoint_every": checkpoint_every}
        started = time.perf_counter()
        data = _as_series(X, features, dates)
        train_end, test_start_row = chronological_split(
            len(data), test_size, float(p["validation_size"]), test_start, data.dates)
        self.data_, self.split_ = data, (train_end, test_start_row)
        date_column = None if data.dates is None else data.dates.name
        y_train = data.values[:train_end]
        if len(y_train) < 8:
            raise DataError(f"{data.source}: only {len(y_train)} training values; "
                            "give a longer series or a smaller test part")
        choice = resolve_choices(
            y_train, data.frequency, season=p["season"], lookback=p["lookback"], log=p["log"],
            differencing=p["differencing"], horizon=self._horizon)
        self.resolved_ = {**choice, "frequency": data.frequency, "horizon": self._horizon,
                          "mode": p["mode"], "test_size": float(test_size),
                          "date_column": date_column, "target_names": list(data.target_names),
                          "feature_names": list(data.feature_names)}
        self.transform_ = SeriesTransform(choice["log"], choice["differencing"], choice["season"])
        if p["mode"] == "recursive" and data.features.shape[1] and self._horizon > 1:
            raise ConfigError("mode='recursive' cannot use feature columns "
                              "(their future values are unknown); use mode='direct'")
        lookback, offset = choice["lookback"], self.transform_.offset
        origins = valid_origins(train_end, lookback, offset, self.net_horizon,
                                stride=int(p["stride"]))
        if len(origins) < 2:
            raise DataError(
                f"{data.source}: the training part ({train_end} values) is too short for lookback "
                f"{lookback}{f' after differencing ({offset} values)' if offset else ''} and "
                f"horizon {self.net_horizon}; use a smaller --lookback or --horizon, "
                "or a smaller test part"
            )
        z = self.transform_.forward(data.values)
        inputs = np.concatenate([self.transform_.inputs(z), data.features], axis=1)
        self.input_scaler_ = Scaler(p["scaler"]).fit(inputs[offset:train_end])
        scaled = self.input_scaler_.transform(inputs)
        residual = self._residual_targets(z, origins)
        self.target_scaler_ = Scaler(p["scaler"]).fit(residual.reshape(len(origins), -1))
        x_train = windows(scaled, origins, lookback)
        y_train_scaled = self.target_scaler_.transform(
            residual.reshape(len(origins), -1)).reshape(residual.shape)
        self.linear_ = LinearAR(lookback, self._horizon, choice["log"]).fit(y_train)
        self._train(x_train, y_train_scaled, scaled, z, train_end, test_start_row, epochs,
                    time_budget)
        self.metrics_ = {"train_seconds": time.perf_counter() - started,
                         "epochs_run": len(self.history_ or []),
                         "resolved": {k: self.resolved_.get(k) for k in RESOLVED_KEYS},
                         "split": {"train_end": train_end, "test_start": test_start_row,
                                   "rows": len(data)}}
        gaps = missing_dates(data.dates)
        if len(gaps):  # read_series warned; the report says it again
            self.metrics_["missing_dates"] = {"count": len(gaps),
                                              "first": [str(d.date()) for d in gaps[:5]]}
        if test_start_row < len(data):
            self.metrics_.update(self._test_report(data, test_start_row))
        return self

    def _residual_targets(self, z: np.ndarray, origins: np.ndarray) -> np.ndarray:
        assert self.transform_ is not None
        h = self.net_horizon
        return targets(z, origins, h) - self.transform_.reference(z, origins, h)

    def _train(
        self,
        x: np.ndarray,
        y: np.ndarray,
        scaled: np.ndarray,
        z: np.ndarray,
        train_end: int,
        test_start: int,
        epochs: int | None,
        time_budget: float | None,
    ) -> None:
        p = self.params
        n_windows = len(x)
        batch_size = (
            (16 if n_windows < 500 else 64) if p["batch_size"] == "auto" else int(p["batch_size"])
        )
        batches = math.ceil(n_windows / batch_size)
        wanted = p["epochs"] if epochs is None else epochs
        epochs = (
            min(300, max(10, math.ceil(AUTO_STEPS / batches))) if wanted == "auto" else int(wanted)
        )
        self.resolved_.update({"batch_size": batch_size, "epochs": epochs})
        val_loader = None
        if test_start > train_end:
            val_origins = valid_origins(test_start, self.resolved_["lookback"],
                                        self.transform_.offset,  # type: ignore[union-attr]
                                        self.net_horizon, start=train_end)
            if len(val_origins):
                res = self._residual_targets(z, val_origins)
                res = self.target_scaler_.transform(  # type: ignore[union-attr]
                    res.reshape(len(val_origins), -1)).reshape(res.shape)
                val_loader = WindowLoader(windows(scaled, val_origins, self.resolved_["lookback"]),
                                          res, 256)
        torch.manual_seed(int(p["seed"]))
        self.model_ = self._checked_network()
        quantiles = self.quantile_levels if p["intervals"] == "quantile" else ()
        callbacks = []
        if val_loader is not None and p["patience"]:
            callbacks.append(EarlyStopping("val_loss", patience=int(p["patience"]),
                                           restore_best_weights=True))
        trainer = Trainer(
            loss=forecast_loss(quantiles), optimizer=p["optimizer"], lr=float(p["lr"]),
            weight_decay=float(p["weight_decay"]), clip_norm=p["clip_norm"], metrics=(),
            callbacks=callbacks, seed=int(p["seed"]), verbose=int(p["verbose"]),
            **self._run_options,
        )
        loader = WindowLoader(x, y, batch_size, shuffle=True, seed=int(p["seed"]))
        with single_thread():
            self.history_ = trainer.fit(
                self.model_,
                loader,
                validation_data=val_loader,
                epochs=epochs,
                time_budget=p["time_budget"] if time_budget is None else time_budget,
            )
        self.model_.eval()

    def _build_network(self) -> ForecastNetwork:
        p = self.params
        assert self.data_ is not None or self.resolved_
        dropout = float(p["dropout"])
        if p["intervals"] == "mc_dropout" and dropout == 0.0:
            dropout = 0.2  # Monte-Carlo dropout needs some dropout to sample from
        return ForecastNetwork(
            input_size=int(self.resolved_["input_size"])
            if "input_size" in self.resolved_
            else self._input_size(),
            lookback=int(self.resolved_["lookback"]),
            horizon=self.net_horizon,
            targets=len(self._target_names()),
            quantiles=3 if p["intervals"] == "quantile" else 1,
            cell=p["cell"],
            hidden_size=int(p["hidden_size"]),
            num_layers=int(p["num_layers"]),
            bidirectional=bool(p["bidirectional"]),
            dropout=dropout,
            linear_skip=bool(p["linear_skip"]),
            members=int(p["ensemble"]),
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
        if self.transform_ is None:
            raise ConfigError("this Forecaster is not fitted yet; call fit() or load() first")
        return super()._require_fitted()  # type: ignore[no-any-return]

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
            chunks = [
                model(tensor[i:i + 1024]).double().numpy() for i in range(0, len(tensor), 1024)
            ]
        model.eval()
        return np.concatenate(chunks) if chunks else np.zeros((0,))

    def _step(
        self, zbuf: np.ndarray, fbuf: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """One network call from buffers ``zbuf (t, N, C)``, ``fbuf (t, N, F)`` ending at the
        origin.

        Returns z-space ``point (N, h, C)``, the residual samples, and lower/upper or None.
        """
        assert (
            self.transform_ is not None
            and self.input_scaler_ is not None
            and self.target_scaler_ is not None
        )
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
            raw.transpose(0, 1, 4, 2, 3).reshape(-1, h * c)
        ).reshape(shape[0], shape[1], shape[4], h, c)
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

    def _forecast_buffers(
        self, zbuf: np.ndarray, fbuf: np.ndarray, steps: int
    ) -> dict[str, np.ndarray]:
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

    def _at_origins(
        self, data: SeriesData, origins: np.ndarray, steps: int
    ) -> dict[str, np.ndarray]:
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
            raise DataError(f"history: {len(data)} values given, {self.history_needed} needed "
                            "(lookback + differencing)")
        out = self._at_origins(data, np.array([len(data)]), self._horizon)["point"][0]
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
        steps = self._horizon if steps is None else int(steps)
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
        want_f = (
            int(self.resolved_.get("input_size", data.values.shape[1] + data.features.shape[1]))
            - want_c
        )
        if data.values.shape[1] != want_c or data.features.shape[1] != want_f:
            raise DataError(
                f"the series has {data.values.shape[1]} target and {data.features.shape[1]} "
                f"feature columns; the model was trained with {want_c} and {want_f}"
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
                f"{self.history_needed} values of history; use a longer series or a larger test "
                "part"
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
            report["model"]["rmse_by_step"] = [
                float(np.sqrt(np.nanmean((actual[:, s] - result["point"][:, s]) ** 2)))
                for s in range(steps)
            ]
        return report

    def _test_report(self, data: SeriesData, start: int) -> dict[str, Any]:
        train_rows = self.split_[0] if self.split_ else start
        report = self._evaluate(data, start, self._horizon, data.values[:train_rows], self.linear_)
        self._last_eval = report
        return {
            "test": report["model"],
            "baselines": report["baselines"],
            "evaluation": "one-step-ahead"
            if self._horizon == 1
            else f"averaged over {self._horizon} steps",
            "test_origins": int(len(report["origins"])),
        }

    def evaluate(
        self, X: Any = None, y: None = None, *, test_size: float | None = None
    ) -> dict[str, Any]:
        """Model and baseline errors over the test part of the series ``X`` (default: the fitted
        series; ``y`` unused): ``{"test": {rmse, mae, mape, smape, mase, ...}, "baselines": {...},
        "test_origins"}``."""
        self._require_fitted()
        self._check_y_unused(y)
        data = self.data_ if X is None else _as_series(X, None, None)
        if data is None:
            raise DataError("evaluate: no series; pass data")
        self._check_compatible(data)
        start = chronological_split(
            len(data), test_size if test_size is not None else self._test_size()
        )[1]
        if (
            test_size is None
            and self.split_ is not None
            and self.data_ is not None
            and len(data) == len(self.data_)
        ):
            start = self.split_[1]
        report = self._evaluate(data, start, self._horizon, data.values[:self._train_rows(data)],
                                self.linear_)
        return {"test": report["model"], "baselines": report["baselines"],
                "test_origins": int(len(report["origins"]))}

    def score(self, X: Any, y: None = None) -> float:
        """Minus the RMSE (original units) of the model's forecasts of ``horizon`` steps from every
        origin of the series ``X`` that has enough history before it in ``X`` (no refitting; ``y``
        unused). Higher is better, as scikit-learn's ``GridSearchCV`` and ``cross_val_score``
        expect; :meth:`evaluate` gives the full report.
        """
        self._require_fitted()
        self._check_y_unused(y)
        data = _as_series(X, None, None)
        self._check_compatible(data)
        report = self._evaluate(data, 0, self._horizon, data.values, None)
        return -float(report["model"]["rmse"])

    def backtest(
        self, data: Any = None, steps: int | None = None, test_size: float | None = None
    ) -> dict[str, Any]:
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
        steps = self._horizon if steps is None else int(steps)
        if (
            test_size is None
            and self.split_ is not None
            and self.data_ is not None
            and len(data) == len(self.data_)
        ):
            start = self.split_[1]
        else:
            start = chronological_split(
                len(data), test_size if test_size is not None else self._test_size()
            )[1]
        train_rows = min(self._train_rows(data), start)
        y_train = data.values[:train_rows]
        lookback, log = int(self.resolved_["lookback"]), bool(self.resolved_["log"])
        out: dict[str, Any] = {}
        for name, k in (("one_step", 1), ("multi_step", max(steps, 1))):
            linear = LinearAR(lookback, k, log).fit(y_train)
            report = self._evaluate(data, start, k, y_train, linear)
            out[name] = {"steps": k, "origins": int(len(report["origins"])),
                         "model": report["model"], "baselines": report["baselines"]}
        return out

    # ------------------------------------------------------------------ plots
    def plot(self, data: SeriesData | None = None, baseline: str | None = None) -> Any:
        """The series, the one-step fit on the training part, the test forecasts (and intervals)
        and the best baseline on the test part, as a matplotlib Figure (see
        :func:`rnnkit.tasks.forecast_plots.fit_figure`)."""
        return fit_figure(self, data, baseline)

    def plot_future(
        self, frame: pd.DataFrame, data: SeriesData | None = None, history: int = 500
    ) -> Any:
        """The last ``history`` values of the series and a :meth:`forecast` frame after them."""
        data = data if data is not None else self.data_
        if data is None:
            raise DataError("plot_future: no series; pass data")
        return future_figure(frame, data, history)

    # ------------------------------------------------------------------ bundles
    def _bundle_config(self) -> dict[str, Any]:
        return bundle_config(self)

    def _bundle_state(self) -> dict[str, Any]:
        return bundle_state(self)

    def _figures(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """The forecast plot and the training curves."""
        return {"forecast": self.plot(), **super()._figures(metrics)}

    @classmethod
    def _from_parts(cls, parts: BundleParts) -> Forecaster:
        obj = cls._from_bundle_params(parts)
        restore_state(obj, parts)
        obj._restore_network(parts)
        return obj

    def read_like_training(
        self, path: str | Path, fill: str | None = None, encoding: str = "utf-8"
    ) -> SeriesData:
        """Read a CSV with the target and feature columns (and date column) used in training;
        ``fill`` and ``encoding`` (e.g. ``"latin-1"``) as in
        :func:`rnnkit.data.series.read_series`."""
        from rnnkit.data.series import read_series

        self._require_fitted()
        return read_series(path, target=list(self._target_names()),
                           features=list(self.resolved_.get("feature_names", [])) or None,
                           fill=fill, date_column=self.resolved_.get("date_column"),
                           encoding=encoding)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread: the forecaster's networks are tiny, and with two or more threads
    every call pays for thread synchronisation. Through the thread policy (a cap of one thread;
    a count the user set wins), or pinned as before it with ``RNNKIT_THREAD_POLICY=off``."""
    if threads.enabled(os.environ):
        with threads.GOVERNOR.session(cap=1, force=False):
            yield
        return
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
        return SeriesData.from_arrays(data.to_numpy(), features,
                                      dates if dates is not None else index,
                                      target_names=[str(data.name or "y")])
    if isinstance(data, pd.DataFrame):
        index = data.index if isinstance(data.index, pd.DatetimeIndex) else None
        return SeriesData.from_arrays(data.to_numpy(), features,
                                      dates if dates is not None else index,
                                      target_names=[str(c) for c in data.columns])
    return SeriesData.from_arrays(data, features, dates)


register_task(Forecaster.task, Forecaster._from_parts)

__all__ = ["Forecaster", "FORECAST_DEFAULTS", "future_index"]
