"""Fixtures for task tests: synthetic data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

FILLER = ["the", "film", "was", "plot", "actors", "really", "story", "quite", "music", "ending"]


def negation_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Texts whose class depends only on word order, never on which words occur.

    Every "neg" text contains "not good" side by side; its "pos" twin has exactly the same words
    with "good" moved in front of "not". A bag of words cannot tell the twins apart.
    """
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n // 2):
        words = list(rng.choice(FILLER, size=int(rng.integers(3, 7))))
        at = int(rng.integers(0, len(words) + 1))
        neg = words[:at] + ["not", "good"] + words[at:]
        pos = (
            words[:at] + ["good"] + words[at:] + ["not"]
            if at < len(words)
            else ["good"] + words + ["not"]
        )
        texts += [" ".join(neg), " ".join(pos)]
        labels += ["neg", "pos"]
    return texts, labels


@pytest.fixture(scope="session")
def make_negation_pairs():
    """The :func:`negation_pairs` generator, for tests."""
    return negation_pairs
