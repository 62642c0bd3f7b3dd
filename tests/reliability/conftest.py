"""The reliability suite: fault scripts from ``faults.py``, a few trials each.

``benchmarks/bench_reliability.py`` runs the same cases many more times and reports the counts.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory per module; the tiny trained bundle every case starts from lives here."""
    root = tmp_path_factory.mktemp("reliability")
    import faults

    faults.trained_bundle(root)
    return root


@pytest.fixture
def trial(workspace: Path, request: pytest.FixtureRequest):
    """``trial(case, seed)`` runs one trial of a fault case in a fresh directory; returns its
    Outcome.
    """

    def run(case, seed: int = 0):
        root = workspace / f"{request.node.name}-{seed}".replace("/", "_").replace(
            "[", "-"
        ).replace("]", "")
        root.mkdir()
        return case(root, random.Random(seed))
    return run
