"""The environment half of the thread policy: the OpenMP wait default is in place before torch
starts (checked by libgomp itself, OMP_DISPLAY_ENV), a user's settings win, the switch turns it
off, and `rnnkit info` shows the policy and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys

BASE = {k: v for k, v in os.environ.items()
        if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "OMP_NUM_THREADS",
                     "RNNKIT_THREAD_POLICY")}


def _info(**env: str) -> tuple[dict, str, str]:
    run = subprocess.run([sys.executable, "-m", "rnnkit", "info", "--json"],
                         capture_output=True, text=True, check=False,
                         env={**BASE, "OMP_DISPLAY_ENV": "verbose", **env})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1]), run.stdout, run.stderr


def test_the_command_sets_short_spinning_before_torch_starts_openmp() -> None:
    status, stdout, stderr = _info()
    policy = status["thread_policy"]
    assert policy["wait"] == {"GOMP_SPINCOUNT": "1000"}
    assert "set by rnnkit" in policy["wait_source"]
    assert "GOMP_SPINCOUNT = '1000'" in stderr  # libgomp's own report: a short spin, then sleep
    assert policy["threads"] >= 1 and "usable CPU" in policy["reason"]
    assert "thread policy:" in stdout and "GOMP_SPINCOUNT=1000" in stdout


def test_a_users_wait_policy_and_thread_count_win() -> None:
    status, stdout, stderr = _info(OMP_WAIT_POLICY="ACTIVE", OMP_NUM_THREADS="1")
    policy = status["thread_policy"]
    assert policy["wait"] == {"OMP_WAIT_POLICY": "ACTIVE"}
    assert policy["wait_source"] == "set by you"
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in stderr
    assert (policy["threads"], policy["governed"]) == (1, False)
    assert "as you set them" in stdout


def test_the_switch_restores_openmps_defaults() -> None:
    status, stdout, stderr = _info(RNNKIT_THREAD_POLICY="off")
    assert status["thread_policy"]["enabled"] is False
    assert status["thread_policy"]["wait"] == {}
    assert "GOMP_SPINCOUNT = '300000'" in stderr  # libgomp's spinning default
    assert "thread policy: off" in stdout


def test_too_late_after_torch_was_imported() -> None:
    import torch  # noqa: F401 - imported: OpenMP has read its settings

    from rnnkit.threads import prepare_environment

    environ: dict[str, str] = {}
    assert prepare_environment(environ) == {} and environ == {}


def test_a_child_started_with_the_users_environment_gets_openmps_defaults() -> None:
    """benchmarks/__init__ prepares its own process; its `RNNKIT_THREAD_POLICY=off` cells must
    start as rnnkit before the policy did (the first bench_threads runs did not: their "old"
    cells inherited the short spin and never collapsed)."""
    parent = (
        "import os, subprocess, sys\n"
        "from rnnkit.threads import prepare_environment, user_environment\n"
        "prepare_environment()\n"
        "env = {**user_environment(), 'RNNKIT_THREAD_POLICY': 'off',\n"
        "       'OMP_DISPLAY_ENV': 'verbose'}\n"
        "child = subprocess.run([sys.executable, '-c', 'import torch; torch.ones(4).sum()'],\n"
        "                       env=env, capture_output=True, text=True)\n"
        "print(os.environ.get('GOMP_SPINCOUNT'))\n"
        "sys.stderr.write(child.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True,
                         check=True, env=BASE)
    assert run.stdout.strip() == "1000"  # the parent itself is prepared
    assert "GOMP_SPINCOUNT = '300000'" in run.stderr  # the child is not
