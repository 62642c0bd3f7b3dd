"""The malloc policy (``rnnkit.allocator``): training speed with it on and off.

Every cell is a fresh interpreter (the policy is process-wide and applied once), the environment
differing only in ``RNNKIT_MALLOC_POLICY``; on and off alternate over ``--rounds`` rounds and the
table shows medians:

- layers: one training step (forward + backward of ``out.square().mean()``) of
  ``rnnkit.nn.LSTM`` and ``MinGRU`` (F = H = 128, batch 32, float32) at T = 512 and 2048, best
  of 8 steps after 2 warm-up steps, in ms (the policy applied as training applies it), and the
  process's peak resident size (``VmHWM``): what keeping freed memory costs;
- tasks: the default trainings of ``benchmarks.bench_threads`` (text on 4,000 IMDB reviews when
  ``--data`` has them, seq, lm, translate), steps per second over a fixed number of steps.

    python -m benchmarks.bench_allocator [--rounds 3] [--data ../shared/data] [--only ...]

Refuses to start when the 1-minute load average is 0.5 or more (``--force`` runs anyway).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import SHARED_DATA, machine, table

LAYERS = [("LSTM", 512), ("MinGRU", 512), ("LSTM", 2048), ("MinGRU", 2048)]
TASKS = {"text": 20, "seq": 80, "lm": 40, "translate": 50}
MAX_LOAD = 0.5


def layer_cell(kind: str, steps: int) -> dict[str, float]:
    """One layer's best training step in ms, in this (fresh) interpreter."""
    import time

    import torch

    from rnnkit import nn as rnn
    from rnnkit.allocator import keep_freed_memory

    keep_freed_memory()
    torch.manual_seed(0)
    layer = getattr(rnn, kind)(128, 128)
    x = torch.randn(32, steps, 128, requires_grad=True)
    times = []
    for i in range(10):
        started = time.perf_counter()
        out, _ = layer(x)
        out.square().mean().backward()
        if i >= 2:
            times.append(time.perf_counter() - started)
    status = open("/proc/self/status").read().split("VmHWM:")[1]  # peak resident size
    return {"value": 1000 * min(times), "peak_mb": int(status.split()[0]) / 1024}


def _measure(what: str, policy: str, data: Path) -> dict[str, float]:
    env = {**os.environ, "RNNKIT_MALLOC_POLICY": policy}
    if what in TASKS:
        command = ["-m", "benchmarks.bench_threads", "--cell", what, "--steps",
                   str(TASKS[what]), "--data", str(data)]
        key = "per_second"
    else:
        kind, steps = what.split("@")
        command = ["-m", "benchmarks.bench_allocator", "--layer", kind, "--steps", steps]
        key = "value"
    out = subprocess.run([sys.executable, *command], env=env, capture_output=True, text=True,
                         check=True, timeout=30 * 60).stdout
    found = json.loads(out.strip().splitlines()[-1])
    return {"value": float(found[key]), "peak_mb": float(found.get("peak_mb", "nan"))}


def run(quick: bool = False, rounds: int | None = None, data: Path = SHARED_DATA,
        only: list[str] | None = None, force: bool = False) -> str:
    """The markdown section of benchmarks/results/allocator.md (``quick``: one round)."""
    rounds = rounds or (1 if quick else 3)
    load = os.getloadavg()[0]
    if load >= MAX_LOAD and not force:
        raise SystemExit(f"bench_allocator: the 1-minute load average is {load:.2f} "
                         f"(>= {MAX_LOAD}); wait for a quiet machine or pass --force")
    cells = [f"{kind}@{steps}" for kind, steps in LAYERS] + list(TASKS)
    rows = []
    for what in [c for c in cells if not only or c.split("@")[0].lower() in only or c in only]:
        samples: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
        for round_ in range(rounds):
            for policy in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
                samples[policy].append(_measure(what, policy, data))
                print(f"  {what} {policy}: {samples[policy][-1]}", file=sys.stderr)
        off, on = (_median([s["value"] for s in samples[p]]) for p in ("off", "on"))
        peaks = "/".join(f"{max(s['peak_mb'] for s in samples[p]):.0f}" for p in ("off", "on"))
        if what in TASKS:
            rows.append([f"{what} (steps/s)", f"{off:.3g}", f"{on:.3g}", f"{on / off:.2f}x", "-"])
        else:
            kind, steps = what.split("@")
            rows.append([f"{kind} T={steps} (ms per step)", f"{off:.1f}", f"{on:.1f}",
                         f"{off / on:.2f}x", peaks])
    return (
        "## Malloc policy: freed tensor memory kept for reuse (`rnnkit.allocator`)\n\n"
        f"Machine: {machine()}; 1-minute load before: {load:.2f}. Medians of {rounds} "
        "alternating rounds, every cell a fresh process; off = `RNNKIT_MALLOC_POLICY=off` "
        "(glibc's defaults).\n\n"
        + table(["training", "policy off", "policy on", "speed-up", "peak MB off/on"], rows)
        + "\n\nReproduce: `python -m benchmarks.bench_allocator` on an otherwise idle machine."
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=SHARED_DATA,
                        help="folder with imdb_aclImdb/ (else the bundled UCI sentences)")
    parser.add_argument("--only", help="comma-separated: lstm, mingru, text, seq, lm, translate")
    parser.add_argument("--force", action="store_true", help="run even on a busy machine")
    parser.add_argument("--layer", help=argparse.SUPPRESS)  # internal: one layer cell
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.layer:
        print(json.dumps(layer_cell(args.layer, args.steps)))
        return
    only = [name.strip().lower() for name in args.only.split(",")] if args.only else None
    section = run(rounds=args.rounds, data=args.data, only=only, force=args.force)
    out = Path(__file__).resolve().parent / "results" / "allocator.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(section + "\n", encoding="utf-8")
    print(section)


if __name__ == "__main__":
    main()
