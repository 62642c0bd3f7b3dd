"""A token <-> id table with padding (id 0), out-of-vocabulary (id 1) and optional reserved tokens.

Layout of the ids: ``0`` = padding (token ``""``), ``1`` = out-of-vocabulary (token ``"[UNK]"``),
then the ``reserved`` tokens in the order given (e.g. ``"<bos>"``, ``"<eos>"`` for translation),
then the learned tokens sorted by frequency, most frequent first; ties are broken alphabetically
(by code point), so the vocabulary depends only on the multiset of texts, not on their order.

Example:
    >>> from collections import Counter
    >>> vocab = Vocabulary.from_counts(Counter("b a b c a b".split()), max_tokens=4)
    >>> vocab.tokens
    ['', '[UNK]', 'b', 'a']
    >>> vocab.encode(["a", "b", "zzz"]).tolist()
    [3, 2, 1]
    >>> vocab.decode([3, 2, 1, 0])
    ['a', 'b', '[UNK]']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from rnnkit.errors import ConfigError, DataError

PAD_ID = 0
OOV_ID = 1
PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"


class Vocabulary:
    """An immutable mapping between tokens and int ids (0 = padding, 1 = OOV).

    Args:
        tokens: the learned tokens in id order (without padding, OOV and reserved tokens).
        reserved: extra special tokens placed at ids 2, 3, ... before the learned ones.
    """

    def __init__(self, tokens: Iterable[str] = (), reserved: Sequence[str] = ()) -> None:
        specials = [PAD_TOKEN, OOV_TOKEN, *reserved]
        if len(set(specials)) != len(specials):
            raise ConfigError(
                f"reserved={list(reserved)!r} repeats a token or uses '' / '[UNK]'; "
                "give distinct tokens"
            )
        self.reserved: tuple[str, ...] = tuple(reserved)
        seen = set(specials)
        learned = []
        for token in tokens:
            if token not in seen:
                seen.add(token)
                learned.append(token)
        self._tokens: list[str] = specials + learned
        self._ids: dict[str, int] = {t: i for i, t in enumerate(self._tokens)}

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        max_tokens: int | None = None,
        min_freq: int = 1,
        reserved: Sequence[str] = (),
    ) -> Vocabulary:
        """Keep tokens seen at least ``min_freq`` times, most frequent first, ties alphabetical.

        ``max_tokens`` caps the whole table, padding, OOV and reserved tokens included (as in
        Keras).
        """
        n_special = 2 + len(reserved)
        if max_tokens is not None and max_tokens <= n_special:
            raise ConfigError(
                f"max_tokens={max_tokens} leaves no room for padding, OOV and {len(reserved)} "
                f"reserved tokens; use max_tokens >= {n_special + 1} or None"
            )
        if min_freq < 1:
            raise ConfigError(f"min_freq={min_freq} must be >= 1")
        specials = {PAD_TOKEN, OOV_TOKEN, *reserved}
        kept = [(t, c) for t, c in counts.items() if c >= min_freq and t not in specials]
        kept.sort(key=lambda item: (-item[1], item[0]))
        if max_tokens is not None:
            kept = kept[: max_tokens - n_special]
        return cls((t for t, _ in kept), reserved=reserved)

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order, padding and OOV included (a copy)."""
        return list(self._tokens)

    @property
    def token_to_id(self) -> dict[str, int]:
        """The lookup dict (do not modify)."""
        return self._ids

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def __getitem__(self, token: str) -> int:
        return self._ids.get(token, OOV_ID)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Vocabulary)
            and self._tokens == other._tokens
            and self.reserved == other.reserved
        )

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)}, reserved={list(self.reserved)})"

    def id_of(self, token: str) -> int:
        """The id of a token, 1 (OOV) when unknown."""
        return self._ids.get(token, OOV_ID)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Token ids as an int64 array of shape (len(tokens),); unknown tokens map to 1."""
        get = self._ids.get
        return np.fromiter((get(t, OOV_ID) for t in tokens), dtype=np.int64)

    def decode(self, ids: Iterable[int], skip_padding: bool = True) -> list[str]:
        """Tokens for ids; padding (0) is dropped unless ``skip_padding=False``."""
        tokens = self._tokens
        out = []
        for i in ids:
            i = int(i)
            if i == PAD_ID and skip_padding:
                continue
            if not 0 <= i < len(tokens):
                raise DataError(
                    f"id {i} is outside the vocabulary (0..{len(tokens) - 1}); "
                    "decode ids made with this vocabulary"
                )
            out.append(tokens[i])
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` rebuilds an equal vocabulary."""
        return {"tokens": self._tokens[2 + len(self.reserved) :], "reserved": list(self.reserved)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(data["tokens"], reserved=data.get("reserved", ()))
        except (KeyError, TypeError) as err:
            raise DataError(
                f"vocabulary data is malformed ({err}); give a dict made by Vocabulary.to_dict()"
            ) from None


__all__ = ["Vocabulary", "PAD_ID", "OOV_ID", "PAD_TOKEN", "OOV_TOKEN"]
