"""`rnnkit text` end to end in subprocesses: train, predict, evaluate, --json, user errors."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest

from warm_cli import run_rnnkit

FAST = ["--epochs", "3", "--hidden-size", "8", "--max-tokens", "500", "--seed", "0"]


def rnnkit(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return run_rnnkit(args, env=env, input=stdin, timeout=300)


def write_reviews(path: Path, n: int = 60, header: bool = True, sep: str = ",") -> Path:
    rows = [f"text{sep}label"] if header else []
    for i in range(n):
        good = i % 2 == 0
        rows.append(f"{'a truly great and fun film' if good else 'a dull and boring mess'} number "
                    f"{i}{sep}{'pos' if good else 'neg'}")
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8-sig")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("cli")
    data = write_reviews(root / "reviews.csv")
    out = root / "bundle"
    run = rnnkit("text", "train", str(data), "--out", str(out), "--json", *FAST)
    assert run.returncode == 0, run.stderr
    return root, out, json.loads(run.stdout.strip().splitlines()[-1])


def test_train_json_last_line_contract(trained) -> None:
    _, out, result = trained
    assert set(result) >= {"test", "bundle", "seconds"}
    assert set(result["test"]) >= {"accuracy", "macro_f1"}
    assert 0.0 <= result["test"]["accuracy"] <= 1.0
    assert Path(result["bundle"]) == out
    assert (out / "confusion_matrix.png").is_file() and (out / "curves.png").is_file()


def test_predict_plain_and_json(trained) -> None:
    _, out, _ = trained
    plain = rnnkit("text", "predict", str(out), "a truly great film", "boring mess")
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.split("\t")[0] in {"pos", "neg"} for line in lines)
    js = rnnkit("text", "predict", str(out), "--json", "great fun")
    record = json.loads(js.stdout.strip().splitlines()[-1])
    assert record["label"] in {"pos", "neg"} and 0.5 <= record["probability"] <= 1.0
    assert set(record["probabilities"]) == {"neg", "pos"}


def test_predict_reads_texts_from_a_file_and_stdin(trained) -> None:
    root, out, _ = trained
    (root / "texts.txt").write_text("great fun\r\nboring\r\n", encoding="utf-8")
    from_file = rnnkit("text", "predict", str(out), "--input", str(root / "texts.txt"))
    assert len(from_file.stdout.strip().splitlines()) == 2
    from_stdin = rnnkit("text", "predict", str(out), "--input", "-", stdin="one\ntwo\nthree\n")
    assert len(from_stdin.stdout.strip().splitlines()) == 3


def test_evaluate_on_gzip_tsv_without_header(trained) -> None:
    root, out, _ = trained
    tsv = write_reviews(root / "eval.tsv", n=20, header=False, sep="\t")
    gz = root / "eval.tsv.gz"
    gz.write_bytes(gzip.compress(tsv.read_bytes()))
    run = rnnkit("text", "evaluate", str(out), str(gz), "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["count"] == 20 and "accuracy" in result


def test_label_by_index_with_separate_test_file(tmp_path) -> None:
    data = write_reviews(tmp_path / "train.csv", header=False)
    test = write_reviews(tmp_path / "test.csv", n=10, header=False)
    run = rnnkit("text", "train", str(data), "--test", str(test), "--text-column", "0",
                 "--label-column", "1", "--no-header", "--out", str(tmp_path / "b"), "--json",
                 *FAST)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["test"]["count"] == 10


def _error(run: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert fragment in run.stderr
    assert "Traceback" not in run.stderr
    assert len([line for line in run.stderr.splitlines() if line.startswith("error:")]) == 1


def test_user_errors_exit_2_with_one_line(trained, tmp_path) -> None:
    root, out, _ = trained
    data = root / "reviews.csv"
    _error(rnnkit("text", "train", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "x")),
           "does not exist")
    _error(
        rnnkit("text", "train", str(data), "--label-column", "stars", "--out", str(tmp_path / "x")),
        "stars",
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    _error(rnnkit("text", "train", str(empty), "--out", str(tmp_path / "x")), "empty")
    one = tmp_path / "one.csv"
    one.write_text("text,label\n" + "".join(f"t{i},pos\n" for i in range(20)), encoding="utf-8")
    _error(rnnkit("text", "train", str(one), "--out", str(tmp_path / "x"), *FAST), "single class")
    unseen = tmp_path / "unseen.csv"
    unseen.write_text("text,label\ngreat,pos\nawful,meh\n", encoding="utf-8")
    _error(rnnkit("text", "evaluate", str(out), str(unseen)), "meh")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"text,label\n\xff\xfe\xfa bad bytes,pos\nok,neg\n")
    _error(rnnkit("text", "train", str(binary), "--out", str(tmp_path / "x")), "binary.csv")
    _error(rnnkit("text", "predict", str(tmp_path / "nobundle"), "x"), "nobundle")
    _error(rnnkit("text", "predict", str(out)), "no texts")
    assert not (tmp_path / "x").exists()


def test_train_says_why_training_stopped(tmp_path) -> None:
    """The report names the reason (all epochs, early stopping, the budget): on stderr, in
    --json and in the bundle's metrics."""
    data = write_reviews(tmp_path / "reviews.csv")
    out = tmp_path / "bundle"
    run = rnnkit("text", "train", str(data), "--out", str(out), "--json", *FAST,
                 "--time-budget", "0.001")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["stopped_reason"] == "time_budget" and result["epochs_run"] >= 0
    assert "stopped: time budget reached" in run.stderr
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["stopped_reason"] == "time_budget"
