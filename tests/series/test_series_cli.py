"""`rnnkit series` end to end: train/forecast/backtest with --json in subprocesses, and every
bad-input case as one line on stderr with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from series_helpers import seasonal_series, write_csv

from rnnkit.cli import main
from warm_cli import run_rnnkit

FAST = ["--ensemble", "1", "--epochs", "20", "--seed", "0"]


def rnnkit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return run_rnnkit(args, env=env, timeout=300)


def sales_csv(path: Path, n: int = 96) -> str:
    y = seasonal_series(n)
    rows = [f"{2000 + i // 12}-{i % 12 + 1:02d};{v:.3f};{i % 5}" for i, v in enumerate(y)]
    return write_csv(path, "month;sales;promo", rows, newline="\r\n", bom=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("series_cli")
    csv = sales_csv(root / "sales.csv")
    out = root / "bundle"
    run = rnnkit("series", "train", csv, "--target", "sales", "--date-column", "month",
                 "--out", str(out), "--json", *FAST)
    assert run.returncode == 0, run.stderr
    return root, csv, out, run


def test_train_json_contract_and_table(trained) -> None:
    _, _, out, run = trained
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(result["test"]) >= {"rmse", "mae", "mape", "smape", "mase"}
    assert set(result["baselines"]) == {"persistence", "seasonal_naive", "seasonal_drift",
                                        "linear_ar"}
    assert all("rmse" in b for b in result["baselines"].values())
    assert Path(result["bundle"]) == out and result["seconds"] > 0
    assert result["resolved"]["season"] == 12
    table = run.stdout
    for row in ("model", "persistence", "seasonal naive", "seasonal naive + drift", "linear AR"):
        assert f"\n  {row} " in table
    assert (out / "forecast.png").read_bytes().startswith(b"\x89PNG")
    assert "season 12" in run.stderr


def test_forecast_json_and_plot(trained) -> None:
    root, _, out, _ = trained
    plot = root / "next.png"
    run = rnnkit("series", "forecast", str(out), "--steps", "6", "--plot", str(plot), "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["steps"] == 6 and len(result["forecast"]["sales"]) == 6
    assert result["index"][0].startswith("2008-01-01")
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_backtest_json(trained) -> None:
    _, csv, out, _ = trained
    run = rnnkit("series", "backtest", str(out), "--csv", csv, "--steps", "3", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["one_step"]["steps"] == 1 and result["multi_step"]["steps"] == 3
    assert len(result["multi_step"]["model"]["rmse_by_step"]) == 3
    assert "multi-step: 3 step(s) ahead" in run.stdout


def bad_rows(kind: str) -> list[str]:
    rows = [f"2020-{m:02d},{10 + m}" for m in range(1, 13)] * 1
    if kind == "missing":
        rows[3] = "2020-04,"
    elif kind == "text":
        rows[5] = "2020-06,lots"
    elif kind == "duplicate":
        rows[7] = "2020-07,3"
    elif kind == "unsorted":
        rows[2], rows[8] = rows[8], rows[2]
    return rows


@pytest.mark.parametrize("kind, fragment", [
    ("missing", "1 missing value (column y: 1 at line 5); pass fill="),
    ("text", "column 'y' has non-numeric values at line 7 ('lots')"),
    ("duplicate", "repeats 2020-07-01 (line 9)"),
    ("unsorted", "is not sorted"),
    ("short", "too short for lookback"),
    ("nofile", "does not exist"),
    ("column", "--target='sales' is not a column of"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, kind, fragment) -> None:
    csv = write_csv(tmp_path / "bad.csv", "month,y", bad_rows(kind))
    args = ["series", "train", csv, "--target", "sales" if kind == "column" else "y",
            "--date-column", "month", "--out", str(tmp_path / "m"), *FAST]
    if kind == "short":
        args += ["--lookback", "12"]
    if kind == "nofile":
        args[2] = str(tmp_path / "missing.csv")
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error: ")]
    assert len(errors) == 1 and err[-1] == errors[0] and fragment in errors[0]
    assert "Traceback" not in "\n".join(err)


def test_fill_option_makes_the_missing_case_work(tmp_path, capsys) -> None:
    y = seasonal_series(60)
    rows = [f"{i},{v:.3f}" if i != 20 else f"{i}," for i, v in enumerate(y)]
    csv = write_csv(tmp_path / "gap.csv", "t,y", rows)
    with pytest.raises(SystemExit) as exit_info:  # typer exits 0 after a command in standalone mode
        main(["series", "train", csv, "--target", "y", "--fill", "interpolate", "--out",
              str(tmp_path / "m"), "--json", *FAST])
    assert exit_info.value.code in (0, None)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last)["test"]["count"] > 0


def test_more_than_one_worker_is_refused_in_the_commands_words(tmp_path) -> None:
    data = sales_csv(tmp_path / "sales.csv")
    run = rnnkit("series", "train", data, "--target", "sales", "--out", str(tmp_path / "m"),
                 "--workers", "2")
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stderr.startswith("error: --workers 2: forecasting trains in one process")
    assert not (tmp_path / "m").exists()
