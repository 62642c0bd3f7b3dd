"""``--cell`` takes every registered cell (rnnkit.cells) from the command line: each train
command with a scan cell, the bundle's predict/report/serve, export's one-line refusal,
``rnnkit memory --cells``, and the one-line error of an unknown cell.

The in-process checks of every cell in every task are in tests/tasks/test_every_cell.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import (
    FAST_TEXT,
    assert_one_line_error,
    fingerprint,
    rnnkit,
    write_pairs,
    write_reviews,
    write_ts,
)

from rnnkit.cells import CELL_NAMES

TINY = ["--epochs", "1", "--hidden-size", "8", "--seed", "0", "--json"]


def _result(run) -> dict:
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def text_bundle(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cells")
    reviews = write_reviews(root / "reviews.csv", 40)
    out = root / "mingru"
    _result(rnnkit("text", "train", reviews, "--cell", "mingru", "--out", out, *FAST_TEXT,
                   "--json"))
    assert json.loads((out / "config.json").read_text())["params"]["cell"] == "mingru"
    return root, out


def test_text_bundle_of_a_scan_cell_predicts_reports_and_refuses_export(text_bundle) -> None:
    root, out = text_bundle
    predicted = rnnkit("text", "predict", out, "a great film", "a dull mess", "--json")
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.strip().splitlines()) >= 2
    report = rnnkit("report", out, "--out", root / "report.html", "--example", "a great film")
    assert report.returncode == 0, report.stderr
    assert "<html" in (root / "report.html").read_text(encoding="utf-8").lower()
    before = fingerprint(root)
    refused = rnnkit("export", out, "--format", "onnx", "--out", root / "m.onnx")
    assert_one_line_error(refused, "export", "mingru", "--cell")
    assert fingerprint(root) == before


def test_text_bundle_of_a_scan_cell_serves(text_bundle) -> None:
    from fastapi.testclient import TestClient

    import rnnkit as kit
    from rnnkit.serve import create_app

    model = kit.load(text_bundle[1])
    with TestClient(create_app({"m": model})) as client:
        body = client.post("/models/m/predict", json={"texts": ["a great film"]}).json()
    expected = model.predict_proba(["a great film"])[0]
    got = [body["predictions"][0]["probabilities"][c] for c in model.classes_]
    assert got == pytest.approx(list(expected), abs=1e-6)


@pytest.mark.parametrize(
    ("task", "cell"),
    [("seq", "minlstm"), ("series", "lru"), ("lm", "mingru"), ("translate", "lru")],
)
def test_every_train_command_takes_a_scan_cell(task: str, cell: str, tmp_path: Path) -> None:
    data = {
        "seq": lambda: [write_ts(tmp_path / "train.ts", 20)],
        "series": lambda: [_series_csv(tmp_path / "y.csv"), "--ensemble", "1"],
        "lm": lambda: [_corpus(tmp_path / "c.txt"), "--num-layers", "1", "--embedding-dim", "4",
                       "--bptt", "8", "--batch-size", "4", "--sample-length", "5"],
        "translate": lambda: [write_pairs(tmp_path / "p.tsv", 30), "--embedding-dim", "4",
                              "--min-freq", "1", "--batch-size", "16", "--beam-size", "1"],
    }[task]()
    out = tmp_path / "bundle"
    _result(rnnkit(task, "train", *data, "--cell", cell, "--out", out, *TINY))
    assert json.loads((out / "config.json").read_text())["params"]["cell"] == cell
    if task == "lm":  # generation runs the cell's step form, one token per call
        generated = rnnkit("lm", "generate", out, "--prime", "to", "--length", "5", "--seed", "1")
        assert generated.returncode == 0 and generated.stdout.startswith("to"), generated.stderr


def test_memory_takes_the_scan_cells(tmp_path: Path) -> None:
    # From lru on: the minGRU/minLSTM numba kernels would compile in the subprocess (~10 s).
    new_cells = list(CELL_NAMES[CELL_NAMES.index("lru"):])
    run = rnnkit("memory", "--out", tmp_path / "memory", "--cells", ",".join(new_cells),
                 "--lengths", "5", "--time-budget", "0.1", "--hidden-size", "4", "--json")
    assert [r["cell"] for r in _result(run)["results"]] == new_cells


def test_an_unknown_cell_is_one_line_listing_the_choices(tmp_path: Path) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 10)
    run = rnnkit("text", "train", reviews, "--cell", "xlstm", "--out", tmp_path / "m")
    assert_one_line_error(run, "cell", "'xlstm'", *CELL_NAMES)
    assert not (tmp_path / "m").exists()
    memory = rnnkit("memory", "--out", tmp_path / "mem", "--cells", "rnn,xlstm", "--lengths", "5")
    assert_one_line_error(memory, "--cells", "'xlstm'", *CELL_NAMES)


def test_train_help_lists_every_cell() -> None:
    run = rnnkit("seq", "train", "--help")
    assert run.returncode == 0
    flat = " ".join(run.stdout.split())
    assert "Recurrent cell: " + ", ".join(CELL_NAMES[:-1]) + " or " + CELL_NAMES[-1] in flat


def _series_csv(path: Path) -> Path:
    import math

    rows = [f"{10 + 3 * math.sin(i / 2):.3f}" for i in range(60)]
    path.write_text("y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _corpus(path: Path) -> Path:
    path.write_text("to be or not to be, that is the question\n" * 20, encoding="utf-8")
    return path
