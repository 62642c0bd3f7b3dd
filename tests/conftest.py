"""Shared test fixtures.

``shared_data`` points at ``../shared/data`` (or ``$RNNKIT_SHARED_DATA``); tests that need it are
skipped when it is absent, so the suite passes on a machine without the benchmark datasets.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("RNNKIT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The directory of real datasets; skips the test when it is not there."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"benchmark data not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _matplotlib_agg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
