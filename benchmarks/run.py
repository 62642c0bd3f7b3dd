"""Run every benchmark and write ``benchmarks/RESULTS.md`` (``make bench``).

Usage:
    python -m benchmarks.run [--quick] [--only nn,scratch,...]

Each ``bench_<area>.py`` returns a markdown section; the sections are also kept one file per area
in ``benchmarks/results/`` so that one area can be re-run alone
(``python -m benchmarks.bench_nn``) and the table re-assembled with ``--assemble``.

RESULTS.md is only ever written by ``assemble()``: edit the files under ``results/``, not it.
For each area in AREAS it joins ``results/<area>.md``, then the per-run files listed in
``EXTRAS[area]`` (runs a bench script writes under their own name, e.g. ``bench_lm --cell``);
every one of these files ``<name>.md`` is followed by ``results/<name>_notes.md`` when that
exists. The ``*_notes.md`` files hold hand-written analysis; no benchmark writes them, so
re-running a benchmark replaces its measured section and keeps the analysis.
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
    "allocator", "narrow", "blocks",
]
# Per-run files shown after an area's own section (each followed by its _notes file, if any).
EXTRAS = {
    "ulmfit": ["ulmfit_small"],
    "scan": ["lm_mingru_residual", "lm_mingru_residual_adamw", "lm_mingru_residual_adamw_seed1",
             "lm_lstm", "lm_lstm_seed1", "text_scan"],
    "memory": ["memory_chrono"],
}
# Results files RESULTS.md does not show whole: bench_translate builds translate.md from its two
# parts; lm_mingru (the plain MinGRU row) and threads_paired are quoted in notes.
NOT_ASSEMBLED = {"translate_multi30k", "translate_toys", "lm_mingru", "threads_paired"}


def render(date: str | None = None) -> str:
    """RESULTS.md's text: the per-area sections (with EXTRAS and _notes files) in AREAS order,
    under a header dated ``date`` (default today, ISO)."""
    parts = [
        "# Benchmark results",
        "",
        "Produced by `make bench` (all areas) or `python -m benchmarks.bench_<area>` (one area),",
        "then `python -m benchmarks.run --assemble`. Ratios compare against a baseline run in the",
        f"same process. Assembled {date or dt.date.today().isoformat()}.",
        "",
    ]
    for area in AREAS:
        for name in [area, *EXTRAS.get(area, [])]:
            for stem in (name, f"{name}_notes"):
                path = HERE / "results" / f"{stem}.md"
                if path.exists():
                    parts += [path.read_text(encoding="utf-8").strip(), ""]
    return "\n".join(parts)


def assemble() -> str:
    """Write :func:`render`'s text to RESULTS.md and return it."""
    text = render()
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
