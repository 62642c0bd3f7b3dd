"""Stratified hold-out, the classification report and the bag-of-words baseline."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit import ConfigError
from rnnkit.tasks.baselines import BagOfWordsClassifier
from rnnkit.tasks.classification import classification_report, stratified_split


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=2, max_size=200), st.floats(0.05, 0.95),
       st.integers(0, 9))
def test_stratified_split_partitions_and_keeps_every_class(labels, fraction, seed) -> None:
    y = np.array(labels)
    train, held = stratified_split(y, fraction, seed)
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(len(y)))
    assert set(y[train].tolist()) == set(labels)
    for cls in set(labels):
        members = int((y == cls).sum())
        taken = int((y[held] == cls).sum())
        assert taken == min(round(fraction * members), members - 1)


def test_stratified_split_rejects_bad_fraction() -> None:
    with pytest.raises(ConfigError):
        stratified_split(np.array([0, 1]), 1.5, 0)


def test_classification_report_by_hand() -> None:
    report = classification_report(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]),
                                   ["a", "b", "c"])
    assert report["accuracy"] == pytest.approx(3 / 5)
    assert report["per_class"]["b"] == {"precision": pytest.approx(2 / 3), "recall": 1.0,
                                        "f1": pytest.approx(0.8), "support": 2}
    assert report["per_class"]["c"]["f1"] == 0.0
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert report["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_bag_of_words_learns_words_but_not_order() -> None:
    texts = ["good movie", "bad movie", "really good", "really bad", "good", "bad"] * 10
    labels = ["pos", "neg"] * 30
    bow = BagOfWordsClassifier(epochs=20, ngrams=1).fit(texts, labels)
    assert bow.score(texts, labels) == 1.0
    # Same words in another order: a bag of words cannot tell these apart.
    p = bow.predict_proba(["movie good", "good movie"])
    np.testing.assert_allclose(p[0], p[1], atol=1e-6)
