"""LanguageModel end to end: the "hello" toy, Chinese characters, words, scoring, bundles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.errors import BundleError, ConfigError, DataError
from rnnkit.tasks import LanguageModel, TextClassifier

TINY = {"hidden_size": 24, "num_layers": 1, "embedding_dim": 16, "bptt": 16, "batch_size": 4,
        "lr": 0.02, "verbose": 0, "dropout": 0.0}

CHINESE = (
    "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n"
    "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n"
    "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。\n"
) * 3

WORDS = "the cat sat on the mat .\nthe dog sat on the log .\n" * 30


@pytest.fixture(scope="module")
def hello() -> LanguageModel:
    return LanguageModel(hidden_size=16, num_layers=1, embedding_dim=None, epochs=150, lr=0.05,
                         valid_fraction=0, verbose=0).fit("hello")


def test_hello_greedy_generation(hello) -> None:
    assert hello.generate("h", length=4, temperature=0) == "hello"
    assert hello.generate("he", length=3, temperature=0, include_prime=False) == "llo"
    assert hello.vectorizer_.vocabulary[2:] == ["l", "e", "h", "o"]


def test_stream_is_incremental_and_matches_full_recompute(hello) -> None:
    pieces = hello.stream("h", length=4, temperature=0)
    assert next(pieces) == "e"  # available before the rest is generated
    assert list(pieces) == ["l", "l", "o"]
    # Greedy decoding by re-running the whole prefix each step gives the same tokens.
    net, vocab = hello.model_, hello.vectorizer_.vocabulary
    ids = [vocab.index("h")]
    for _ in range(4):
        logits, _ = net.run(torch.tensor([ids]))
        last = logits[0, -1].clone()
        last[:2] = -math.inf
        ids.append(int(last.argmax()))
    assert "".join(vocab[i] for i in ids) == "hello"


def test_prime_with_unknown_characters(hello) -> None:
    with pytest.raises(DataError, match=r"'x'.*unknown='oov'"):
        hello.generate("hex", length=2)
    out = hello.generate("hx", length=3, temperature=0.5, seed=0, unknown="oov")
    assert out.startswith("hx") and set(out[2:]) <= set("helo")
    assert hello.generate("h", length=10, temperature=0, stop="ll") == "he"


@pytest.fixture(scope="module")
def chinese() -> LanguageModel:
    return LanguageModel(**{**TINY, "hidden_size": 48, "embedding_dim": 24}, epochs=25,
                         valid_fraction=0.1).fit(CHINESE)


def test_chinese_characters(chinese) -> None:
    vocab = chinese.vectorizer_.vocabulary
    assert "月" in vocab and "，" in vocab and "\n" in vocab
    text = chinese.generate("床前", length=60, temperature=0.8, seed=1)
    assert text.startswith("床前") and len(text) == 62
    assert set(text) <= set(vocab[2:])
    assert chinese.generate("床前", length=60, temperature=0.8, seed=1) == text
    assert chinese.metrics_["validation"]["loss"] < math.log(len(vocab) - 2)  # better than uniform
    assert chinese.metrics_["validation"]["bpc"] == pytest.approx(
        chinese.metrics_["validation"]["loss"] / math.log(2))
    greedy = chinese.generate("举头望", length=5, temperature=0)
    assert greedy.startswith("举头望明月") and greedy == chinese.generate(
        "举头望", length=5, temperature=0
    )


def test_word_level_keeps_lines_and_joins_with_spaces() -> None:
    lm = LanguageModel(**TINY, level="word", epochs=25, valid_fraction=0.1).fit(WORDS)
    vocab = lm.vectorizer_.vocabulary
    assert vocab[2] == "\n" and "." in vocab and "cat" in vocab
    text = lm.generate("the cat", length=12, temperature=0)
    assert text.startswith("the cat sat on the mat .\n")
    assert "  " not in text and " \n" not in text
    report = lm.evaluate(WORDS[:200])
    assert report["bpc"] is None and report["perplexity"] == pytest.approx(math.exp(report["loss"]))
    assert report["perplexity"] < 3.0


def test_score_and_bundle_round_trip(chinese, tmp_path) -> None:
    path = chinese.save(tmp_path / "zh")
    assert (path / "vectorizer.json").is_file() and (path / "curves.png").is_file()
    for loaded in (LanguageModel.load(path), rnnkit.load(path)):
        assert isinstance(loaded, LanguageModel)
        assert loaded.vectorizer_.vocabulary == chinese.vectorizer_.vocabulary
        assert loaded.generate("春眠", length=30, temperature=1.0, seed=3) == chinese.generate(
            "春眠", length=30, temperature=1.0, seed=3)
        assert loaded.evaluate(CHINESE)["loss"] == pytest.approx(
            chinese.evaluate(CHINESE)["loss"], rel=1e-6
        )
    assert loaded.metrics_["validation"] == pytest.approx(chinese.metrics_["validation"])
    assert len(loaded.history_) == len(chinese.history_)


def test_random_windows_tied_weights_and_gru_train() -> None:
    lm = LanguageModel(**{**TINY, "embedding_dim": 24}, cell="gru", tie_weights=True,
                       windows="random", epochs=15, valid_fraction=0.2).fit(WORDS)
    net = lm.model_
    assert net.decoder.weight is net.embedding.weight
    assert lm.metrics_["validation"]["perplexity"] < 4.0
    with pytest.raises(ConfigError, match="tie_weights"):
        LanguageModel(**TINY, tie_weights=True).fit(WORDS)


def test_time_budget_and_seed_repeatability() -> None:
    a = LanguageModel(**TINY, epochs=3, seed=5).fit(WORDS)
    b = LanguageModel(**TINY, epochs=3, seed=5).fit(WORDS)
    for (name, x), (_, y) in zip(
        a.model_.state_dict().items(), b.model_.state_dict().items(), strict=True
    ):
        assert torch.equal(x, y), name
    # No early stopping, so only the budget can end this run however fast the machine is.
    timed = LanguageModel(**TINY, time_budget=0.3, patience=0).fit(WORDS * 5)
    assert timed.history_.stopped_reason == "time_budget"


def test_user_errors(hello, tmp_path) -> None:
    with pytest.raises(DataError, match="empty"):
        LanguageModel(**TINY).fit("   ")
    with pytest.raises(DataError, match="validation part"):
        LanguageModel(**TINY, valid_fraction=0.1).fit("hello")
    with pytest.raises(DataError, match="no such file"):
        LanguageModel(**TINY).fit(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match="hiden_size"):
        LanguageModel(hiden_size=3)
    with pytest.raises(ConfigError, match="level"):
        LanguageModel(level="byte").fit("hello")
    with pytest.raises(ConfigError, match="not fitted"):
        LanguageModel().generate("a")
    with pytest.raises(ConfigError, match="temperature"):
        hello.generate("h", temperature=-1)
    clf = TextClassifier(epochs=1, hidden_size=4, embedding_dim=4, verbose=0)
    clf.fit(["good", "bad"] * 6, ["pos", "neg"] * 6)
    with pytest.raises(BundleError, match="language_model"):
        LanguageModel.load(clf.save(tmp_path / "clf"))


def test_files_and_texts_mix(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("abab\r\nabab", encoding="utf-8")
    lm = LanguageModel(**TINY, epochs=1, valid_fraction=0)
    lm.fit([tmp_path / "a.txt", "cdcd"])
    assert set(lm.vectorizer_.vocabulary[2:]) == set("abcd\n")
    assert lm.metrics_["train_tokens"] == len("abab\nabab\ncdcd\n")
    assert np.isfinite(lm.evaluate("abcd")["loss"])
