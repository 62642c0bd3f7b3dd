"""Early checks of `rnnkit text` and `rnnkit inspect` (subprocesses): a test/validation label unseen
in training is refused before training, texts without words are refused, a CSV --input's header
row is not classified, and an inspect error leaves no --out folder behind."""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import pytest

from warm_cli import run_rnnkit

FAST = ["--epochs", "2", "--hidden-size", "8", "--max-tokens", "200", "--seed", "0"]


def rnnkit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return run_rnnkit(args, env=env, timeout=300)


def reviews(path: Path, labels: tuple[str, ...] = ("pos", "neg"), n: int = 40) -> Path:
    rows = ["text,label"]
    for i in range(n):
        label = labels[i % len(labels)]
        words = "a truly great and fun film" if label == "pos" else "a dull and boring mess"
        rows.append(f"{words} number {i},{label}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("early")
    out = root / "bundle"
    run = rnnkit("text", "train", str(reviews(root / "train.csv")), "--out", str(out), *FAST)
    assert run.returncode == 0, run.stderr
    return root, out


def _one_error_line(run: subprocess.CompletedProcess[str]) -> str:
    """The error line: exit status 2, one ``error:`` line last on stderr (after progress lines
    such as ``read 40 training texts``), no traceback."""
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:], run.stderr
    assert "Traceback" not in run.stderr and "Warning" not in run.stderr
    return lines[-1]


@pytest.mark.parametrize("option", ["--test", "--valid"])
def test_unseen_test_or_valid_label_is_refused_before_training(tmp_path, option) -> None:
    train = reviews(tmp_path / "train.csv")
    good = reviews(tmp_path / "good.csv")
    other = reviews(tmp_path / "other.csv", labels=("pos", "neg", "meh"))
    out = tmp_path / "model"
    run = rnnkit("text", "train", str(train), option, str(good), str(other), "--out", str(out),
                 *FAST)
    line = _one_error_line(run)
    assert f"{option}: label 'meh' in {other} is not among the training labels (neg, pos)" in line
    assert "epoch" not in run.stderr  # refused before training started
    assert not out.exists()


def test_predict_refuses_texts_without_words(trained) -> None:
    root, out = trained
    line = _one_error_line(rnnkit("text", "predict", str(out), "a fine film", ""))
    assert "TEXT: text 2 ('') has no words to classify" in line
    (root / "texts.csv").write_text("text\ngreat fun\n!!!\n", encoding="utf-8")
    line = _one_error_line(rnnkit("text", "predict", str(out), "--input", str(root / "texts.csv")))
    assert "--input: text 2 ('!!!') has no words to classify" in line


def test_python_predict_warns_on_an_empty_text(trained) -> None:
    from rnnkit.errors import RnnkitWarning
    from rnnkit.tasks import TextClassifier

    clf = TextClassifier.load(trained[1])
    with pytest.warns(RnnkitWarning, match="1 text without words .*index 1"):
        clf.predict(["a great film", "  "])
    with pytest.warns(RnnkitWarning, match="2 texts without words .*index 0: '!!!'"):
        clf.predict_proba(["!!!", "a great film", ""])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(["a great film"])
    assert clf.wordless(["fine", "", "?!"]) == [1, 2]


@pytest.mark.parametrize("header", ["review", "Tweet Text", "review_text", "Comments", "phrase"])
def test_predict_input_csv_skips_its_header_row(trained, header) -> None:
    root, out = trained
    path = root / "new.csv"
    path.write_text(f"{header}\na great fun film\na dull boring mess\nfun\n", encoding="utf-8")
    say = ["--header"] if header == "phrase" else []  # not a known column name: say so
    run = rnnkit("text", "predict", str(out), "--input", str(path), *say)
    assert run.returncode == 0, run.stderr
    texts = [line.split("\t")[2] for line in run.stdout.strip().splitlines()]
    assert texts == ["a great fun film", "a dull boring mess", "fun"]


def test_predict_input_csv_keeps_a_first_row_that_is_a_text(trained) -> None:
    root, out = trained
    path = root / "plain.csv"
    path.write_text("great review\na dull boring mess\n", encoding="utf-8")
    run = rnnkit("text", "predict", str(out), "--input", str(path))
    assert run.returncode == 0, run.stderr
    assert [line.split("\t")[2] for line in run.stdout.strip().splitlines()] == [
        "great review", "a dull boring mess"]


def test_inspect_error_leaves_no_out_folder(trained) -> None:
    root, out = trained
    target = root / "inside" / "new"
    line = _one_error_line(rnnkit("inspect", str(out), "   ", "--out", str(target)))
    assert "INPUT: empty text" in line
    assert not target.exists() and not target.parent.exists()
    kept = root / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("x", encoding="utf-8")
    _one_error_line(rnnkit("inspect", str(out), "", "--out", str(kept)))
    assert sorted(p.name for p in kept.iterdir()) == ["mine.txt"]
