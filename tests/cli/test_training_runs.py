"""Long training runs from the command line: the time budget bounds the training phase with its
validation, Ctrl-C says what was saved, --resume says what it did, checkpoints are tidied."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import assert_one_line_error

from warm_cli import run_rnnkit

#: A small character-level LM on one thread: about a second an epoch on the text below.
LM = ["--hidden-size", "32", "--num-layers", "1", "--embedding-dim", "16", "--bptt", "32",
      "--batch-size", "16", "--seed", "0"]


def _text(path: Path, sentences: int) -> Path:
    words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "and", "runs"]
    lines = [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(8))
             for i in range(sentences)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _text(tmp_path_factory.mktemp("corpus") / "corpus.txt", 1500)  # ~60 KB


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory) -> Path:
    return _text(tmp_path_factory.mktemp("corpus") / "big.txt", 6000)  # ~240 KB


#: One torch thread: on a shared 2-core machine a second one mostly waits (see tests/lm).
ENV = {**os.environ, "COLUMNS": "100", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _start(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "rnnkit", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def rnnkit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_rnnkit(args, env=ENV, timeout=300)


def _interrupt(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> str:
    """Wait until ``ready()`` (at most 120 s), send SIGINT, and return the whole stderr."""
    deadline = time.monotonic() + 120
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return err


def _interrupt_line(proc: subprocess.Popen[str], err: str) -> str:
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "interrupted" in line]
    assert len(lines) == 1, err
    return lines[0]


def test_time_budget_bounds_training_with_expensive_validation(big_corpus, tmp_path) -> None:
    """Four fifths of the text validate, so every validation pass costs more than the training
    epoch's share of the budget: the passes must fit in the budget, not run after it."""
    budget = 4.0
    run = rnnkit("lm", "train", big_corpus, "--out", tmp_path / "lm", "--valid-fraction", "0.8",
                 "--time-budget", str(budget), "--sample-length", "10", "--json", *LM)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert "time budget" in run.stderr
    assert result["train_seconds"] <= budget + 1.0, result
    assert result["seconds"] >= result["train_seconds"]
    assert "Epoch 1 - " in run.stderr  # no made-up epoch count under a budget


def test_ctrl_c_after_a_checkpoint_names_it(corpus, tmp_path) -> None:
    checkpoints = tmp_path / "ck"
    proc = _start("lm", "train", corpus, "--out", tmp_path / "lm", "--valid-fraction", "0",
                  "--epochs", "200", "--checkpoint-dir", checkpoints, *LM)
    err = _interrupt(proc, (checkpoints / "checkpoint.safetensors").is_file)
    line = _interrupt_line(proc, err)
    assert line.startswith("interrupted at epoch "), line
    assert f"the last checkpoint is {checkpoints / 'checkpoint.safetensors'}" in line
    assert "rerun with --resume" in line


def test_ctrl_c_without_checkpoints_says_nothing_was_saved(corpus, tmp_path) -> None:
    proc = _start("lm", "train", corpus, "--out", tmp_path / "lm", "--valid-fraction", "0",
                  "--epochs", "200", *LM)
    assert proc.stderr is not None
    seen: list[str] = []

    def first_epoch_done() -> bool:
        line = proc.stderr.readline()  # type: ignore[union-attr]
        seen.append(line)
        return line.startswith("Epoch 1/") or not line

    err = "".join(seen) + _interrupt(proc, first_epoch_done)
    line = _interrupt_line(proc, err)
    assert line.startswith("interrupted at epoch ") and "nothing was saved" in line, line


def test_resume_without_checkpoint_starts_fresh_and_tidies_up(corpus, tmp_path) -> None:
    out = tmp_path / "lm"
    run = rnnkit("lm", "train", corpus, "--out", out, "--resume", "--epochs", "1",
                 "--valid-fraction", "0", "--sample-length", "5", *LM)
    assert run.returncode == 0, run.stderr
    assert f"resume: no checkpoint at {tmp_path / 'lm.checkpoints'}" in run.stderr
    assert "starting fresh" in run.stderr
    assert not (tmp_path / "lm.checkpoints").exists()  # the default directory served its run


def test_resume_with_another_hidden_size_is_one_line_naming_the_option(corpus, tmp_path) -> None:
    checkpoints = tmp_path / "ck"
    common = ["--valid-fraction", "0", "--sample-length", "5", "--checkpoint-dir", checkpoints]
    first = rnnkit("lm", "train", corpus, "--out", tmp_path / "a", "--epochs", "1", *common, *LM)
    assert first.returncode == 0, first.stderr
    assert f"checkpoints: kept in {checkpoints}" in first.stderr  # given by the user: kept
    again = rnnkit("lm", "train", corpus, "--out", tmp_path / "b", "--epochs", "2", "--resume",
                   *common, *LM, "--hidden-size", "48")
    assert_one_line_error(again, "--hidden-size 32", "--hidden-size 48")


def test_forecast_steps_are_capped() -> None:
    run = rnnkit("series", "forecast", "no-bundle", "--steps", "100000")
    assert_one_line_error(run, "--steps", "500")
