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
