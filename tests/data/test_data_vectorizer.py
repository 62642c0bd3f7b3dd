"""TextVectorizer and Vocabulary: ids, ordering, padding, truncation, n-grams, JSON round trips."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.vectorizer import TextVectorizer
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import ConfigError, DataError

WORDS = st.text(alphabet="abcdefgh", min_size=1, max_size=5)
SENTENCES = st.lists(st.lists(WORDS, max_size=12).map(" ".join), min_size=1, max_size=20)


def test_padding_is_zero_oov_is_one_and_order_is_frequency_then_alphabetical() -> None:
    vec = TextVectorizer().fit(["b a c", "c b", "c d"])
    assert vec.vocabulary == ["", "[UNK]", "c", "b", "a", "d"]
    assert vec(["c zz"]).tolist() == [[2, 1]]


def test_max_tokens_counts_padding_and_oov_and_min_freq_drops_rare_tokens() -> None:
    texts = ["a a a b b c", "a b d"]
    assert TextVectorizer(max_tokens=4).fit(texts).vocabulary == ["", "[UNK]", "a", "b"]
    assert TextVectorizer(min_freq=2).fit(texts).vocabulary == ["", "[UNK]", "a", "b"]
    with pytest.raises(ConfigError, match="max_tokens"):
        TextVectorizer(max_tokens=2).fit(texts)


def test_reserved_tokens_take_ids_after_oov() -> None:
    vec = TextVectorizer(reserved=("<bos>", "<eos>"), standardize=None).fit(["x y x"])
    assert vec.vocabulary == ["", "[UNK]", "<bos>", "<eos>", "x", "y"]


def test_transform_is_ragged_and_pad_gives_batch_max_width() -> None:
    vec = TextVectorizer().fit(["one two three", "four"])
    ragged = vec.transform(["one two three", "four", ""])
    assert [len(r) for r in ragged] == [3, 1, 0]
    assert all(r.dtype == np.int64 for r in ragged)
    padded = vec.transform(["one two three", "four", ""], pad=True)
    assert padded.shape == (3, 3) and padded.dtype == np.int64
    assert padded[1].tolist()[1:] == [0, 0] and padded[2].tolist() == [0, 0, 0]
    assert vec.transform([""], pad=True).shape == (1, 1)


@pytest.mark.parametrize(
    ("truncation", "padding", "expected"),
    [
        ("post", "post", [["a", "b", "c"], ["e", "", ""]]),
        ("pre", "post", [["b", "c", "d"], ["e", "", ""]]),
        ("post", "pre", [["a", "b", "c"], ["", "", "e"]]),
        ("pre", "pre", [["b", "c", "d"], ["", "", "e"]]),
    ],
)
def test_truncation_and_padding_sides(truncation: str, padding: str, expected: list) -> None:
    vec = TextVectorizer(output_sequence_length=3, truncation=truncation, padding=padding)
    vec.fit(["a b c d e"])
    ids = vec(["a b c d", "e"])
    tokens = [[vec.vocabulary[i] for i in row] for row in ids.tolist()]
    assert tokens == expected
    ragged = vec.transform(["a b c d", "e"])
    assert [vec.vocabulary[i] for i in ragged[0]] == expected[0]


def test_ngrams_add_bigrams_joined_by_space() -> None:
    vec = TextVectorizer(ngrams=2).fit(["good movie", "bad movie"])
    assert "good movie" in vec.vocabulary and "bad movie" in vec.vocabulary
    tokens = vec.inverse_transform(vec(["good movie"]))
    assert tokens == [["good", "movie", "good movie"]]


def test_character_split_vocabulary_includes_space() -> None:
    vec = TextVectorizer(split="character", standardize=None).fit(["hello world"])
    assert " " in vec.vocabulary
    assert "".join(vec.inverse_transform(vec.transform(["hello"])[0])) == "hello"


def test_cjk_text_is_vectorized_per_character_and_english_per_word() -> None:
    vec = TextVectorizer().fit(["我喜欢这部电影", "I like this movie"])
    assert vec.inverse_transform(vec(["我喜欢 this movie!"])) == [
        ["我", "喜", "欢", "this", "movie"]
    ]


def test_single_string_and_non_string_items_raise_data_error() -> None:
    vec = TextVectorizer().fit(["a b"])
    with pytest.raises(DataError, match="single str"):
        vec.transform("a b")
    with pytest.raises(DataError, match=r"texts\[1\] is float"):
        vec.transform(["a", float("nan")])


def test_transform_before_fit_and_bad_options_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="fit"):
        TextVectorizer().transform(["a"])
    with pytest.raises(ConfigError, match="truncation"):
        TextVectorizer(truncation="middle")
    with pytest.raises(ConfigError, match="output_sequence_length"):
        TextVectorizer(output_sequence_length=0)


def test_inverse_transform_rejects_ids_outside_vocabulary() -> None:
    vec = TextVectorizer().fit(["a b"])
    with pytest.raises(DataError, match="outside the vocabulary"):
        vec.inverse_transform([7])


def test_save_load_is_atomic_and_identical(tmp_path: Path) -> None:
    vec = TextVectorizer(max_tokens=50, ngrams=(1, 2), output_sequence_length=7, padding="pre")
    vec.fit(["The cat sat.", "The dog ran!", "猫が好き"])
    path = vec.save(tmp_path / "sub" / "vocab.json")
    assert [p.name for p in path.parent.iterdir()] == ["vocab.json"]  # no temp file left behind
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "rnnkit.TextVectorizer" and "猫" in data["vocabulary"]["tokens"]
    loaded = TextVectorizer.load(path)
    assert loaded.vocabulary == vec.vocabulary
    assert loaded.get_config() == vec.get_config()
    texts = ["the cat ran", "猫"]
    np.testing.assert_array_equal(loaded(texts), vec(texts))


def test_custom_standardize_must_be_passed_again_on_load(tmp_path: Path) -> None:
    def shout(text: str) -> str:
        return text.upper()

    vec = TextVectorizer(standardize=shout).fit(["a b"])
    path = vec.save(tmp_path / "v.json")
    with pytest.raises(ConfigError, match="custom standardize"):
        TextVectorizer.load(path)
    assert TextVectorizer.load(path, standardize=shout)(["a"]).tolist() == vec(["a"]).tolist()


def test_load_of_missing_or_foreign_file_raises_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such"):
        TextVectorizer.load(tmp_path / "none.json")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(DataError, match="not a saved TextVectorizer"):
        TextVectorizer.load(tmp_path / "other.json")


@settings(max_examples=60, deadline=None)
@given(SENTENCES)
def test_in_vocabulary_tokens_round_trip_through_inverse_transform(texts: list[str]) -> None:
    vec = TextVectorizer().fit(texts)
    for text, ids in zip(texts, vec.transform(texts), strict=True):
        assert vec.inverse_transform(ids) == text.split()
    padded = vec(texts)
    assert vec.inverse_transform(padded) == [t.split() for t in texts]


@settings(max_examples=60, deadline=None)
@given(SENTENCES, st.randoms(use_true_random=False))
def test_vocabulary_depends_only_on_the_multiset_of_texts(
    texts: list[str], rnd: random.Random
) -> None:
    shuffled = texts[:]
    rnd.shuffle(shuffled)
    assert TextVectorizer(max_tokens=8).fit(texts).vocabulary == (
        TextVectorizer(max_tokens=8).fit(shuffled).vocabulary
    )
    counts = Counter(tok for t in texts for tok in t.split())
    learned = TextVectorizer().fit(texts).vocabulary[2:]
    assert [counts[t] for t in learned] == sorted((counts[t] for t in learned), reverse=True)


@settings(max_examples=60, deadline=None)
@given(
    SENTENCES, st.integers(1, 6), st.sampled_from(["pre", "post"]), st.sampled_from(["pre", "post"])
)
def test_fixed_length_output_keeps_the_right_slice(
    texts: list[str], length: int, truncation: str, padding: str
) -> None:
    vec = TextVectorizer(output_sequence_length=length, truncation=truncation, padding=padding)
    vec.fit(texts)
    padded = vec(texts)
    assert padded.shape == (len(texts), length)
    for row, ids in zip(padded, TextVectorizer(vocabulary=vec.vocab).transform(texts), strict=True):
        kept = ids[:length] if truncation == "post" else ids[max(0, len(ids) - length) :]
        real = row[row != 0]
        assert real.tolist() == kept.tolist()
        if len(kept) < length:  # padding sits on the requested side
            pad_part = row[len(kept) :] if padding == "post" else row[: length - len(kept)]
            assert (pad_part == 0).all()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_arbitrary_unicode_never_crashes_and_json_round_trip_is_identity(texts: list[str]) -> None:
    for split in ("auto", "character"):
        vec = TextVectorizer(split=split).fit(texts)
        ids = vec(texts)
        assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < vec.vocabulary_size
        clone = TextVectorizer.from_json(vec.to_json())
        assert clone.vocabulary == vec.vocabulary
        np.testing.assert_array_equal(clone(texts), ids)


def test_vocabulary_dict_round_trip_and_equality() -> None:
    vocab = Vocabulary.from_counts(Counter({"x": 3, "y": 3, "z": 1}), reserved=("<s>",))
    assert vocab.tokens == ["", "[UNK]", "<s>", "x", "y", "z"]
    assert Vocabulary.from_dict(vocab.to_dict()) == vocab
    assert vocab["nope"] == 1 and "x" in vocab and len(vocab) == 6
    with pytest.raises(ConfigError, match="reserved"):
        Vocabulary(reserved=("[UNK]",))
