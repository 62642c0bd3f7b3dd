"""Shared test fixtures.

``shared_data`` points at ``../shared/data`` (or ``$RNNKIT_SHARED_DATA``); tests that need it are
skipped when it is absent, so the suite passes on a machine without the benchmark datasets.

Under pytest-xdist (``make test`` runs ``pytest -n 2``) each worker process computes on one torch
thread: two workers with torch's default of one thread per core would put two OpenMP teams on
each core, and libgomp's threads spin at every barrier through the time slice the other team
needs (the collapse docs/threads.md describes). Only the worker's own torch is set: subprocesses
the tests start keep torch's and the thread policy's defaults, which tests/threads assert
(and a training inside a test is still governed: rnnkit.threads may give it both cores while
the other worker is idle).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("RNNKIT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


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
