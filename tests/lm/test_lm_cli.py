"""`rnnkit lm` end to end in subprocesses: train --json contract, generate, score, user errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from warm_cli import run_rnnkit

FAST = ["--hidden-size", "16", "--num-layers", "1", "--embedding-dim", "8", "--bptt", "16",
        "--batch-size", "4", "--epochs", "3", "--seed", "0"]
TEXT = "the quick brown fox jumps over the lazy dog\nhello world\n" * 20


def rnnkit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "OMP_NUM_THREADS": "1"}
    return run_rnnkit(args, env=env, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("lmcli")
    (root / "a.txt").write_text(TEXT[:600], encoding="utf-8")
    (root / "b.txt").write_text(TEXT[600:], encoding="utf-8")
    out = root / "bundle"
    run = rnnkit("lm", "train", str(root / "a.txt"), str(root / "b.txt"), "--out", str(out),
                 "--sample-length", "30", "--json", *FAST)
    assert run.returncode == 0, run.stderr
    return root, out, json.loads(run.stdout.strip().splitlines()[-1])


def test_train_json_last_line_contract(trained) -> None:
    _, out, result = trained
    assert set(result) == {"valid", "sample", "bundle", "seconds", "train_seconds"}
    valid = result["valid"]
    assert set(valid) == {"loss", "bpc", "perplexity"}
    assert valid["bpc"] == pytest.approx(valid["loss"] / 0.6931471805599453)
    assert valid["perplexity"] > 1.0 and result["seconds"] > 0
    assert len(result["sample"]) == 30 and Path(result["bundle"]) == out
    assert (out / "config.json").is_file() and (out / "vectorizer.json").is_file()


def test_generate_streams_and_repeats_with_a_seed(trained) -> None:
    _, out, _ = trained
    args = ["lm", "generate", str(out), "--prime", "the ", "--length", "40", "--temperature", "0.7",
            "--top-k", "5", "--top-p", "0.95", "--seed", "3"]
    streamed, js = rnnkit(*args), rnnkit(*args, "--json")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout.startswith("the ")
    assert len(streamed.stdout) == len("the ") + 40 + 1  # the continuation, then a newline
    record = json.loads(js.stdout.strip().splitlines()[-1])
    assert record["text"] == "the " + record["continuation"] and len(record["continuation"]) == 40
    assert streamed.stdout == record["text"] + "\n"  # same seed, same sample, in another process
    stop = rnnkit("lm", "generate", str(out), "--length", "200", "--stop", "\\n", "--seed", "1")
    assert stop.returncode == 0 and stop.stdout.count("\n") == 1


def test_score(trained) -> None:
    root, out, _ = trained
    run = rnnkit("lm", "score", str(out), str(root / "b.txt"), "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["tokens"] == len(TEXT) - 600 - 1 and report["bpc"] > 0


def _error(run: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert fragment in run.stderr
    assert "Traceback" not in run.stderr
    assert len([line for line in run.stderr.splitlines() if line.startswith("error:")]) == 1


def test_user_errors_exit_2_with_one_line(trained, tmp_path) -> None:
    root, out, _ = trained
    _error(rnnkit("lm", "train", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "x")),
           "does not exist")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    _error(rnnkit("lm", "train", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "x")),
           "empty")
    _error(
        rnnkit("lm", "train", str(root / "a.txt"), "--level", "byte", "--out", str(tmp_path / "x")),
        "level",
    )
    _error(rnnkit("lm", "generate", str(out), "--prime", "xyz€", "--length", "5"), "vocabulary")
    _error(rnnkit("lm", "generate", str(out), "--temperature", "-1"), "temperature")
    _error(rnnkit("lm", "generate", str(tmp_path / "nobundle")), "nobundle")
    assert not (tmp_path / "x").exists()
