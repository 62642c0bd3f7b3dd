"""Real processes on loopback through the CLI: a SIGKILLed worker stops the whole job quickly with
a message naming its rank, ``--resume`` continues from the last checkpoint, and torchrun runs the
same command (only rank 0 prints and writes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from dist_helpers import parent_pids

from rnnkit.io import load_bundle_parts

TRAIN = ["--hidden-size", "8", "--batch-size", "8", "--max-tokens", "100", "--seed", "0"]


def write_reviews(path: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    good, bad = (
        ["great", "fun", "fine", "moving", "superb"],
        ["dull", "bad", "boring", "awful", "weak"],
    )
    rows = ["text,label"]
    for i in range(n):
        positive = i % 2 == 0
        words = (
            rng.choice(good + bad, size=6).tolist()
            + rng.choice(good if positive else bad, size=3).tolist()
        )
        rows.append(" ".join(words) + ("," + ("pos" if positive else "neg")))
    path.write_text("\n".join(rows) + "\n")
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "100"}


def _children(pid: int) -> list[int]:
    return sorted(child for child, parent in parent_pids().items() if parent == pid)


def _workers(pid: int) -> list[int]:
    """The training workers of a CLI process: forked by its fork server, in rank order."""
    return sorted(w for child in _children(pid) for w in _children(child))


def test_killed_worker_stops_the_job_naming_its_rank_and_resume_finishes(tmp_path: Path) -> None:
    data = write_reviews(tmp_path / "reviews.csv", 2400)
    out = tmp_path / "model"
    command = [sys.executable, "-m", "rnnkit", "text", "train", str(data), "--out", str(out),
               "--workers", "2", "--epochs", "5", *TRAIN]
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=_env())
    checkpoint = tmp_path / "model.checkpoints" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _workers(job.pid)
    assert checkpoint.exists() and len(workers) == 2, (job.poll(), workers)
    os.kill(workers[1], signal.SIGKILL)
    killed_at = time.monotonic()
    try:
        _, stderr = job.communicate(timeout=60)
    finally:
        job.kill()
    assert time.monotonic() - killed_at < 30  # bounded: no hang in a collective
    assert job.returncode == 2
    assert "error: worker rank 1 died (SIGKILL)" in stderr and "--resume" in stderr
    assert not out.exists()
    assert [w for w in workers if Path(f"/proc/{w}").exists()] == []  # no worker left behind

    resumed = subprocess.run([*command, "--resume", "--json"], capture_output=True, text=True,
                             env=_env(), timeout=180, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming from" in resumed.stderr and "at epoch 1," not in resumed.stderr
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert result["test"]["accuracy"] > 0.9
    history = load_bundle_parts(out).history_csv().strip().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == [str(e) for e in range(1, len(history))]
    assert len(history) - 1 >= 2


@pytest.mark.parametrize("stream", [False, True])
def test_torchrun_runs_the_same_command_with_rank_zero_reporting(
    tmp_path: Path, stream: bool
) -> None:
    data = write_reviews(tmp_path / "reviews.csv", 300)
    out = tmp_path / "model"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
               "2", "-m", "rnnkit", "text", "train", str(data), "--out", str(out), "--epochs", "2",
               "--json", *TRAIN, *(["--stream"] if stream else [])]
    run = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=180,
                         check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    json_lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(json_lines) == 1 and json.loads(json_lines[0])["bundle"] == str(out)
    assert run.stderr.count("Epoch 1/2") == 1  # progress from rank 0 only
    assert run.stdout.count("bundle:") == 1
    parts = load_bundle_parts(out)
    assert parts.config["classes"] == ["neg", "pos"] and len(parts.history_csv().splitlines()) == 3
