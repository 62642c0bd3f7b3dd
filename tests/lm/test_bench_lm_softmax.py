"""benchmarks/bench_lm.py's full vs adaptive softmax row runs (at toy sizes here)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.bench_lm import softmax_speed  # noqa: E402


def test_softmax_speed_measures_both_outputs_in_one_process() -> None:
    speed = softmax_speed(vocab=300, hidden=8, embedding=8, batch=2, bptt=4, repeats=1)
    assert speed["full"] > 0 and speed["adaptive"] > 0
    assert 2 <= speed["head"] < 300
