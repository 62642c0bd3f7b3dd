"""`rnnkit info`: what runs the layers here, and --compile building the kernels ahead of use."""

from __future__ import annotations

import json
import os
import subprocess

from rnnkit.nn.kernels import dispatch
from warm_cli import run_rnnkit


def rnnkit(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_rnnkit(args, env={**os.environ, **env}, timeout=300)


def test_info_reports_the_rules_and_where_kernel_work_runs() -> None:
    run = rnnkit("info", "--json")
    assert run.returncode == 0, run.stderr
    status = json.loads(run.stdout.strip().splitlines()[-1])
    assert status["size_rule"] == dispatch.NUMBA_MAX_HIDDEN
    assert status["inference_rule"]["lstm"]["max_batch_x_hidden"] == (
        dispatch.NUMBA_INFERENCE_MAX_CELLS["lstm"]
    )
    assert status["work_units_on"] in ("openmp", "pool")
    assert "compiled" not in status
    text = run.stdout
    assert "SimpleRNN H <= 512" in text and "LSTM never" in text and "SelectiveSSM any H" in text
    assert "also without autograd: LSTM H <= 128" in text


def test_info_follows_the_environment() -> None:
    run = rnnkit("info", RNNKIT_KERNEL_THREADS="pool", RNNKIT_KERNELS="torch")
    assert run.returncode == 0, run.stderr
    assert "backend choice: torch" in run.stdout
    assert "a private thread pool" in run.stdout
    for variable in ("RNNKIT_KERNELS", "RNNKIT_KERNEL_THREADS"):
        bad = rnnkit("info", **{variable: "fast"})
        assert bad.returncode == 2
        assert bad.stderr.strip().startswith(f"error: {variable}:")
        assert len(bad.stderr.strip().splitlines()) == 1


def test_info_compile_builds_every_kernel_for_both_dtypes() -> None:
    run = rnnkit("info", "--compile", "--json")
    assert run.returncode == 0, run.stderr
    status = json.loads(run.stdout.strip().splitlines()[-1])
    assert status["failure"] is None
    assert sorted(status["compiled"]) == sorted(
        f"{kind}/{dtype}"
        for kind in ("rnn", "gru", "lstm", "mingru", "minlstm", "lru", "ssm", "mlstm", "block")
        for dtype in ("float32", "float64")
    )
    assert all(isinstance(s, float) and s >= 0 for s in status["compiled"].values())
    assert "compiled or loaded from numba's cache: rnn/float32" in run.stdout
