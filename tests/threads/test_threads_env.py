"""What the thread policy leaves to OpenMP and what `rnnkit info` shows: the command keeps
libgomp's own waiting (checked by libgomp itself, OMP_DISPLAY_ENV; a short spin cost 7-30% on a
quiet machine, see rnnkit.threads.policy), a user's settings win, the switch turns the policy
off."""

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


def test_the_command_keeps_openmps_waiting_and_governs_the_thread_count() -> None:
    status, stdout, stderr = _info()
    policy = status["thread_policy"]
    assert policy["wait"] == {} and policy["wait_source"] == "OpenMP's default"
    assert "GOMP_SPINCOUNT = '300000'" in stderr  # libgomp's own report: its default spin
    assert policy["threads"] >= 1 and "usable CPU" in policy["reason"]
    assert "thread policy:" in stdout and "spin, then sleep" in stdout


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
