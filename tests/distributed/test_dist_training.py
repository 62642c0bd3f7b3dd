"""Data-parallel training with real processes on loopback: 2 workers == 1 worker, estimators.

Each test starts Python + torch in fresh processes (a few seconds each), so the models are tiny.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

sys.path.insert(0, str(Path(__file__).parent))
from dist_helpers import train_mlp  # noqa: E402

from rnnkit.data.text_shards import TextShards, scan_texts  # noqa: E402
from rnnkit.data.vectorizer import TextVectorizer  # noqa: E402
from rnnkit.errors import DataError  # noqa: E402
from rnnkit.tasks import LanguageModel, TextClassifier  # noqa: E402
from rnnkit.train.distributed import run_workers  # noqa: E402
from rnnkit.train.history import History  # noqa: E402


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), framework="pt") as fh:
        return {k: fh.get_tensor(k) for k in fh.keys()}, fh.metadata()  # noqa: SIM118


def test_two_workers_reach_the_weights_of_one_worker(tmp_path: Path) -> None:
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    torch.set_num_threads(1)
    train_mlp(str(one))
    run_workers(train_mlp, (str(two),), 2, threads=1)
    w1, meta1 = _read(one)
    w2, meta2 = _read(two)
    assert (meta1["world"], meta2["world"]) == ("1", "2")
    for key in w1:  # float64: only the order of the sums differs
        torch.testing.assert_close(w2[key], w1[key], rtol=0, atol=1e-12)
    h1, h2 = History.from_csv(meta1["history"]), History.from_csv(meta2["history"])
    for column in ("loss", "accuracy", "f1", "auc", "val_loss", "val_accuracy", "val_auc"):
        assert h2[column] == pytest.approx(h1[column], rel=1e-9), column


def _reviews(n: int = 96) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(0)
    good, bad = ["great", "fun", "fine", "moving"], ["dull", "bad", "boring", "awful"]
    texts, labels = [], []
    for i in range(n):
        positive = i % 2 == 0
        words = rng.choice(good if positive else bad, size=2 + i % 5).tolist() + ["film"] * (i % 3)
        texts.append(" ".join(words))
        labels.append("pos" if positive else "neg")
    return texts, labels


def test_text_classifier_with_two_workers_matches_one_worker() -> None:
    texts, labels = _reviews()
    options = dict(epochs=2, hidden_size=8, embedding_dim=8, dropout=0.0, batch_size=15, verbose=0)
    torch.set_num_threads(1)
    one = TextClassifier(**options).fit(texts, labels, workers=1)
    two = TextClassifier(**options).fit(texts, labels, workers=2)
    assert two.classes_ == one.classes_ and two.vectorizer_.vocabulary == one.vectorizer_.vocabulary
    s1, s2 = one.model_.state_dict(), two.model_.state_dict()
    for key in s1:
        torch.testing.assert_close(s2[key], s1[key], rtol=1e-5, atol=1e-5)
    assert two.history_["loss"] == pytest.approx(one.history_["loss"], rel=1e-5)
    assert two.metrics_["validation"]["accuracy"] == one.metrics_["validation"]["accuracy"]
    assert two.predict(["great fun", "dull bad"]) == one.predict(["great fun", "dull bad"])


def test_language_model_streams_split_between_workers_match_one_worker() -> None:
    text = "the cat sat on the mat. the dog ate the hat.\n" * 12
    options = dict(hidden_size=12, num_layers=1, embedding_dim=6, dropout=0.0, bptt=8, batch_size=5,
                   epochs=2, lr=0.01, valid_fraction=0.1, verbose=0)
    torch.set_num_threads(1)
    one = LanguageModel(**options).fit(text)
    two = LanguageModel(**options).fit(text, workers=2)
    for key, value in one.model_.state_dict().items():
        torch.testing.assert_close(two.model_.state_dict()[key], value, rtol=1e-5, atol=1e-5)
    assert two.metrics_["validation"]["loss"] == pytest.approx(
        one.metrics_["validation"]["loss"], rel=1e-5
    )


def test_streaming_shards_are_split_between_workers(tmp_path: Path) -> None:
    texts, labels = _reviews(120)
    files = []
    for i in range(3):  # 3 shards on 2 workers: rank 0 reads two, rank 1 one (uneven batches)
        rows = [f"{t},{y}" for t, y in zip(texts[i::3], labels[i::3], strict=True)]
        path = tmp_path / f"part{i}.csv.gz"
        path.write_bytes(gzip.compress(("text,label\n" + "\n".join(rows) + "\n").encode()))
        files.append(path)
    shards = TextShards(files)
    clf = TextClassifier(epochs=2, hidden_size=8, embedding_dim=8, batch_size=8, verbose=0)
    clf.fit(shards, validation_data=(texts[:20], labels[:20]), workers=2)
    vec = TextVectorizer(max_tokens=20000, min_freq=2)
    assert clf.vectorizer_.vocab == scan_texts(shards, vec.tokenize).vocabulary(20000, 2)
    assert len(clf.history_) == 2 and clf.metrics_["train_examples"] == 120
    assert clf.evaluate(shards)["count"] == 120
    # a user error inside a worker keeps its class
    with pytest.raises(DataError, match="worker rank"):
        TextClassifier(verbose=0).fit(TextShards([tmp_path / "part0.csv.gz"], label_column="nope"),
                                      workers=2)
