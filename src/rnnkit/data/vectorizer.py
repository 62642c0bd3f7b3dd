"""TextVectorizer: raw strings -> int64 token ids, learned from a corpus (like Keras
TextVectorization).

Pipeline per text: ``standardize`` -> ``split`` -> optional n-grams -> vocabulary lookup ->
optional truncation/padding to ``output_sequence_length``. Ids: 0 = padding, 1 = out-of-vocabulary,
then ``reserved`` tokens, then learned tokens by frequency (ties alphabetical; see
:mod:`rnnkit.data.vocabulary`).

Shapes: ``transform(texts)`` -> list of ``n`` int64 arrays of shape ``(T_i,)`` (ragged, the form the
length-bucketing loader wants); ``transform(texts, pad=True)`` and ``vectorizer(texts)`` -> an int64
array ``(n, T)`` with ``T = output_sequence_length`` or, when that is None, the longest text (at
least 1).

Example:
    >>> vec = TextVectorizer(max_tokens=10).fit(["The movie was great!", "the plot was not"])
    >>> vec.vocabulary[:6]
    ['', '[UNK]', 'the', 'was', 'great', 'movie']
    >>> vec(["great plot", "an unknown movie"]).tolist()
    [[4, 7, 0], [1, 1, 5]]
    >>> vec.inverse_transform(vec(["great plot"]))
    [['great', 'plot']]
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.text import (
    SPLIT_MODES,
    STANDARDIZE_MODES,
    add_ngrams,
    get_splitter,
    get_standardizer,
)
from rnnkit.data.vocabulary import OOV_ID, PAD_ID, Vocabulary
from rnnkit.errors import ConfigError, DataError

FORMAT = "rnnkit.TextVectorizer"
FORMAT_VERSION = 1


class TextVectorizer:
    """Learn a vocabulary from texts and map texts to token-id sequences.

    Args:
        max_tokens: size cap of the vocabulary, padding and OOV included (None = no cap).
        min_freq: drop tokens seen fewer times than this in the fit texts.
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"``, ``"lower_and_split_punctuation"`` (punctuation marks become
            words), ``None`` or a callable ``str -> str``.
        split: ``"auto"`` (default; whitespace, plus one token per CJK character), ``"cjk"`` (same),
            ``"whitespace"``, ``"character"`` or a callable ``str -> list[str]``.
        ngrams: ``None``/1 for unigrams; ``n`` for all 1..n-grams; or a tuple such as ``(1, 2)``.
            N-grams are the tokens joined by one space.
        output_sequence_length: pad/truncate every sequence to this length (None = keep lengths).
        truncation: ``"post"`` drops tokens at the end, ``"pre"`` drops them at the start.
        padding: ``"post"`` pads on the right (canonical), ``"pre"`` on the left.
        reserved: special tokens given ids 2, 3, ... (e.g. ``("<bos>", "<eos>")``).
        vocabulary: a ready vocabulary (list of learned tokens or :class:`Vocabulary`); skips fit.
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        min_freq: int = 1,
        standardize: str | Callable[[str], str] | None = "lower_and_strip_punctuation",
        split: str | Callable[[str], list[str]] = "auto",
        ngrams: int | Sequence[int] | None = None,
        output_sequence_length: int | None = None,
        truncation: str = "post",
        padding: str = "post",
        reserved: Sequence[str] = (),
        vocabulary: Sequence[str] | Vocabulary | None = None,
    ) -> None:
        self._standardize_fn = get_standardizer(standardize)
        self._split_fn = get_splitter(split)
        self.standardize = standardize
        self.split = split
        self.max_tokens = max_tokens
        self.min_freq = min_freq
        self.ngrams = _check_ngrams(ngrams)
        if output_sequence_length is not None and output_sequence_length < 1:
            raise ConfigError(
                f"output_sequence_length={output_sequence_length} must be >= 1 or None"
            )
        self.output_sequence_length = output_sequence_length
        for name, value in (("truncation", truncation), ("padding", padding)):
            if value not in ("pre", "post"):
                raise ConfigError(f"{name}={value!r} is unknown; use 'pre' or 'post'")
        self.truncation = truncation
        self.padding = padding
        self.reserved = tuple(reserved)
        if isinstance(vocabulary, Vocabulary):
            self.vocab: Vocabulary | None = vocabulary
        elif vocabulary is not None:
            self.vocab = Vocabulary(vocabulary, reserved=self.reserved)
        else:
            self.vocab = None

    # ----------------------------------------------------------------------------- tokenizing
    def tokenize(self, text: str) -> list[str]:
        """Standardize and split one text (and add n-grams): the tokens before lookup."""
        if self._standardize_fn is not None:
            text = self._standardize_fn(text)
        tokens = self._split_fn(text)
        if self.ngrams != (1,):
            tokens = add_ngrams(tokens, self.ngrams)
        return tokens

    def _tokenize_all(self, texts: Iterable[str]) -> list[list[str]]:
        texts = _check_texts(texts)
        tokenize = self.tokenize
        try:
            return [tokenize(t) for t in texts]
        except (AttributeError, TypeError):
            for i, t in enumerate(texts):
                if not isinstance(t, str):
                    raise DataError(
                        f"texts[{i}] is {type(t).__name__} ({t!r:.40}), not str; "
                        "drop or fill missing texts before vectorizing"
                    ) from None
            raise

    # ----------------------------------------------------------------------------- fitting
    def fit(self, texts: Iterable[str]) -> TextVectorizer:
        """Learn the vocabulary from ``texts`` (replacing any previous one); returns self."""
        self._fit_tokens(self._tokenize_all(texts))
        return self

    adapt = fit

    def _fit_tokens(self, token_lists: list[list[str]]) -> None:
        counts = Counter(itertools.chain.from_iterable(token_lists))
        self.vocab = Vocabulary.from_counts(
            counts, max_tokens=self.max_tokens, min_freq=self.min_freq, reserved=self.reserved
        )

    def fit_transform(
        self, texts: Iterable[str], pad: bool = False
    ) -> list[np.ndarray] | np.ndarray:
        """:meth:`fit` then :meth:`transform`, tokenizing each text only once."""
        token_lists = self._tokenize_all(texts)
        self._fit_tokens(token_lists)
        return self._lookup(token_lists, pad)

    # ----------------------------------------------------------------------------- transforming
    def transform(self, texts: Iterable[str], pad: bool = False) -> list[np.ndarray] | np.ndarray:
        """Token ids: a list of int64 arrays (T_i,), or with ``pad=True`` an int64 array (n, T)."""
        return self._lookup(self._tokenize_all(texts), pad)

    def __call__(self, texts: Iterable[str]) -> np.ndarray:
        """Padded int64 ids of shape (n, T); same as ``transform(texts, pad=True)``."""
        result = self.transform(texts, pad=True)
        assert isinstance(result, np.ndarray)
        return result

    def _lookup(self, token_lists: list[list[str]], pad: bool) -> list[np.ndarray] | np.ndarray:
        get = self._require_vocab().token_to_id.get
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        flat = np.fromiter(
            map(get, itertools.chain.from_iterable(token_lists), itertools.repeat(OOV_ID)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        if pad:
            return self._pad_flat(flat, lengths)
        sequences = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
        limit = self.output_sequence_length
        if limit is not None:
            cut = slice(None, limit) if self.truncation == "post" else slice(-limit, None)
            sequences = [s[cut] if len(s) > limit else s for s in sequences]
        return sequences

    def _pad_flat(self, flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        n = len(lengths)
        width = self.output_sequence_length or max(1, int(lengths.max(initial=0)))
        starts = np.cumsum(lengths) - lengths
        kept = np.minimum(lengths, width)
        # Position inside the original sequence of the first kept token.
        first = starts + (lengths - kept if self.truncation == "pre" else 0)
        out = np.full((n, width), PAD_ID, dtype=np.int64)
        cols = np.arange(width)
        keep = cols[None, :] < kept[:, None]  # (n, width), True = a real token (left-aligned)
        src = (first[:, None] + cols[None, :])[keep]
        if self.padding == "post":
            out[keep] = flat[src]
        else:
            # Row-major order of the right-aligned mask matches the order of ``src``.
            out[cols[None, :] >= (width - kept)[:, None]] = flat[src]
        return out

    def inverse_transform(self, ids: Any) -> list[list[str]] | list[str]:
        """Tokens for ids, padding dropped: one list per sequence (a 1-D input gives one list).

        Accepts a 2-D array/tensor ``(n, T)``, a list of 1-D arrays, or a single 1-D sequence.
        """
        vocab = self._require_vocab()
        if hasattr(ids, "detach"):  # a torch tensor
            ids = ids.detach().cpu().numpy()
        if isinstance(ids, np.ndarray):
            if ids.ndim == 1:
                return vocab.decode(ids)
            return [vocab.decode(row) for row in ids]
        ids = list(ids)
        if all(np.ndim(i) == 0 for i in ids):
            return vocab.decode(ids)
        return [vocab.decode(np.asarray(row).reshape(-1)) for row in ids]

    # ----------------------------------------------------------------------------- state
    @property
    def vocabulary(self) -> list[str]:
        """All tokens in id order: ``['', '[UNK]', *reserved, *learned]``."""
        return self._require_vocab().tokens

    @property
    def vocabulary_size(self) -> int:
        """Number of ids, padding and OOV included (the embedding table's row count)."""
        return len(self._require_vocab())

    @property
    def is_fitted(self) -> bool:
        return self.vocab is not None

    def _require_vocab(self) -> Vocabulary:
        if self.vocab is None:
            raise ConfigError("this TextVectorizer has no vocabulary yet; call fit(texts) first")
        return self.vocab

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (callables stored by name, marked custom)."""
        return {
            "max_tokens": self.max_tokens,
            "min_freq": self.min_freq,
            "standardize": _option_name(self.standardize, STANDARDIZE_MODES),
            "split": _option_name(self.split, SPLIT_MODES),
            "ngrams": list(self.ngrams),
            "output_sequence_length": self.output_sequence_length,
            "truncation": self.truncation,
            "padding": self.padding,
            "reserved": list(self.reserved),
        }

    def to_json(self) -> str:
        """A JSON string holding the config and the vocabulary; see :meth:`from_json`."""
        data = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "config": self.get_config(),
            "vocabulary": self.vocab.to_dict() if self.vocab is not None else None,
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(
        cls,
        text: str,
        standardize: Callable[[str], str] | None = None,
        split: Callable[[str], list[str]] | None = None,
    ) -> TextVectorizer:
        """Rebuild a vectorizer from :meth:`to_json` output.

        A vectorizer saved with a custom ``standardize``/``split`` function needs that function
        passed again here (functions are not stored in JSON).
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(
                f"vectorizer JSON is invalid ({err}); give the output of to_json()"
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError("this JSON is not a saved TextVectorizer; give the output of to_json()")
        if data.get("version", 0) > FORMAT_VERSION:
            raise DataError(
                f"vectorizer format version {data['version']} is newer than this rnnkit "
                f"supports ({FORMAT_VERSION}); upgrade rnnkit"
            )
        config = dict(data["config"])
        for key, given in (("standardize", standardize), ("split", split)):
            if given is not None:
                config[key] = given
            elif isinstance(config[key], str) and config[key].startswith("custom:"):
                raise ConfigError(
                    f"this vectorizer was saved with a custom {key} function "
                    f"({config[key][7:]}); pass it again: from_json(..., {key}=fn)"
                )
        vocab = data.get("vocabulary")
        config["vocabulary"] = Vocabulary.from_dict(vocab) if vocab is not None else None
        config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_json` to ``path`` atomically (temp file + rename); returns the path."""
        path = Path(path)
        _atomic_write_text(path, self.to_json())
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        standardize: Callable[[str], str] | None = None,
        split: Callable[[str], list[str]] | None = None,
    ) -> TextVectorizer:
        """Read a vectorizer written by :meth:`save`."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(f"{path}: no such vectorizer file; check the path") from None
        return cls.from_json(text, standardize=standardize, split=split)

    def __repr__(self) -> str:
        size = len(self.vocab) if self.vocab is not None else "unfitted"
        return (
            f"TextVectorizer(vocabulary_size={size}, standardize={self.standardize!r}, "
            f"split={self.split!r}, output_sequence_length={self.output_sequence_length})"
        )


def _check_ngrams(ngrams: int | Sequence[int] | None) -> tuple[int, ...]:
    if ngrams is None:
        return (1,)
    if isinstance(ngrams, int):
        if ngrams < 1:
            raise ConfigError(f"ngrams={ngrams} must be >= 1")
        return tuple(range(1, ngrams + 1))
    values = tuple(int(n) for n in ngrams)
    if not values or min(values) < 1:
        raise ConfigError(f"ngrams={ngrams!r} must be positive integers such as (1, 2)")
    return values


def _check_texts(texts: Iterable[str]) -> Sequence[str]:
    if isinstance(texts, str):
        raise DataError("texts is a single str; pass a list of texts, e.g. [text]")
    if isinstance(texts, np.ndarray) or not isinstance(texts, Sequence):
        return list(texts)
    return texts


def _option_name(value: object, known: tuple[object, ...]) -> object:
    if value in known and not callable(value):
        return value
    name = getattr(value, "__qualname__", None) or type(value).__name__
    return f"custom:{getattr(value, '__module__', '?')}.{name}"


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


__all__ = ["TextVectorizer"]
