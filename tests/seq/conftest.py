"""Fixtures for the sequence-classification tests: synthetic data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest


def marker_order(n: int, seed: int = 0) -> tuple[list[np.ndarray], list[str]]:
    """Sequences (T_i, 3) holding one "A" marker (feature 0) and one "B" marker (feature 1) at
    random steps, plus noise (feature 2). The label says which marker came first ("AB" or "BA").

    Both classes contain exactly the same values, only in another order, so any model that ignores
    time order (e.g. one that averages the steps) is at chance.
    """
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        steps = int(rng.integers(6, 14))
        x = np.zeros((steps, 3), dtype=np.float32)
        x[:, 2] = rng.standard_normal(steps)
        first, second = sorted(rng.choice(steps, size=2, replace=False))
        a_first = i % 2 == 0
        x[first, 0 if a_first else 1] = 1.0
        x[second, 1 if a_first else 0] = 1.0
        seqs.append(x)
        labels.append("AB" if a_first else "BA")
    return seqs, labels


@pytest.fixture(scope="session")
def make_marker_order():
    """The :func:`marker_order` generator, for tests."""
    return marker_order
