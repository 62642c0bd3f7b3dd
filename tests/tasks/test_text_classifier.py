"""TextClassifier: learns word order, scikit-learn verbs, bundles, errors."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import rnnkit
from rnnkit import ConfigError, DataError
from rnnkit.tasks import TextClassifier

SMALL = dict(hidden_size=16, embedding_dim=16, batch_size=16, epochs=12, lr=1e-2, verbose=0,
             min_freq=1, dropout=0.0, patience=0)


@pytest.fixture(scope="module")
def fitted(make_negation_pairs) -> tuple[TextClassifier, list[str], list[str]]:
    negation_pairs = make_negation_pairs
    texts, labels = negation_pairs(400, seed=0)
    test_texts, test_labels = negation_pairs(200, seed=1)
    clf = TextClassifier(**SMALL).fit(texts, labels)
    return clf, test_texts, test_labels


def test_twins_share_their_bag_of_words(make_negation_pairs) -> None:
    texts, _ = make_negation_pairs(20, seed=3)
    for neg, pos in zip(texts[::2], texts[1::2], strict=True):
        assert Counter(neg.split()) == Counter(pos.split())


def test_learns_a_task_only_word_order_can_solve(fitted) -> None:
    clf, test_texts, test_labels = fitted
    assert clf.score(test_texts, test_labels) >= 0.95


def test_predict_proba_rows_sum_to_one_in_input_order(fitted) -> None:
    clf, test_texts, _ = fitted
    proba = clf.predict_proba(test_texts[:7])
    assert proba.shape == (7, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    one_by_one = np.vstack([clf.predict_proba([t]) for t in test_texts[:7]])
    np.testing.assert_allclose(proba, one_by_one, atol=1e-5)
    assert clf.classes_ == ["neg", "pos"]


def test_evaluate_reports_per_class_and_confusion(fitted) -> None:
    clf, test_texts, test_labels = fitted
    report = clf.evaluate(test_texts, test_labels)
    assert set(report["per_class"]) == {"neg", "pos"}
    assert np.asarray(report["confusion_matrix"]).sum() == len(test_texts)
    assert 0.0 <= report["macro_f1"] <= 1.0


def test_bundle_round_trip_gives_identical_predictions(fitted, tmp_path) -> None:
    clf, test_texts, _ = fitted
    path = clf.save(tmp_path / "model")
    for name in ["config.json", "weights.safetensors", "vectorizer.json", "history.csv",
                 "curves.png"]:
        assert (path / name).is_file(), name
    loaded = rnnkit.load(path)
    assert isinstance(loaded, TextClassifier)
    np.testing.assert_array_equal(loaded.predict_proba(test_texts), clf.predict_proba(test_texts))
    assert loaded.classes_ == clf.classes_


def test_same_seed_same_model(make_negation_pairs) -> None:
    texts, labels = make_negation_pairs(60, seed=5)
    opts = {**SMALL, "epochs": 2}
    a = TextClassifier(**opts).fit(texts, labels).predict_proba(texts)
    b = TextClassifier(**opts).fit(texts, labels).predict_proba(texts)
    np.testing.assert_array_equal(a, b)


def test_integer_labels_multiclass_and_cjk() -> None:
    texts = ["我喜欢这部电影", "这部电影很无聊", "the plot is ok 还可以"] * 12
    labels = [2, 0, 1] * 12
    clf = TextClassifier(**{**SMALL, "epochs": 15}).fit(texts, labels)
    assert clf.classes_ == [0, 1, 2]
    assert clf.predict(["我喜欢这部电影"]) == [2]


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        (["a", "b", "c"], ["x", "x", "x"], "single class"),
        (["a", "b"], ["x"], "one label per example"),
        ([], [], "empty"),
        ("just one string", ["x"], "list of texts"),
        (["ok", None], ["x", "y"], "not a text"),
    ],
)
def test_bad_training_input_is_a_clear_error(texts, labels, message) -> None:
    with pytest.raises(DataError, match=message):
        TextClassifier(**SMALL).fit(texts, labels)


def test_unknown_option_and_unfitted_use_are_config_errors() -> None:
    with pytest.raises(TypeError, match="hiddensize"):  # explicit keyword arguments (scikit-learn)
        TextClassifier(hiddensize=3)
    with pytest.raises(ConfigError, match="not fitted"):
        TextClassifier().predict(["x"])


def test_unseen_label_at_evaluation_is_named(fitted) -> None:
    clf, test_texts, _ = fitted
    with pytest.raises(DataError, match="'meh' was not seen in training"):
        clf.evaluate(test_texts[:2], ["neg", "meh"])
