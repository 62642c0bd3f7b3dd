"""``rnnkit series``: train, forecast and backtest a recurrent forecaster from CSV files.

    rnnkit series train airline_passengers --out air          # the bundled series
    rnnkit series train sales.csv --target sales --date-column month --features price --out m --json
    rnnkit series forecast air --steps 12 --plot next_year.png
    rnnkit series backtest air --csv airline-passengers.csv --json

Every report puts the model beside the baselines (persistence, seasonal naive, seasonal naive
with drift, linear autoregression) computed on the same origins.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from rnnkit.cli.common import (
    AsJson,
    BatchSize,
    Cell,
    CheckpointDir,
    Dropout,
    Encoding,
    Epochs,
    Force,
    HiddenSize,
    LearningRate,
    NumLayers,
    Out,
    Resume,
    Seed,
    TimeBudget,
    Workers,
    check_outputs,
    emit_json,
    existing,
    given,
    info,
    run_options,
    say_resume,
    shows_defaults,
    tidy_checkpoints,
)
from rnnkit.cli.paths import check_encoding, check_output_file
from rnnkit.errors import ConfigError
from rnnkit.tasks.defaults import FORECAST_DEFAULTS, FORECAST_TASK, MAX_FORECAST_STEPS

series_app = typer.Typer(help="Time-series forecasting: sales, passengers, temperatures.",
                         no_args_is_help=True)

METRIC_NAMES = ("rmse", "mae", "mape", "smape", "mase")
Fill = Annotated[
    str | None,
    typer.Option("--fill", metavar="HOW", help="Missing values: interpolate, ffill or drop.",
                 show_default="refuse"),
]


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    return names or None


def _int_or_auto(value: str, option: str) -> int | str:
    if value == "auto":
        return value
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(
            f"{option}: expected a positive integer or 'auto', got {value!r}"
        ) from None
    if number < 1:
        raise ConfigError(f"{option}: expected a positive integer or 'auto', got {value!r}")
    return number


def _read(
    csv: str, target: str | None, date_column: str | None, features: str | None, fill: str | None,
    encoding: str,
) -> Any:
    from rnnkit.data.series import BUNDLED_SERIES, read_series

    if csv not in BUNDLED_SERIES:
        existing([Path(csv)], "CSV")
    targets = _names(target)
    return read_series(csv, target=targets, date_column=date_column, features=_names(features),
                       fill=fill, encoding=encoding)


def comparison_table(title: str, model: dict[str, Any], baselines: dict[str, Any]) -> str:
    """Model and baselines side by side: one row each, RMSE/MAE/MAPE/sMAPE/MASE columns."""
    from rnnkit.tasks.forecast_baselines import BASELINE_LABELS

    rows: list[tuple[str, ...]] = [("", *METRIC_NAMES)]
    rows.append(("model", *(_fmt(model.get(k)) for k in METRIC_NAMES)))
    for name, report in baselines.items():
        rows.append((BASELINE_LABELS.get(name, name), *(_fmt(report.get(k)) for k in METRIC_NAMES)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [title]
    for row in rows:
        lines.append(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    best = min(baselines, key=lambda k: baselines[k]["rmse"]) if baselines else None
    if best is not None:
        verdict = "beats" if model["rmse"] < baselines[best]["rmse"] else "does NOT beat"
        lines.append(f"  the model {verdict} the best baseline ({BASELINE_LABELS.get(best, best)}, "
                     f"RMSE {baselines[best]['rmse']:.4g})")
    if "coverage" in model:
        lines.append(f"  {model['interval_level']:.0%} interval coverage on the test part: "
                     f"{model['coverage']:.1%}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    value = float(value)
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"


def _short(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in (*METRIC_NAMES, "coverage", "count") if k in report}


@series_app.command("train")
@shows_defaults({**FORECAST_DEFAULTS, "epochs": "auto (about 800 optimizer steps)",
                 "batch_size": "auto (16, or 64 from 500 windows)"})
def train(
    csv: Annotated[
        str,
        typer.Argument(
            help="CSV/TSV file (plain or gzip), or 'airline_passengers' (bundled).", metavar="CSV"
        ),
    ],
    out: Out,
    target: Annotated[
        str | None,
        typer.Option(
            "--target", metavar="COLUMNS", help="Column(s) to forecast, comma-separated.",
            show_default="the only numeric column",
        ),
    ] = None,
    date_column: Annotated[
        str | None,
        typer.Option("--date-column", metavar="COLUMN", help="Date column.",
                     show_default="detected; else row order"),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option("--features", metavar="COLUMNS", help="Extra input columns, comma-separated."),
    ] = None,
    fill: Fill = None,
    lookback: Annotated[
        str, typer.Option(metavar="N", help="Window length or auto (two seasons, at most 60).")
    ] = "auto",
    horizon: Annotated[int, typer.Option(help="Steps forecast from each origin.")] = 1,
    mode: Annotated[
        str, typer.Option(metavar="MODE", help="direct (all steps at once) or recursive.")
    ] = "direct",
    test_size: Annotated[
        float, typer.Option("--test-size", help="Fraction (or row count) at the end for testing.")
    ] = 0.33,
    test_start: Annotated[
        str | None,
        typer.Option(
            "--test-start", help="First date (or row) of the test part, instead of --test-size."
        ),
    ] = None,
    season: Annotated[
        str,
        typer.Option(metavar="N",
                     help="Seasonal period or auto (autocorrelation / date frequency)."),
    ] = "auto",
    log: Annotated[
        str, typer.Option(metavar="WHEN", help="auto, yes or no: model log(values).")
    ] = "auto",
    differencing: Annotated[
        str, typer.Option(metavar="HOW", help="auto, none, first, seasonal or both.")
    ] = "auto",
    scaler: Annotated[
        str, typer.Option(metavar="KIND", help="standard, minmax or none.")
    ] = "standard",
    cell: Cell = None,
    hidden_size: HiddenSize = None,
    num_layers: NumLayers = None,
    dropout: Dropout = None,
    bidirectional: Annotated[
        bool | None, typer.Option("--bidirectional/--unidirectional", help="Read both ways.")
    ] = None,
    ensemble: Annotated[int | None, typer.Option(help="Networks trained and averaged.")] = None,
    linear_skip: Annotated[
        bool | None,
        typer.Option(
            "--linear-skip/--no-linear-skip", help="Add a linear map from the window to the output."
        ),
    ] = None,
    intervals: Annotated[
        str, typer.Option(metavar="KIND", help="none, quantile or mc_dropout.")
    ] = "none",
    interval_level: Annotated[
        float | None, typer.Option(metavar="P", help="Interval probability, e.g. 0.8.")
    ] = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    lr: LearningRate = None,
    time_budget: TimeBudget = None,
    seed: Seed = 0,
    workers: Workers = 1,
    checkpoint_dir: CheckpointDir = None,
    resume: Resume = False,
    encoding: Encoding = "utf-8",
    force: Force = False,
    as_json: AsJson = False,
) -> None:
    """Train a forecaster and save it as a bundle.

    The test part is forecast by the model and by the baselines, side by side.
    """
    started = time.perf_counter()
    if workers != 1:  # before reading the data; the estimator says it in its own words
        raise ConfigError(f"--workers {workers}: forecasting trains in one process, its networks "
                          "are small enough that more only add overhead; leave --workers out")
    run = run_options(out, workers, checkpoint_dir, resume)
    check_outputs(out, FORECAST_TASK, force, run["checkpoint_dir"])
    check_encoding(encoding)
    data = _read(csv, target, date_column, features, fill, encoding)
    info(
        f"read {len(data)} rows from {data.source}: target {', '.join(data.target_names)}"
        + (f", features {', '.join(data.feature_names)}" if data.feature_names else "")
        + (
            f", dates {data.dates[0].date()}..{data.dates[-1].date()}"
            if data.dates is not None
            else ""
        )
    )
    logs = {"auto": "auto", "yes": True, "no": False}
    if log not in logs:
        raise ConfigError(f"--log: expected auto, yes or no, got {log!r}")
    from rnnkit.tasks import Forecaster  # torch: only after the checks that need none

    model = Forecaster(
        lookback=_int_or_auto(lookback, "--lookback"), horizon=horizon, mode=mode,
        season=_int_or_auto(season, "--season"), log=logs[log], differencing=differencing,
        scaler=scaler, intervals=None if intervals == "none" else intervals, seed=seed,
        **given(cell=cell, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout,
                bidirectional=bidirectional, ensemble=ensemble, linear_skip=linear_skip,
                interval_level=interval_level, epochs=epochs, batch_size=batch_size, lr=lr,
                time_budget=time_budget),
    )
    test_at: Any = test_start
    if test_start is not None and test_start.strip().isdigit():
        test_at = int(test_start)
    say_resume(run)
    model.fit(data, test_size=test_size, test_start=test_at, **run)
    r = model.resolved_
    info(f"season {r['season']}, lookback {r['lookback']}, log {'yes' if r['log'] else 'no'}, "
         f"differencing {r['differencing']}, {r['epochs']} epochs x {model.params['ensemble']} "
         f"networks ({model.metrics_['train_seconds']:.1f} s)")
    bundle = model.save(out, force=force)
    tidy_checkpoints(out, run)
    seconds = time.perf_counter() - started
    metrics = model.metrics_
    if "test" in metrics:
        title = (
            f"test part ({metrics['test_origins']} origins, {metrics['evaluation']}, "
            "original units)"
        )
        typer.echo(comparison_table(title, metrics["test"], metrics["baselines"]))
    else:
        typer.echo("no test part (--test-size 0): nothing to compare")
    typer.echo(f"bundle: {bundle}  (plot: {bundle / 'forecast.png'}; {seconds:.1f} s)")
    if as_json:
        emit_json({
            "test": _short(metrics["test"]) if "test" in metrics else None,
            "baselines": {k: _short(v) for k, v in metrics.get("baselines", {}).items()},
            "resolved": metrics["resolved"],
            "bundle": str(bundle),
            "seconds": round(seconds, 3),
        })


def _load(bundle: Path) -> Any:
    from rnnkit.tasks import Forecaster

    return Forecaster.load(bundle)


def _read_like(model: Any, csv: str, fill: str | None, encoding: str) -> Any:
    r = model.resolved_
    return _read(csv, ",".join(r["target_names"]), r.get("date_column"),
                 ",".join(r.get("feature_names") or []) or None, fill, encoding)


@series_app.command("forecast")
def forecast(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `rnnkit series train`.")],
    csv: Annotated[
        str | None,
        typer.Option(
            "--csv", metavar="FILE", help="Forecast after the end of this series.",
            show_default="the training series"
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            help=f"Steps to forecast (at most {MAX_FORECAST_STEPS}).", show_default="the horizon"
        ),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG of the history and the forecast.")
    ] = None,
    fill: Fill = None,
    encoding: Encoding = "utf-8",
    as_json: AsJson = False,
) -> None:
    """Forecast the next values after the end of the series."""
    check_encoding(encoding)
    if plot is not None:
        check_output_file(plot, "--plot", (".png",))
    if steps is not None and steps > MAX_FORECAST_STEPS:
        raise ConfigError(
            f"--steps: at most {MAX_FORECAST_STEPS}, got {steps}; further ahead the forecast "
            "feeds on its own guesses (and takes minutes); forecast in parts from newer data"
        )
    model = _load(bundle)
    data = _read_like(model, csv, fill, encoding) if csv is not None else model.data_
    frame = model.forecast(steps, data=data)
    typer.echo(frame.to_string(float_format=lambda v: f"{v:.4f}"))
    if plot is not None:
        from rnnkit.viz import save_figure

        save_figure(model.plot_future(frame, data), plot)
        info(f"plot: {plot}")
    if as_json:
        index = [i.isoformat() if hasattr(i, "isoformat") else int(i) for i in frame.index]
        emit_json({"index": index,
                   "forecast": {c: frame[c].round(6).tolist() for c in frame.columns},
                   "steps": len(frame)})


@series_app.command("backtest")
def backtest(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `rnnkit series train`.")],
    csv: Annotated[
        str,
        typer.Option("--csv", metavar="FILE",
                     help="The series to backtest on (same columns as in training)."),
    ],
    steps: Annotated[
        int | None,
        typer.Option(
            help="Steps ahead for the multi-step part.", show_default="the horizon, at least 1"
        ),
    ] = None,
    test_size: Annotated[
        float | None,
        typer.Option("--test-size", help="Test fraction.", show_default="as in training"),
    ] = None,
    fill: Fill = None,
    encoding: Encoding = "utf-8",
    as_json: AsJson = False,
) -> None:
    """Rolling-origin evaluation of the test part, with baselines.

    Reports one step ahead and several steps ahead.
    """
    check_encoding(encoding)
    model = _load(bundle)
    data = _read_like(model, csv, fill, encoding)
    result = model.backtest(data, steps=steps, test_size=test_size)
    for name in ("one_step", "multi_step"):
        part = result[name]
        title = (
            f"{name.replace('_', '-')}: {part['steps']} step(s) ahead from {part['origins']} "
            "origins"
        )
        typer.echo(comparison_table(title, part["model"], part["baselines"]))
        if "rmse_by_step" in part["model"]:
            typer.echo(
                "  model RMSE by step: "
                + ", ".join(f"{v:.4g}" for v in part["model"]["rmse_by_step"])
            )
    if as_json:
        emit_json({name: {"steps": result[name]["steps"], "origins": result[name]["origins"],
                          "model": {**_short(result[name]["model"]),
                                    **({"rmse_by_step": result[name]["model"]["rmse_by_step"]}
                                       if "rmse_by_step" in result[name]["model"] else {})},
                          "baselines": {k: _short(v) for k, v in result[name]["baselines"].items()}}
                   for name in ("one_step", "multi_step")})
