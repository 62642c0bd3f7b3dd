"""CLI start-up: how long `rnnkit` takes before it does anything, beside `import torch` alone.

The command imports no torch, pandas or matplotlib until a task needs them, so `--help` and the
user errors found before any data is read answer at once. Each command runs 7 times in a fresh
interpreter (round-robin); the median wall time is reported.

    python -m benchmarks.bench_startup
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import machine, run_as_script, table

ROUNDS = 7


def _commands(root: Path) -> dict[str, list[str]]:
    rnnkit = [sys.executable, "-m", "rnnkit"]
    return {
        "`python -c 'import torch'` (reference)": [sys.executable, "-c", "import torch"],
        "`rnnkit --help`": [*rnnkit, "--help"],
        "`rnnkit text train --help`": [*rnnkit, "text", "train", "--help"],
        "`rnnkit text train missing.csv --out m` (exit 2)": [
            *rnnkit,
            "text",
            "train",
            str(root / "missing.csv"),
            "--out",
            str(root / "m"),
        ],
    }


def run(quick: bool = False) -> str:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        commands = _commands(Path(tmp))
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(3 if quick else ROUNDS):
            for name, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, capture_output=True, check=False)
                samples[name].append(time.perf_counter() - start)
    medians = {name: sorted(s)[len(s) // 2] for name, s in samples.items()}
    reference = next(iter(medians.values()))
    rows = [
        (name, f"{seconds:.2f}", f"{seconds / reference:.2f}") for name, seconds in medians.items()
    ]
    return "\n".join([
        "## CLI start-up",
        "",
        f"Median of {ROUNDS} fresh interpreters per command. Before this change every command "
        "imported torch through the task modules, so none could start faster than the reference "
        "row.",
        "",
        table(["command", "seconds", "x import torch"], rows),
        "",
        f"Machine: {machine()}; 1-min load average {load:.2f} before the run.",
        "",
        "Command: `.venv/bin/python -m benchmarks.bench_startup`",
    ])


if __name__ == "__main__":
    run_as_script(run, Path(__file__).resolve().parent / "results" / "startup.md")
