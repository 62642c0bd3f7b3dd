"""benchmarks/RESULTS.md is what ``python -m benchmarks.run --assemble`` writes from
benchmarks/results/ (measured sections, per-run files and the hand-written ``*_notes.md``), so
re-running a benchmark or re-assembling never loses text written into RESULTS.md by hand."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks import run

RESULTS = Path(run.__file__).resolve().parent / "RESULTS.md"


def test_results_md_is_the_assembled_text() -> None:
    written = RESULTS.read_text(encoding="utf-8")
    date = re.search(r"Assembled (\d{4}-\d{2}-\d{2})\.", written)
    assert date, "RESULTS.md lost its 'Assembled <date>.' header line"
    assert written == run.render(date.group(1)), (
        "benchmarks/RESULTS.md differs from `python -m benchmarks.run --assemble`: edit "
        "benchmarks/results/<area>.md or <area>_notes.md, then re-assemble"
    )


def test_every_results_file_is_assembled_or_kept_on_purpose() -> None:
    """A results file no area or EXTRAS entry names would never reach RESULTS.md."""
    named = {n for area in run.AREAS for n in [area, *run.EXTRAS.get(area, [])]}
    shown = named | {f"{n}_notes" for n in named}
    files = {p.stem for p in (RESULTS.parent / "results").glob("*.md")}
    assert files - shown <= run.NOT_ASSEMBLED, sorted(files - shown - run.NOT_ASSEMBLED)
