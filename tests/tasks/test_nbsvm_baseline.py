"""benchmarks/nbsvm.py: the naive-Bayes feature scaling of NBSVM on a tiny example."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.nbsvm import NBSVM, nb_ratio  # noqa: E402


def test_nb_ratio_by_hand() -> None:
    # features: good, bad, film; two positive and one negative text
    x = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1]])
    y = np.array([1, 1, 0])
    p = np.array([1 + 2, 1 + 0, 1 + 1]) / 6  # α = 1 plus the positive counts, normalised
    q = np.array([1 + 0, 1 + 1, 1 + 1]) / 5
    np.testing.assert_allclose(nb_ratio(x, y, alpha=1.0), np.log(p / q))
    r = nb_ratio(x, y, alpha=1.0)
    assert r[0] > 0 > r[1]  # "good" leans positive, "bad" negative


def test_features_are_binary_indicators_scaled_by_r() -> None:
    texts = ["good good film", "good plot", "bad film", "bad bad plot !"]
    labels = ["pos", "pos", "neg", "neg"]
    clf = NBSVM(kind="logistic").fit(texts, labels)
    vocab = clf.vectorizer_.vocabulary_
    features = clf._features(["good good good film"]).toarray()[0]
    expected = np.zeros(len(vocab))
    for gram in ("good", "film", "good good", "good film"):
        expected[vocab[gram]] = clf.r_[vocab[gram]]  # counted once: binary
    np.testing.assert_allclose(features, expected)
    assert clf.predict(["good", "bad !"]) == ["pos", "neg"]
    svm = NBSVM().fit(texts, labels)
    assert svm.score(texts, labels) == 1.0
    with pytest.raises(ValueError, match="two classes"):
        NBSVM().fit(["a", "b", "c"], [0, 1, 2])
