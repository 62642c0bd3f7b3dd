"""Sentence pairs for translation: readers, per-side tokenization and a bucketing pair loader.

Readers (plain or gzip/bzip2/xz, BOMs and encodings handled by :mod:`rnnkit.data.readers`):

- :func:`read_pairs`: one pair per row of a TSV/CSV file, ``source<TAB>target`` by default; other
  columns (e.g. the attribution column of the Tatoeba/Anki files) are ignored, and
  ``source_column``/``target_column`` (0-based index, or a name when the file has a header)
  choose others.
- :func:`read_parallel`: two line-aligned files, one sentence per line (Multi30k, WMT).

Tokenization is chosen per side by ``level``:

- ``"word"``: lowercased (optional), words and punctuation split apart, like the spaCy tokenizers
  of the standard PyTorch tutorial: ``"A man, smiling."`` -> ``["a", "man", ",", "smiling", "."]``;
- ``"char"``: every character is a token (runs of whitespace become one ``" "``), the right choice
  for Chinese/Japanese (no spaces) and for symbol-level toy tasks (``"535+61"``);
- ``"auto"``: :func:`detect_level` picks ``char`` when CJK characters dominate or the texts are
  mostly single "words" (``"535+61"``), else ``word``.

:class:`PairLoader` yields the batches :class:`rnnkit.tasks.translation_model.Seq2Seq` trains on:
``({"x": (B, S), "lengths": (B,), "y_in": (B, T)}, y_out (B, T))`` where ``y_in`` is
``<bos> w1 .. wn`` and ``y_out`` is ``w1 .. wn <eos>`` with -100 at padded steps. Batches are
bucketed by source length (pools sorted by length, batch order shuffled) like
:class:`rnnkit.data.BucketLoader`.

Example:
    >>> tokenize("A man, smiling.", "word")
    ['a', 'man', ',', 'smiling', '.']
    >>> detokenize(['a', 'man', ',', 'smiling', '.'], "word")
    'a man, smiling.'
    >>> tokenize("我爱你", "char"), detect_level(["我爱你", "你好"]), detect_level(
    ...     ["a man", "a dog"])
    (['我', '爱', '你'], 'char', 'word')
    >>> import numpy as np
    >>> loader = PairLoader([np.array([5, 6])], [np.array([7])], bos_id=2, eos_id=3, batch_size=1)
    >>> inputs, target = next(iter(loader))
    >>> inputs["y_in"].tolist(), target.tolist()
    ([[2, 7]], [[7, 3]])
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.batching import IGNORE_INDEX
from rnnkit.data.readers import read_text, strip_compression_suffix
from rnnkit.data.tables import (
    Column,
    column_index,
    parse_rows,
    sniff_delimiter,
    split_header,
    table_width,
)
from rnnkit.data.text import CJK_CHAR, normalize_unicode
from rnnkit.errors import ConfigError, DataError

LEVELS = ("auto", "word", "char")
_WORD = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")
_SPACES = re.compile(r"\s+")
_NO_SPACE_BEFORE = frozenset(".,!?;:%)]}\u00bb\u2026")
_NO_SPACE_AFTER = frozenset("([{\u00ab\u00bf\u00a1")
_HEADER_NAMES = {"source", "target", "src", "tgt", "input", "output", "text", "translation"}


@dataclass
class PairDataset:
    """Parallel texts: ``sources[i]`` translates to ``targets[i]``; ``origin`` names the file(s)."""

    sources: list[str]
    targets: list[str]
    origin: str = ""
    skipped: int = field(default=0)

    def __len__(self) -> int:
        return len(self.sources)


# ------------------------------------------------------------------------------- tokenization
def tokenize(text: str, level: str, lowercase: bool = True) -> list[str]:
    """Tokens of one text at ``level`` ``word`` or ``char`` (see the module docstring)."""
    text = normalize_unicode(text)
    if lowercase:
        text = text.lower()
    if level == "word":
        return _WORD.findall(text)
    if level == "char":
        return list(_SPACES.sub(" ", text.strip()))
    raise ConfigError(
        f"level={level!r} is unknown; use 'word' or 'char' (or 'auto' before fitting)"
    )


def detokenize(tokens: Sequence[str], level: str) -> str:
    """Tokens back to a text: characters joined; words joined by spaces, except around CJK
    characters, before closing punctuation (``. , ! ? ; : ) ]``) and after opening brackets."""
    if level == "char":
        return "".join(tokens)
    out: list[str] = []
    for token in tokens:
        if out and not (
            (_is_cjk(out[-1][-1]) and _is_cjk(token[0]))
            or token in _NO_SPACE_BEFORE
            or out[-1] in _NO_SPACE_AFTER
        ):
            out.append(" ")
        out.append(token)
    return "".join(out)


def _is_cjk(char: str) -> bool:
    return bool(CJK_CHAR.match(char))


def cjk_share(texts: Sequence[str], sample: int = 2000) -> float:
    """Fraction of the non-space characters of (the first ``sample``) texts that are CJK."""
    chars = [c for t in texts[:sample] for c in t if not c.isspace()]
    return sum(map(_is_cjk, chars)) / len(chars) if chars else 0.0


def detect_level(texts: Sequence[str]) -> str:
    """``char`` when CJK characters are >= 30% of the text or most texts are one word, else
    ``word``.
    """
    if not texts:
        return "word"
    if cjk_share(texts) >= 0.3:
        return "char"
    sample = texts[:2000]
    words = sum(len(t.split()) for t in sample) / len(sample)
    return "char" if words < 1.5 else "word"


# ------------------------------------------------------------------------------- readers
def read_pairs(
    path: str | os.PathLike[str],
    source_column: Column = 0,
    target_column: Column = 1,
    *,
    header: bool | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> PairDataset:
    """Pairs from a delimited file (tab by default for ``.tsv``/``.txt``; sniffed otherwise).

    A header row is detected when its cells are names such as ``source``/``target`` (or when a
    column is asked for by name). Rows with an empty source or target are skipped and counted.
    """
    path = Path(path)
    text = read_text(path, encoding)
    if not text.strip():
        raise DataError(f"{path} is empty; give a file with one 'source<TAB>target' pair per line")
    if delimiter is None:
        ext = strip_compression_suffix(path.name).lower().rsplit(".", 1)[-1]
        delimiter = (
            "\t"
            if ext in ("tsv", "txt", "tab") or "\t" in text[:65536]
            else sniff_delimiter(text, path.name)
        )
    rows, lines = parse_rows(text, delimiter, path)
    if header is None:
        first = {c.strip().lower() for c in rows[0]}
        header = (
            bool(first & _HEADER_NAMES)
            or isinstance(source_column, str)
            or isinstance(target_column, str)
        )
    names, body = split_header(rows, header, path)
    body_lines = lines[1:] if header else lines
    width = table_width(names, body)
    if width < 2:
        raise DataError(
            f"{path}: rows have one column (delimiter {delimiter!r}); give 'source<TAB>target' "
            "lines (delimiter= in Python) or two line-aligned files (--source-file and "
            "--target-file; read_parallel in Python)"
        )
    src = column_index(path, names, width, source_column, "source_column")
    tgt = column_index(path, names, width, target_column, "target_column")
    assert src is not None and tgt is not None
    if src == tgt:
        raise DataError(f"{path}: source_column and target_column are both column {src}; pick two")
    sources, targets, skipped = [], [], 0
    for row, line in zip(body, body_lines, strict=True):
        if len(row) <= max(src, tgt):
            raise DataError(
                f"{path} line {line} has {len(row)} field(s) but column {max(src, tgt)} is needed; "
                f"check the delimiter (using {delimiter!r})"
            )
        s, t = row[src].strip(), row[tgt].strip()
        if not s or not t:
            skipped += 1
            continue
        sources.append(s)
        targets.append(t)
    if not sources:
        raise DataError(f"{path}: no row has both a source and a target text")
    return PairDataset(sources, targets, str(path), skipped)


def read_parallel(
    source_file: str | os.PathLike[str], target_file: str | os.PathLike[str],
    encoding: str = "utf-8"
) -> PairDataset:
    """Pairs from two line-aligned files (one sentence per line; blank pairs skipped)."""
    src_lines = read_text(source_file, encoding).splitlines()
    tgt_lines = read_text(target_file, encoding).splitlines()
    while src_lines and tgt_lines and not src_lines[-1].strip() and not tgt_lines[-1].strip():
        src_lines.pop()
        tgt_lines.pop()
    if len(src_lines) != len(tgt_lines):
        raise DataError(
            f"{source_file} has {len(src_lines)} lines but {target_file} has {len(tgt_lines)}; "
            "parallel files must be line-aligned"
        )
    sources, targets, skipped = [], [], 0
    for s, t in zip(src_lines, tgt_lines, strict=True):
        if not s.strip() or not t.strip():
            skipped += 1
            continue
        sources.append(s.strip())
        targets.append(t.strip())
    if not sources:
        raise DataError(f"{source_file} / {target_file}: no line pair has two non-empty texts")
    return PairDataset(sources, targets, f"{source_file} + {target_file}", skipped)


# ------------------------------------------------------------------------------- batches
class PairLoader:
    """Length-bucketed batches of (source ids, target ids) pairs for teacher-forced training.

    Args:
        sources, targets: int64 id arrays per pair (targets without ``<bos>``/``<eos>``).
        bos_id, eos_id: the ids put before ``y_in`` and after ``y_out``.
        batch_size, shuffle, seed: as :class:`rnnkit.data.BucketLoader` (``set_epoch`` reshuffles).
        max_source_length, max_target_length: longer sequences are cut (the target keeps ``<eos>``).
    """

    def __init__(
        self,
        sources: Sequence[np.ndarray],
        targets: Sequence[np.ndarray],
        *,
        bos_id: int,
        eos_id: int,
        batch_size: int = 64,
        shuffle: bool = False,
        seed: int | None = 0,
        max_source_length: int | None = None,
        max_target_length: int | None = None,
    ) -> None:
        if len(sources) != len(targets):
            raise DataError(f"{len(sources)} sources but {len(targets)} targets; "
                            "give one target per source")
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        self.sources = [np.asarray(s[:max_source_length], dtype=np.int64) for s in sources]
        self.targets = [np.asarray(t[:max_target_length], dtype=np.int64) for t in targets]
        self.bos_id, self.eos_id = bos_id, eos_id
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.source_lengths = np.array([len(s) for s in self.sources], dtype=np.int64)
        self.target_lengths = np.array([len(t) for t in self.targets], dtype=np.int64)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.sources) / self.batch_size)

    def batch_indices(self) -> list[np.ndarray]:
        """Original indices of each batch, in yield order."""
        n = len(self.sources)
        key = self.source_lengths * 1000 + self.target_lengths
        if not self.shuffle:
            order = np.argsort(key, kind="stable")
            return [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
        rng = np.random.default_rng((self.seed or 0, self.epoch))
        perm = rng.permutation(n)
        pool = 50 * self.batch_size
        batches: list[np.ndarray] = []
        for start in range(0, n, pool):
            chunk = perm[start : start + pool]
            chunk = chunk[np.argsort(key[chunk], kind="stable")]
            batches += [
                chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)
            ]
        return [batches[i] for i in rng.permutation(len(batches))]

    def make_batch(self, index: np.ndarray) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        src_len = self.source_lengths[index]
        tgt_len = self.target_lengths[index] + 1
        x = np.zeros((len(index), max(1, int(src_len.max()))), dtype=np.int64)
        y_in = np.zeros((len(index), int(tgt_len.max())), dtype=np.int64)
        y_out = np.full_like(y_in, IGNORE_INDEX)
        for row, i in enumerate(index):
            s, t = self.sources[i], self.targets[i]
            x[row, : len(s)] = s
            y_in[row, 0] = self.bos_id
            y_in[row, 1 : len(t) + 1] = t
            y_out[row, : len(t)] = t
            y_out[row, len(t)] = self.eos_id
        inputs = {
            "x": torch.from_numpy(x),
            "lengths": torch.from_numpy(src_len.copy()),
            "y_in": torch.from_numpy(y_in),
        }
        return inputs, torch.from_numpy(y_out)

    def __iter__(self) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor]]:
        for index in self.batch_indices():
            yield self.make_batch(index)


__all__ = [
    "PairDataset",
    "PairLoader",
    "read_pairs",
    "read_parallel",
    "tokenize",
    "detokenize",
    "detect_level",
    "cjk_share",
    "LEVELS",
]
