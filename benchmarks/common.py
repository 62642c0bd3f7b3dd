"""Helpers shared by the benchmark modules: machine facts, interleaved timing, markdown tables.

Each ``bench_<area>.py`` exposes ``run(quick: bool) -> str`` returning a markdown section;
``run.py`` collects the sections into ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def machine() -> str:
    """One line naming the CPU model, the thread count torch uses, and the torch version."""
    import torch

    model = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, torch {torch.__version__}, {torch.get_num_threads()} threads"


def interleaved(
    candidates: dict[str, Callable[[], object]], repeats: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Median seconds per call of each candidate, timed round-robin so drift hits all alike.

    Example:
        >>> t = interleaved({"a": lambda: sum(range(100))}, repeats=3)
        >>> t["a"] > 0
        True
    """
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: sorted(s)[len(s) // 2] for name, s in samples.items()}


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def run_as_script(run: Callable[..., str], results: Path) -> None:
    """``python -m benchmarks.bench_<area> [--quick]``: print the section and keep it in
    ``results`` (``benchmarks/results/<area>.md``) for ``run.py --assemble``."""
    section = run(quick="--quick" in sys.argv)
    print(section)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(section)
