"""tests/warm_cli.py: a command forked from a warm interpreter answers as a cold
``python -m rnnkit`` does (status, stdout, stderr, working directory, environment), a timeout
stops it, and the warm interpreter is reused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import warm_cli
from warm_cli import run_rnnkit


def test_warm_runs_answer_as_cold_ones(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(warm_cli.COLD_SWITCH, raising=False)
    (tmp_path / "data.csv").write_text("text,label\ngood,pos\nbad,neg\n", encoding="utf-8")
    env = {**os.environ, "COLUMNS": "100"}  # the environment of most CLI tests: warm already
    commands = [
        ["text", "train", "--help"],  # typer wraps the help to $COLUMNS
        ["text", "train", "data.csv", "--test", "data.csv", "--out", "m"],  # relative to cwd
        ["no-such-command"],
    ]
    for args in commands:
        cold = subprocess.run([sys.executable, "-m", "rnnkit", *args], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=120, check=False)
        for _ in range(2):  # an environment's first command may run cold, the next ones warm
            warm = run_rnnkit(args, env=env, cwd=tmp_path)
            assert (warm.args, warm.returncode, warm.stdout, warm.stderr) == (
                cold.args, cold.returncode, cold.stdout, cold.stderr)
    assert "overlap" in cold.stderr or "No such command" in cold.stderr
    assert not (tmp_path / "m").exists()
    key = frozenset((k, v) for k, v in env.items() if k != "PYTEST_CURRENT_TEST")
    warm = warm_cli._WARM[key]
    with pytest.raises(subprocess.TimeoutExpired):
        run_rnnkit(["text", "train", "data.csv", "--out", "m"], env=env, cwd=tmp_path,
                   timeout=0.01)
    assert run_rnnkit(["no-such-command"], env=env).returncode == 2
    assert warm_cli._WARM[key] is warm and warm.alive()  # still serving after the timeout
