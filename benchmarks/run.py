"""Run every benchmark and write ``benchmarks/RESULTS.md`` (``make bench``).

Usage:
    python -m benchmarks.run [--quick] [--only nn,scratch,...]

Each ``bench_<area>.py`` returns a markdown section; the sections are also kept one file per area
in ``benchmarks/results/`` so that one area can be re-run alone
(``python -m benchmarks.bench_nn``) and the table re-assembled with ``--assemble``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
AREAS = [
    "nn", "kernels", "scan", "scratch", "data", "train", "text", "ulmfit", "seq", "series", "lm",
    "translate", "memory", "serve", "distributed", "reliability", "startup", "threads",
    "allocator", "narrow",
]


def assemble() -> str:
    """Join the per-area sections into RESULTS.md, in AREAS order."""
    parts = [
        "# Benchmark results",
        "",
        "Produced by `make bench` (all areas) or `python -m benchmarks.bench_<area>` (one area),",
        "then `python -m benchmarks.run --assemble`. Ratios compare against a baseline run in the",
        f"same process. Assembled {dt.date.today().isoformat()}.",
        "",
    ]
    for area in AREAS:
        path = HERE / "results" / f"{area}.md"
        if path.exists():
            parts += [path.read_text(encoding="utf-8").strip(), ""]
    text = "\n".join(parts)
    (HERE / "RESULTS.md").write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller data")
    parser.add_argument("--only", default=",".join(AREAS), help="comma-separated areas")
    parser.add_argument("--assemble", action="store_true", help="only re-assemble RESULTS.md")
    args = parser.parse_args(argv)
    if not args.assemble:
        (HERE / "results").mkdir(exist_ok=True)
        for area in args.only.split(","):
            module = importlib.import_module(f"benchmarks.bench_{area}")
            section = module.run(quick=args.quick)
            (HERE / "results" / f"{area}.md").write_text(section + "\n", encoding="utf-8")
            print(section, flush=True)
    assemble()


if __name__ == "__main__":
    main()
