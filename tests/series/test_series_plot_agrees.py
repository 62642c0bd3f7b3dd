"""The forecast plot agrees with the console (the RMSE over the whole horizon in the title, the
one-step figures of the drawn lines labelled), and dates missing from a daily series are
reported: one warning line when read, a note in metrics and in the report."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.series import missing_dates, read_series
from rnnkit.errors import RnnkitWarning
from rnnkit.tasks import Forecaster


@pytest.fixture(scope="module")
def daily_csv(tmp_path_factory):
    n = 800
    dates = pd.date_range("1981-01-01", periods=n, freq="D")
    t = np.arange(n)
    temp = 12 + 5 * np.sin(2 * np.pi * t / 365) + np.random.default_rng(0).normal(0, 1, n)
    keep = ~dates.isin(pd.to_datetime(["1981-12-31", "1982-12-31"]))  # as in the Melbourne data
    frame = pd.DataFrame({"date": dates[keep].strftime("%Y-%m-%d"), "temp": temp[keep].round(2)})
    path = tmp_path_factory.mktemp("daily") / "temps.csv"
    frame.to_csv(path, index=False)
    return path


def test_missing_daily_dates_are_one_warning_line(daily_csv) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = read_series(daily_csv)
    ours = [w for w in caught if issubclass(w.category, RnnkitWarning)]
    assert len(ours) == 1 and len(caught) == 1
    message = str(ours[0].message)
    assert message.startswith("temps.csv: 2 dates missing from the daily series")
    assert "1981-12-31, 1982-12-31" in message and "\n" not in message
    assert [str(d.date()) for d in missing_dates(data.dates)] == ["1981-12-31", "1982-12-31"]
    regular = pd.date_range("2000-01-01", periods=30, freq="MS")
    assert len(missing_dates(regular)) == 0 and len(missing_dates(None)) == 0


def test_plot_title_gives_the_console_rmse_over_the_horizon(daily_csv) -> None:
    from rnnkit.inspect.report import _metric_sections

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnkitWarning)
        data = read_series(daily_csv)
    model = Forecaster(horizon=3, lookback=14, ensemble=1, epochs=2, hidden_size=4, verbose=0)
    model.fit(data, test_size=0.25)
    assert model.metrics_["missing_dates"] == {"count": 2, "first": ["1981-12-31", "1982-12-31"]}
    assert "Note: 2 dates missing from the series" in _metric_sections(model.metrics_)
    metrics = model.metrics_
    best = min(metrics["baselines"], key=lambda k: metrics["baselines"][k]["rmse"])
    fig = model.plot()
    title = fig.axes[0].get_title()
    console = f"test RMSE over 3 steps {metrics['test']['rmse']:.4g} vs "
    assert console in title, title
    assert f"{metrics['baselines'][best]['rmse']:.4g}; drawn: one-step forecasts (RMSE " in title
    assert "zoom: the last 365 of 798 values" in fig.axes[-1].get_xlabel()


def test_series_train_cli_warns_missing_dates_in_one_line(daily_csv, tmp_path) -> None:
    import os
    import subprocess
    import sys

    out = tmp_path / "model"
    run = subprocess.run(
        [sys.executable, "-m", "rnnkit", "series", "train", str(daily_csv), "--out", str(out),
         "--horizon", "3", "--lookback", "14", "--epochs", "2", "--hidden-size", "4",
         "--ensemble", "1"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    notes = [line for line in run.stderr.splitlines() if "missing" in line]
    assert len(notes) == 1 and "2 dates missing from the daily series (1981-12-31, 1982-12-31)" \
        in notes[0], run.stderr
    assert notes[0].startswith("warning: temps.csv: 2 dates missing"), notes  # no source line
    others = [line for line in run.stderr.splitlines() if "warn" in line.lower()]
    assert others == notes, run.stderr  # and no other warning (matplotlib's, Python's)
    assert '"missing_dates"' in (out / "metrics.json").read_text(encoding="utf-8")
