"""Text standardization and splitting: the first two steps of every text pipeline.

``standardize(text, mode)`` cleans a string; ``split(text, mode)`` turns it into a list of tokens.
Both are plain functions over one string, so the language-model and translation tasks can reuse
exactly the tokenizer the classifier uses.

Standardization ``"lower_and_strip_punctuation"`` (the Keras default) does, in this order:

1. Unicode NFKC normalization (full-width ``ＡＢＣ`` -> ``ABC``, ligatures ``ﬁ`` -> ``fi``);
2. lowercasing;
3. replacing HTML tags such as ``<br />`` by a space;
4. deleting punctuation: every Unicode punctuation character (categories ``P*``, e.g. ``.,!?'"``
   and CJK ``。、「」``) plus the ASCII symbols Keras strips (``$ + < = > ^ ` | ~``). As in Keras
   the characters are deleted, not replaced by a space, so ``don't`` becomes ``dont``.

``"lower_and_split_punctuation"`` (what word-level language models use, as fastai's tokenizer for
ULMFiT) does steps 1-3 and then puts spaces around every punctuation mark or symbol instead of
deleting it (an apostrophe inside a word stays: ``didn't``), so ``great!`` reads as ``great !``.

Splitting ``"whitespace"`` is :meth:`str.split`; ``"character"`` makes every character (spaces
included) a token; ``"cjk"`` and ``"auto"`` (the default; they are the same rule) split on
whitespace and additionally make every CJK ideograph, kana or CJK symbol a token of its own, so
Chinese or Japanese text, which has no spaces, gives one token per character while Latin words in
mixed text stay whole.

Example:
    >>> standardize("Great movie!<br /><br />Ｉ LOVED it.")
    'great movie  i loved it'
    >>> split(standardize("我喜欢这部movie, really!「好」"), "auto")
    ['我', '喜', '欢', '这', '部', 'movie', 'really', '好']
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable

from rnnkit.charsets import CJK_CHAR  # re-exported: tokenizers and plots share one definition
from rnnkit.errors import ConfigError

STANDARDIZE_MODES = ("lower_and_strip_punctuation", "lower", "strip_punctuation",
                     "lower_and_split_punctuation", None)
SPLIT_MODES = ("auto", "whitespace", "character", "cjk")

# The ASCII symbols Keras' DEFAULT_STRIP_REGEX removes that Unicode does not call punctuation.
_KERAS_ASCII_SYMBOLS = "$+<=>^`|~"

# A tag is "<" + optional "/" + a letter + anything up to ">" (so "a < b > c" is left alone).
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]{0,500}>")


# ASCII punctuation and symbols, deleted with bytes.translate (UTF-8 multi-byte sequences never
# contain ASCII bytes, so deleting them from the encoded text is safe and much faster than a regex).
_ASCII_PUNCTUATION = bytes(
    c
    for c in range(128)
    if unicodedata.category(chr(c)).startswith("P") or chr(c) in _KERAS_ASCII_SYMBOLS
)


@functools.lru_cache(maxsize=1)
def _unicode_punctuation_table() -> dict[int, None]:
    """str.translate table deleting every non-ASCII punctuation code point (built on first use)."""
    return {
        cp: None
        for cp in range(128, sys.maxunicode + 1)
        if unicodedata.category(chr(cp)).startswith("P")
    }


def normalize_unicode(text: str) -> str:
    """NFKC normal form; cheap for text that is already normalized (most ASCII text)."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def strip_html(text: str) -> str:
    """Replace HTML tags such as ``<br />`` or ``<i>`` by a space."""
    return _HTML_TAG.sub(" ", text) if "<" in text else text


def strip_punctuation(text: str) -> str:
    """Delete Unicode punctuation and the ASCII symbols Keras strips (``don't`` -> ``dont``)."""
    stripped = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_PUNCTUATION)
    text = stripped.decode("utf-8", "surrogatepass")
    # A translate table (one dict probe per character) beats a regex class of ~800 ranges.
    return text if text.isascii() else text.translate(_unicode_punctuation_table())


def lower_and_strip_punctuation(text: str) -> str:
    """NFKC, lowercase, HTML tags -> space, punctuation deleted (the default standardization)."""
    return strip_punctuation(strip_html(normalize_unicode(text).lower()))


def lower(text: str) -> str:
    """NFKC and lowercase only; punctuation and tags are kept."""
    return normalize_unicode(text).lower()


# Every character that is neither a word character nor whitespace, except an apostrophe inside a
# word ("don't" stays one word; the quote in "'great'" is split off).
_PUNCTUATION_TO_SPLIT = re.compile(r"(?!(?<=\w)'(?=\w))[^\w\s]")


def lower_and_split_punctuation(text: str) -> str:
    """NFKC, lowercase, HTML tags -> space, every punctuation mark or symbol a word of its own.

    The language models' tokenization (as fastai's for ULMFiT): ``"great!"`` and ``"great"`` share
    the word ``great``, and ``!`` is kept as a word the model can read and predict.

        >>> lower_and_split_punctuation("Great film!<br />I didn't like 'Heat'.").split()
        ['great', 'film', '!', 'i', "didn't", 'like', "'", 'heat', "'", '.']
    """
    return _PUNCTUATION_TO_SPLIT.sub(r" \g<0> ", strip_html(normalize_unicode(text).lower()))


def _strip_punctuation_only(text: str) -> str:
    return strip_punctuation(strip_html(normalize_unicode(text)))


_STANDARDIZERS: dict[str, Callable[[str], str]] = {
    "lower_and_strip_punctuation": lower_and_strip_punctuation,
    "lower": lower,
    "strip_punctuation": _strip_punctuation_only,
    "lower_and_split_punctuation": lower_and_split_punctuation,
}


def get_standardizer(mode: str | Callable[[str], str] | None) -> Callable[[str], str] | None:
    """The function for a standardization mode name, a callable as is, or None for no change."""
    if mode is None or callable(mode):
        return mode
    try:
        return _STANDARDIZERS[mode]
    except KeyError:
        raise ConfigError(
            f"standardize={mode!r} is unknown; use one of {list(STANDARDIZE_MODES)} or a callable"
        ) from None


def standardize(
    text: str, mode: str | Callable[[str], str] | None = "lower_and_strip_punctuation"
) -> str:
    """Standardize one string (see the module docstring for what each mode does)."""
    fn = get_standardizer(mode)
    return text if fn is None else fn(text)


def split_whitespace(text: str) -> list[str]:
    """Tokens separated by any run of Unicode whitespace."""
    return text.split()


def split_characters(text: str) -> list[str]:
    """Every character is a token, spaces and newlines included."""
    return list(text)


def split_cjk(text: str) -> list[str]:
    """Whitespace tokens, with every CJK ideograph/kana split off as its own token."""
    if text.isascii():
        return text.split()
    return CJK_CHAR.sub(r" \1 ", text).split()


_SPLITTERS: dict[str, Callable[[str], list[str]]] = {
    "auto": split_cjk,
    "cjk": split_cjk,
    "whitespace": split_whitespace,
    "character": split_characters,
}


def get_splitter(mode: str | Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """The function for a split mode name, or a callable as is."""
    if callable(mode):
        return mode
    try:
        return _SPLITTERS[mode]
    except KeyError:
        raise ConfigError(
            f"split={mode!r} is unknown; use one of {list(SPLIT_MODES)} or a callable"
        ) from None


def split(text: str, mode: str | Callable[[str], list[str]] = "auto") -> list[str]:
    """Split one string into tokens (see the module docstring for the modes)."""
    return get_splitter(mode)(text)


def add_ngrams(tokens: list[str], ngrams: tuple[int, ...]) -> list[str]:
    """The tokens' n-grams for each n in ``ngrams``, joined by a space, n=1 first.

    Example:
        >>> add_ngrams(["a", "b", "c"], (1, 2))
        ['a', 'b', 'c', 'a b', 'b c']
    """
    out: list[str] = []
    for n in ngrams:
        if n == 1:
            out.extend(tokens)
        else:
            out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return out


__all__ = [
    "CJK_CHAR",
    "STANDARDIZE_MODES",
    "SPLIT_MODES",
    "standardize",
    "split",
    "get_standardizer",
    "get_splitter",
    "normalize_unicode",
    "strip_html",
    "strip_punctuation",
    "lower_and_strip_punctuation",
    "lower_and_split_punctuation",
    "lower",
    "split_whitespace",
    "split_characters",
    "split_cjk",
    "add_ngrams",
]
