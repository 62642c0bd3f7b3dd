"""Standardization and splitting: Keras-like cleaning, HTML, NFKC, CJK and mixed-script text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.text import add_ngrams, split, standardize, strip_punctuation
from rnnkit.errors import ConfigError


def test_default_standardize_lowercases_strips_html_and_punctuation() -> None:
    text = "A <i>GREAT</i> film!<br /><br />Don't miss it... 10/10"
    assert standardize(text) == "a  great  film  dont miss it 1010"


def test_standardize_applies_nfkc() -> None:
    # Full-width letters and the "ﬁ" ligature become plain ASCII before lowercasing.
    assert standardize("ＡＢＣ ﬁne") == "abc fine"


def test_standardize_strips_unicode_punctuation_but_keeps_letters() -> None:
    assert standardize("«Très» bien — ¡sí! 「好」。") == "très bien  sí 好"


def test_lower_mode_keeps_punctuation_and_none_keeps_everything() -> None:
    assert standardize("Hi, <b>There</b>!", "lower") == "hi, <b>there</b>!"
    assert standardize("Hi, There!", None) == "Hi, There!"
    assert standardize("Hi, There!", lambda s: s[::-1]) == "!erehT ,iH"


def test_a_less_than_sign_that_is_not_a_tag_is_only_stripped_as_punctuation() -> None:
    assert standardize("a < b and c > d") == "a  b and c  d"


def test_unknown_modes_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="standardize="):
        standardize("x", "upper")
    with pytest.raises(ConfigError, match="split="):
        split("x", "words")


def test_cjk_split_gives_one_token_per_ideograph_and_keeps_latin_words() -> None:
    assert split("我喜欢这部movie but 太长了", "cjk") == [
        "我", "喜", "欢", "这", "部", "movie", "but", "太", "长", "了",
    ]  # fmt: skip
    assert split("これはペンです", "auto") == ["こ", "れ", "は", "ペ", "ン", "で", "す"]


def test_whitespace_split_keeps_cjk_runs_whole_and_character_split_keeps_spaces() -> None:
    assert split("我喜欢 movie", "whitespace") == ["我喜欢", "movie"]
    assert split("ab c", "character") == ["a", "b", " ", "c"]


def test_ngrams_are_joined_by_a_space() -> None:
    assert add_ngrams(["a", "b", "c"], (1, 2, 3)) == ["a", "b", "c", "a b", "b c", "a b c"]
    assert add_ngrams(["a"], (2,)) == []


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_standardize_and_split_never_crash_and_leave_no_whitespace_tokens(text: str) -> None:
    for mode in ("auto", "whitespace"):
        tokens = split(standardize(text), mode)
        assert all(tok and not tok.isspace() and tok == tok.strip() for tok in tokens)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_strip_punctuation_is_idempotent_and_removes_ascii_punctuation(text: str) -> None:
    once = strip_punctuation(text)
    assert strip_punctuation(once) == once
    assert not set(once) & set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="abcxyz", min_size=1, max_size=6),
            st.text(alphabet="我喜欢电影太长", min_size=1, max_size=4),
        ),
        max_size=8,
    )
)
def test_mixed_chinese_english_splits_into_words_and_single_characters(parts: list[str]) -> None:
    tokens = split(" ".join(parts), "cjk")
    expected = [tok for part in parts for tok in ([part] if part.isascii() else list(part))]
    assert tokens == expected
