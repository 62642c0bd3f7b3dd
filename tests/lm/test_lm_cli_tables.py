"""`rnnkit lm train/score` on tables and class folders, with the AWD-LSTM and adaptive options."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from test_lm_cli import rnnkit

from rnnkit.cli.lm import _documents
from rnnkit.errors import DataError
from rnnkit.tasks.language_model import DOCUMENT_SEPARATOR

FAST = ["--level", "word", "--hidden-size", "8", "--num-layers", "1", "--embedding-dim", "8",
        "--bptt", "8", "--batch-size", "4", "--epochs", "2", "--sample-length", "5"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lmtables")
    with (root / "reviews.csv").open("w", newline="", encoding="utf-8") as f:
        rows = [("id", "review")] + [
            (i, "the film was good, the cast fun" if i % 2 else "a dull film\nwith a weak plot")
            for i in range(30)
        ]
        csv.writer(f).writerows(rows)
    return root


def test_train_on_a_csv_column_with_awd_and_adaptive_options(reviews) -> None:
    out = reviews / "bundle"
    run = rnnkit("lm", "train", str(reviews / "reviews.csv"), "--text-column", "review",
                 "--out", str(out), "--json", *FAST, "--output", "adaptive", "--cutoffs", "4",
                 "--weight-drop", "0.3", "--embedding-dropout", "0.1", "--locked-dropout",
                 "--ar", "2", "--tar", "1")
    assert run.returncode == 0, run.stderr
    assert "of 30 documents" in run.stderr and "perplexity" in run.stdout
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["valid"]["perplexity"] > 1
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    params = config["params"]
    assert params["document_separator"] == DOCUMENT_SEPARATOR and params["output"] == "adaptive"
    assert (params["weight_drop"], params["embedding_dropout"], params["locked_dropout"],
            params["ar"], params["tar"]) == (0.3, 0.1, True, 2.0, 1.0)
    assert config["network"]["cutoffs"] == [4]
    score = rnnkit("lm", "score", str(out), str(reviews / "reviews.csv"), "--text-column",
                   "review", "--json")
    assert score.returncode == 0, score.stderr
    assert json.loads(score.stdout.strip().splitlines()[-1])["perplexity"] > 1


def test_input_and_option_errors_are_one_line(reviews, tmp_path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("hello\n", encoding="utf-8")
    run = rnnkit("lm", "train", str(reviews / "reviews.csv"), "--out", str(tmp_path / "o"),
                 *FAST, "--cutoffs", "4,x")
    assert run.returncode == 2 and "--cutoffs '4,x'" in run.stderr, run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    mixed = rnnkit("lm", "train", str(reviews / "reviews.csv"), str(plain), "--out",
                   str(tmp_path / "o"))
    assert mixed.returncode == 2 and "plain text file among tables" in mixed.stderr
    assert not (tmp_path / "o").exists()


def test_class_folders_are_documents_and_plain_files_are_not(tmp_path) -> None:
    for label, text in (("pos", "great fun"), ("neg", "so boring")):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "data" / label / f"{i}.txt").write_text(f"{text} {i}", encoding="utf-8")
    docs = _documents([tmp_path / "data"], None, None, "utf-8")
    assert docs is not None and sorted(docs) == sorted(
        [f"great fun {i}" for i in range(3)] + [f"so boring {i}" for i in range(3)])
    plain = tmp_path / "plain.txt"
    plain.write_text("x\n", encoding="utf-8")
    assert _documents([plain], None, None, "utf-8") is None
    with pytest.raises(DataError, match="missing.txt does not exist"):
        _documents([tmp_path / "missing.txt"], None, None, "utf-8")
