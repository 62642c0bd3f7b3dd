"""Reliability: the fault cases of ``tests/reliability/faults.py``, many trials each.

Each case injects one fault into a real run (SIGKILL during a save or during training, a full
disk, a corrupted or tampered bundle, the parent of ``--workers 2`` killed) and checks its promise
(see the docstring of ``faults.py``). The table counts the trials tried and the trials held.
Not a timing benchmark: the load of the machine changes only how long it takes.

    python -m benchmarks.bench_reliability [--quick]
"""

from __future__ import annotations

import os
import random
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import machine, run_as_script, table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))
import faults  # noqa: E402


def _cases(quick: bool) -> list[tuple[str, Callable[..., faults.Outcome], int]]:
    few = 1 if quick else None
    cases: list[tuple[str, Callable[..., faults.Outcome], int]] = [
        ("SIGKILL during a save (slow disk)", faults.sigkill_during_save, few or 24),
        ("SIGKILL during `text train`, then --resume", faults.sigkill_during_training, few or 6),
    ]
    if faults.can_mount_tmpfs(Path(tempfile.mkdtemp())) is None:
        cases += [
            ("disk full while saving (tmpfs)", faults.disk_full_while_saving, few or 12),
            ("disk full after `text train` (tmpfs)", faults.disk_full_cli_training, few or 4),
            (
                "disk full for the checkpoints of `text train` (tmpfs)",
                faults.disk_full_checkpoint,
                few or 3,
            ),
        ]
    for name in faults.CORRUPTIONS:
        flips = "flipped bit" in name
        cases.append((f"bundle {name} (`text predict`)", faults.corrupted_bundle_cli(name),
                      1 if quick else (3 if flips else 1)))
    cases += [
        ("SIGKILL to the parent of --workers 2", faults.workers_die_with_parent, few or 3),
        ("SIGTERM to the parent of --workers 2",
         lambda root, rng: faults.workers_die_with_parent(root, rng, signal.SIGTERM), few or 3),
    ]
    return cases


def run(quick: bool = False) -> str:
    load = os.getloadavg()[0]
    rows = []
    tried = held = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        faults.trained_bundle(workspace)
        for index, (name, case, trials) in enumerate(_cases(quick)):
            outcomes = []
            for seed in range(trials):
                root = workspace / f"case{index}-{seed}"
                root.mkdir()
                outcomes.append(case(root, random.Random(seed)))
                print(f"{name} #{seed}: {'held' if outcomes[-1] else 'BROKE'}: "
                      f"{outcomes[-1].detail}", flush=True)
            ok = sum(bool(o) for o in outcomes)
            tried += trials
            held += ok
            broke = next((o.detail for o in outcomes if not o), "")
            example = re.sub(r"\S*/case\d+-\d+/", "", broke or outcomes[-1].detail)
            rows.append((name, trials, ok, example[:110].replace("|", "/")))
    minutes = (time.monotonic() - started) / 60
    return "\n".join([
        "## Reliability: faults injected into real runs",
        "",
        f"**{held} of {tried} trials held** ({len(rows)} fault cases, {minutes:.1f} min). "
        "A trial holds when the promise in `tests/reliability/faults.py` is kept: the bundle loads "
        "(or is the old one, byte-identical), a user error is one stderr line with exit status 2, "
        "nothing hangs, no worker or temporary directory outlives its parent. "
        "The last column is the message a user saw (or what broke).",
        "",
        table(["fault", "trials", "held", "what the user saw"], rows),
        "",
        f"Machine: {machine()}; 1-min load average {load:.2f} before the run. It counts outcomes, "
        "not speed: load changes only how long it takes.",
        "",
        "Command: `.venv/bin/python -m benchmarks.bench_reliability`",
    ])


if __name__ == "__main__":
    run_as_script(run, Path(__file__).resolve().parent / "results" / "reliability.md")
