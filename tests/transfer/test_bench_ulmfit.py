"""benchmarks/bench_ulmfit.py at toy sizes: what each stage reads (train and test never mix, the
held-out reviews stay out of the language model) and that both sections are written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import bench_ulmfit  # noqa: E402

from rnnkit.tasks import LanguageModel, TextClassifier  # noqa: E402

WORDS = {1: ["good", "fine", "great", "lovely"], 0: ["bad", "dull", "awful", "weak"]}


def _write(path: Path, prefix: str, n: int) -> list[str]:
    texts = [f"{prefix} {i} the film was {WORDS[i % 2][i % 4]}!" for i in range(n)]
    rows = "".join(f'"{t}",{i % 2}\n' for i, t in enumerate(texts))
    path.write_text("text,label\n" + rows, encoding="utf-8")
    return texts


@pytest.fixture
def toy(tmp_path, monkeypatch) -> dict:
    train = _write(tmp_path / "imdb_train_00.csv", "train", 60)
    test = _write(tmp_path / "imdb_test_00.csv", "test", 30)
    monkeypatch.setattr(bench_ulmfit, "LM_BUNDLE", tmp_path / "out" / "lm")
    monkeypatch.setattr(bench_ulmfit, "LM_OPTIONS", {
        **bench_ulmfit.LM_OPTIONS, "hidden_size": 8, "num_layers": 1, "embedding_dim": 8,
        "bptt": 8, "batch_size": 4, "epochs": 1, "verbose": 0, "min_freq": 1})
    monkeypatch.setattr(bench_ulmfit, "CLASSIFIER_OPTIONS", {
        **bench_ulmfit.CLASSIFIER_OPTIONS, "window": 4, "epochs": 2, "batch_size": 8,
        "verbose": 0})
    read: dict[str, list[list[str]]] = {"lm": [], "classifier": []}
    lm_fit, clf_fit = LanguageModel.fit, TextClassifier.fit

    def spy_lm(self, X, *args, **kwargs):
        read["lm"].append(list(X))
        return lm_fit(self, X, *args, **kwargs)

    def spy_clf(self, X, *args, **kwargs):
        read["classifier"].append(list(X))
        return clf_fit(self, X, *args, **kwargs)

    monkeypatch.setattr(LanguageModel, "fit", spy_lm)
    monkeypatch.setattr(TextClassifier, "fit", spy_clf)
    return {"root": tmp_path, "train": train, "test": test, "read": read}


def test_full_then_small_run_read_only_what_they_may(toy) -> None:
    section = bench_ulmfit.run_full(toy["root"], 0.2, 0.2, baselines=[])
    read, train, test = toy["read"], set(toy["train"]), set(toy["test"])
    held = {toy["train"][i] for i in bench_ulmfit.held_out_indices(60)}
    assert len(held) == 12
    (lm_texts,) = read["lm"]
    assert len(lm_texts) == 48 and set(lm_texts) == train - held  # never a held-out or test text
    (clf_texts,) = read["classifier"]
    assert sorted(clf_texts) == sorted(train)                     # every labelled training review
    assert "## ULMFiT on IMDB" in section and "identical texts in both files: 0" in section
    assert (toy["root"] / "out" / "lm" / "config.json").exists()

    small = bench_ulmfit.run_small(toy["root"], seeds=[0], minutes=0.05)
    assert "Gain from pretraining" in small
    for texts in read["classifier"][1:]:                          # pretrained, then from scratch
        assert sorted(texts) == sorted(held)
    assert not any(set(texts) & test for texts in read["lm"] + read["classifier"])
