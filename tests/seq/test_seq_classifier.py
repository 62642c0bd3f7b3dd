"""SequenceClassifier: learns time order, padding invariance, masked scaler, bundles, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit import ConfigError, DataError
from rnnkit.data import BucketLoader, pad_sequences
from rnnkit.data.sequences import WAVEFORMS, FeatureScaler, as_sequence_list, make_waveforms
from rnnkit.tasks import SequenceClassifier, TextClassifier
from rnnkit.tasks.classification import ClassifierBase

SMALL = dict(hidden_size=16, batch_size=16, epochs=12, lr=1e-2, verbose=0, dropout=0.0, patience=0)


@pytest.fixture(scope="module")
def fitted(make_marker_order):
    seqs, labels = make_marker_order(400, seed=0)
    test_seqs, test_labels = make_marker_order(200, seed=1)
    clf = SequenceClassifier(**SMALL).fit(seqs, labels)
    return clf, test_seqs, test_labels


def padded(seqs: list[np.ndarray], extra: int = 0) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(s) for s in seqs) + extra
    return pad_sequences(seqs, length=width, dtype=np.float32)


def test_one_model_two_front_ends() -> None:
    assert issubclass(SequenceClassifier, ClassifierBase) and issubclass(
        TextClassifier, ClassifierBase
    )
    assert SequenceClassifier.network_params == ClassifierBase.network_params


def test_marker_classes_hold_the_same_values(make_marker_order) -> None:
    seqs, labels = make_marker_order(40, seed=3)
    for x, y in zip(seqs, labels, strict=True):
        assert x[:, 0].sum() == 1.0 and x[:, 1].sum() == 1.0
        first_a = int(np.argmax(x[:, 0])) < int(np.argmax(x[:, 1]))
        assert first_a == (y == "AB")


def test_learns_a_task_only_time_order_can_solve(fitted) -> None:
    clf, test_seqs, test_labels = fitted
    assert clf.score(test_seqs, test_labels) >= 0.95
    assert clf.classes_ == ["AB", "BA"]


def test_padding_does_not_change_predictions(fitted) -> None:
    clf, test_seqs, _ = fitted
    ragged = clf.predict_proba(test_seqs[:40])
    x, lengths = padded(test_seqs[:40], extra=9)
    x[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = 123.0  # garbage in the padding
    np.testing.assert_allclose(clf.predict_proba(x, lengths=lengths), ragged, atol=1e-5)
    # Left padding described by a mask gives the same answer too.
    left = np.zeros_like(x)
    mask = np.zeros(x.shape[:2], dtype=bool)
    for i, s in enumerate(test_seqs[:40]):
        left[i, x.shape[1] - len(s):] = s
        mask[i, x.shape[1] - len(s):] = True
    np.testing.assert_allclose(clf.predict_proba(left, mask=mask), ragged, atol=1e-5)
    one_by_one = np.vstack([clf.predict_proba([s]) for s in test_seqs[:10]])
    np.testing.assert_allclose(one_by_one, ragged[:10], atol=1e-5)


def test_network_output_is_the_same_with_more_padding_in_the_batch(fitted) -> None:
    clf, test_seqs, _ = fitted
    scaled = clf.scaler_.transform(test_seqs[:8])
    x, lengths = padded(scaled)
    wide, _ = padded(scaled, extra=20)
    with torch.inference_mode():
        a = clf.model_(torch.from_numpy(x), torch.from_numpy(lengths))
        b = clf.model_(torch.from_numpy(wide), torch.from_numpy(lengths))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_scaler_ignores_padding() -> None:
    rng = np.random.default_rng(0)
    seqs = [rng.normal(5.0, 2.0, size=(n, 3)) for n in (3, 9, 1, 6)]
    x, lengths = padded(seqs, extra=4)
    x[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = -1e6
    from_list = FeatureScaler().fit(seqs)
    from_padded = FeatureScaler().fit(x, lengths=lengths)
    steps = np.concatenate(seqs)
    np.testing.assert_allclose(from_list.mean_, steps.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(from_padded.mean_, from_list.mean_, rtol=1e-5)
    np.testing.assert_allclose(from_padded.scale_, steps.std(axis=0), rtol=1e-5)
    scaled = np.concatenate(from_padded.transform(x, lengths=lengths))
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-5)
    const = FeatureScaler().fit([np.ones((4, 2))])
    assert const.scale_.tolist() == [1.0, 1.0]


def test_scaler_floors_the_scale_of_nearly_constant_features_and_global_mode() -> None:
    column = np.zeros((1000, 1))
    column[0] = 255.0  # a border pixel: almost always 0, once bright
    sparse = FeatureScaler().fit([column])
    assert sparse.scale_[0] == pytest.approx(25.5)  # a tenth of the range, not the std (8.1)
    assert np.abs(sparse.transform([column])[0]).max() <= 10.0
    both = [np.stack([np.arange(5.0), 10 * np.arange(5.0)], axis=1)]
    glob = FeatureScaler("global").fit(both)
    assert glob.mean_.tolist() == [11.0, 11.0] and glob.scale_[0] == glob.scale_[1]
    none = FeatureScaler.from_dict(FeatureScaler("none").fit(both).to_dict())
    assert none.mode == "none" and none.transform(both)[0].tolist() == both[0].tolist()
    with pytest.raises(ConfigError, match="standardize='zscore' is unknown"):
        SequenceClassifier(standardize="zscore").fit(np.zeros((4, 3, 1)), [0, 1, 0, 1])


def test_classifier_scaler_is_fitted_on_real_steps_only(make_marker_order) -> None:
    seqs, labels = make_marker_order(40, seed=2)
    x, lengths = padded(seqs, extra=5)
    x[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = 50.0
    opts = {**SMALL, "epochs": 1, "validation_split": None}
    clf = SequenceClassifier(**opts).fit(x, labels, lengths=lengths)
    np.testing.assert_allclose(clf.scaler_.mean_, np.concatenate(seqs).mean(axis=0), rtol=1e-5)


def test_float_batches_from_bucket_loader() -> None:
    seqs = [np.full((n, 2), float(n), dtype=np.float32) for n in (4, 1, 3)]
    loader = BucketLoader(seqs, targets=[0, 1, 0], batch_size=3, shuffle=False)
    ((inputs, target),) = list(loader)
    assert inputs["x"].dtype == torch.float32 and inputs["x"].shape == (3, 4, 2)
    assert inputs["lengths"].tolist() == [1, 3, 4]
    assert inputs["x"][0, 1:].abs().sum() == 0 and inputs["x"][2, 3].tolist() == [4.0, 4.0]
    with pytest.raises(DataError, match="feature sizes"):
        BucketLoader([np.zeros((2, 2)), np.zeros((2, 3))])


def test_bundle_round_trip_gives_identical_predictions(fitted, tmp_path) -> None:
    clf, test_seqs, test_labels = fitted
    path = clf.save(tmp_path / "model",
                    extra_metrics={"test": clf.evaluate(test_seqs, test_labels)})
    for name in ["config.json", "weights.safetensors", "scaler.json", "history.csv", "curves.png",
                 "confusion_matrix.png"]:
        assert (path / name).is_file(), name
    loaded = rnnkit.load(path)
    assert isinstance(loaded, SequenceClassifier)
    np.testing.assert_array_equal(loaded.predict_proba(test_seqs), clf.predict_proba(test_seqs))
    assert loaded.classes_ == clf.classes_ and loaded.feature_size == 3
    np.testing.assert_array_equal(loaded.scaler_.mean_, clf.scaler_.mean_)


def test_multiclass_integer_labels_float64_and_options() -> None:
    train, test = make_waveforms(240, seed=0), make_waveforms(80, seed=1)
    labels = [list(WAVEFORMS).index(y) for y in train.labels]
    test_labels = [list(WAVEFORMS).index(y) for y in test.labels]
    clf = SequenceClassifier(**{**SMALL, "cell": "gru", "pooling": "mean", "epochs": 8})
    clf.fit([s.astype(np.float64) for s in train.sequences], np.array(labels))
    assert clf.classes_ == [0, 1, 2, 3]
    assert clf.score(test.sequences, test_labels) >= 0.8
    report = clf.evaluate(test.sequences, test_labels)
    assert np.asarray(report["confusion_matrix"]).sum() == 80


def test_user_errors_are_clear(fitted) -> None:
    clf, test_seqs, _ = fitted
    with pytest.raises(DataError, match="3"):
        clf.predict([np.zeros((5, 4), dtype=np.float32)])
    with pytest.raises(DataError, match=r"\(N, T, F\)"):
        clf.predict(np.zeros((5, 3)))
    with pytest.raises(DataError, match="NaN"):
        clf.predict([np.full((2, 3), np.nan)])
    with pytest.raises(DataError, match="lengths"):
        clf.predict(np.zeros((2, 4, 3)), lengths=[5, 1])
    with pytest.raises(TypeError, match="embedding_dim"):
        SequenceClassifier(embedding_dim=8)
    with pytest.raises(ConfigError, match="not fitted"):
        SequenceClassifier().predict(test_seqs)
    with pytest.raises(DataError, match="single class"):
        SequenceClassifier(**SMALL).fit(test_seqs[:10], ["AB"] * 10)


def test_as_sequence_list_accepts_tensors_and_univariate() -> None:
    seqs = as_sequence_list([torch.ones(3), np.ones(5)])
    assert [s.shape for s in seqs] == [(3, 1), (5, 1)]
    assert as_sequence_list(torch.zeros(2, 4, 3, dtype=torch.float64))[0].dtype == np.float64
