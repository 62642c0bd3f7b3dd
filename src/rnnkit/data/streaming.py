"""Streaming labelled texts larger than memory: many shards in, length-bucketed batches out.

:class:`TextShards` names the data: CSV/TSV, JSON Lines or plain-text files (one text per line),
each plain or gzip/bzip2/xz-compressed (recognised by magic bytes), read row by row with the same
column and header rules as :func:`rnnkit.data.read_text_dataset` (decided per file from its first
rows) and the same checks and one-line errors (:func:`rnnkit.data.readers.open_text`: devices and
FIFOs refused, truncated archives and invalid text named by file, line and byte offset; a stray
CSV quote named by its line; a file whose texts are all empty refused). Nothing is loaded whole:

- :func:`scan_texts` makes **one streaming pass** and keeps only token counts, label counts and
  the number of examples per file; ``Vocabulary.from_counts(counts, max_tokens)`` then gives the
  same vocabulary as fitting a :class:`TextVectorizer` on all texts at once.
- :class:`StreamingLoader` is the iterable dataset the Trainer consumes: each epoch it reads every
  shard of this worker once (in an order shuffled per epoch), fills a buffer of ``buffer_size``
  examples, shuffles and sorts the buffer by length, cuts it into batches (the same batches as
  :class:`BucketLoader` makes from that buffer) and yields them in shuffled order. Memory holds
  one buffer, so it stays flat however many shards there are.
- **Workers**: rank ``r`` of ``N`` reads the shards ``r, r + N, ...``; with fewer shards than
  workers every worker reads all files and keeps every N-th example. The loader says so with
  ``shards_by_rank = True`` and the Trainer does not split its batches again.
- **Hold-out without loading**: ``shards.select(lo, hi)`` keeps the examples whose hash (of seed,
  file name and row number) lies in ``[lo, hi)``, so ``select(0, 0.1)`` and ``select(0.1, 1)`` are
  a disjoint 10 % / 90 % split that every pass and every worker agrees on.

Example:
    >>> import gzip, tempfile, pathlib
    >>> from rnnkit.data import TextVectorizer
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for i in range(3):
    ...     rows = "".join(f"good film {j},1\\nbad film {j},0\\n" for j in range(4))
    ...     _ = (root / f"part{i}.csv.gz").write_bytes(gzip.compress(("text,label\\n" + rows).encode()))
    >>> shards = TextShards(sorted(root.glob("*.csv.gz")))
    >>> scan = scan_texts(shards, TextVectorizer().tokenize)
    >>> scan.examples, scan.classes(), scan.tokens.most_common(1)
    (24, [0, 1], [('film', 24)])
    >>> vec = TextVectorizer(vocabulary=scan.vocabulary(max_tokens=6))
    >>> loader = StreamingLoader(shards, vec, scan.label_index(), batch_size=8, examples=scan.examples)
    >>> len(loader), sum(len(t) for _, t in loader)
    (3, 24)
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from rnnkit.data.batching import Batch, BucketLoader
from rnnkit.data.readers import check_file, open_text, strip_compression_suffix
from rnnkit.data.sources import (
    _INT,
    Column,
    Label,
    QuoteError,
    _quotes_swallowed_rows,
    _resolve_columns,
    detect_header,
    empty_texts_error,
    iter_rows,
    sniff_delimiter,
)
from rnnkit.data.vectorizer import TextVectorizer
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import ConfigError, DataError

_SAMPLE_BYTES = 1 << 18
SHARD_SUFFIXES = (".csv", ".tsv", ".tab", ".psv", ".jsonl", ".ndjson", ".txt")


@dataclass(frozen=True)
class _Layout:
    kind: str  # "table", "jsonl" or "lines"
    delimiter: str = ","
    quoting: Any = csv.QUOTE_MINIMAL
    header: bool = False
    text_index: int = 0
    label_index: int | None = None
    names: tuple[str, ...] = ()


class TextShards:
    """Labelled (or unlabelled) texts spread over files, read as a stream; see the module docstring.

    Args:
        paths: files, or directories (every CSV/TSV/JSONL/txt file inside, sorted, compressed
            or not). The order given is the canonical order (sorted within a directory).
        text_column, label_column, header, delimiter, has_labels, encoding: as for
            :func:`rnnkit.data.read_text_dataset`.
        select: keep examples whose hash lies in ``[lo, hi)`` (``(0.0, 1.0)`` keeps all).
        seed: the hash seed of ``select``.
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        text_column: Column = None,
        label_column: Column = None,
        *,
        header: bool | None = None,
        delimiter: str | None = None,
        has_labels: bool | None = None,
        encoding: str = "utf-8",
        select: tuple[float, float] = (0.0, 1.0),
        seed: int = 0,
    ) -> None:
        lo, hi = float(select[0]), float(select[1])
        if not 0.0 <= lo < hi <= 1.0:
            raise ConfigError(f"select={select!r}: give 0 <= lo < hi <= 1")
        self.paths: tuple[str, ...] = tuple(str(f) for f in expand_paths(paths))
        self.text_column = text_column
        self.label_column = label_column
        self.header = header
        self.delimiter = delimiter
        self.has_labels = has_labels
        self.encoding = encoding
        self.select_range = (lo, hi)
        self.seed = seed
        self._layouts: dict[str, _Layout] = {}

    def select(self, lo: float, hi: float) -> TextShards:
        """The examples whose hash is in ``[lo, hi)`` of the current selection (a new object).

        Example: ``shards.select(0.0, 0.1)`` (validation) and ``shards.select(0.1, 1.0)`` (training).
        """
        a, b = self.select_range
        span = b - a
        chosen = copy.copy(self)
        chosen.select_range = (a + lo * span, a + hi * span)
        return chosen

    def __len__(self) -> int:
        """The number of files (shards)."""
        return len(self.paths)

    @property
    def source(self) -> str:
        return self.paths[0] + (f" + {len(self.paths) - 1} more" if len(self.paths) > 1 else "")

    # ------------------------------------------------------------------ reading
    def files_for(self, rank: int = 0, world: int = 1) -> tuple[list[str], bool]:
        """The files worker ``rank`` of ``world`` reads, and whether it keeps every world-th row."""
        if world <= 1:
            return list(self.paths), False
        if len(self.paths) >= world:
            return list(self.paths[rank::world]), False
        return list(self.paths), True

    def records(
        self,
        rank: int = 0,
        world: int = 1,
        order: Sequence[str] | None = None,
    ) -> Iterator[tuple[str, str | None, str]]:
        """``(text, raw label or None, file)`` of worker ``rank``'s examples, streamed.

        ``order`` reads the worker's files in that order (default: the canonical order).
        """
        files, by_row = self.files_for(rank, world)
        if order is not None:
            files = list(order)
        lo, hi = self.select_range
        everything = lo == 0.0 and hi == 1.0
        kept = 0
        for path in files:
            for row, (text, label) in enumerate(self._read_file(path)):
                if not everything:
                    u = _hash_unit(self.seed, path, row)
                    if not lo <= u < hi:
                        continue
                if by_row:
                    kept += 1
                    if (kept - 1) % world != rank:
                        continue
                yield text, label, path

    def texts(self) -> Iterator[str]:
        """Every text, in the canonical order (e.g. to fit a vectorizer by streaming)."""
        return (text for text, _, _ in self.records())

    def _layout(self, path: str) -> _Layout:
        if path not in self._layouts:
            self._layouts[path] = _detect_layout(self, Path(path))
        return self._layouts[path]

    def _read_file(self, path: str) -> Iterator[tuple[str, str | None]]:
        """``(text, label)`` of every row of one file; a file whose texts are all empty is an error
        once it is read to the end (as :func:`rnnkit.data.read_text_dataset` refuses it)."""
        layout = self._layout(path)
        rows, some_text = 0, False
        with open_text(path, self.encoding) as handle:
            for text, label in _rows_of(path, handle, layout):
                rows += 1
                some_text = some_text or bool(text.strip())
                yield text, label
        if rows and not some_text:
            names = layout.names
            raise empty_texts_error(path, rows, names[layout.text_index] if names else layout.text_index)


def _rows_of(path: str, handle: IO[str], layout: _Layout) -> Iterator[tuple[str, str | None]]:
    """The ``(text, label)`` rows of an open file, read as its layout says."""
    if layout.kind == "lines":
        for line in handle:
            line = line.rstrip("\r\n")
            if line.strip():
                yield line, None
    elif layout.kind == "jsonl":
        yield from _read_jsonl(path, handle, layout)
    else:
        yield from _read_table(path, handle, layout)


def expand_paths(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files from files and directories (a directory gives its data files, sorted by name)."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise DataError("no shards given; pass files or a directory of CSV/JSONL/txt files")
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            inside = sorted(
                f for f in path.iterdir()
                if f.is_file() and strip_compression_suffix(f.name).lower().endswith(SHARD_SUFFIXES)
            )
            if not inside:
                raise DataError(f"{path} holds no CSV/TSV/JSONL/txt files (plain or compressed)")
            files.extend(inside)
        else:
            check_file(path)  # a missing file, a device, FIFO or socket is refused before opening
            files.append(path)
    return files


def _hash_unit(seed: int, path: str, row: int) -> float:
    """A number in [0, 1) fixed by (seed, file name, row); the same in every process."""
    key = f"{seed}|{Path(path).name}|{row}".encode()
    return zlib.crc32(key) / 4294967296.0


def _detect_layout(shards: TextShards, path: Path) -> _Layout:
    name = strip_compression_suffix(path.name).lower()
    with open_text(path, shards.encoding) as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if not sample.strip():
        raise DataError(f"{path} is empty; remove it or give a file with rows")
    truncated = len(sample) >= _SAMPLE_BYTES
    head = sample.lstrip(" \t\r\n")
    if name.endswith((".jsonl", ".ndjson")) or (not name.endswith(SHARD_SUFFIXES) and head.startswith("{")):
        return _jsonl_layout(shards, path, sample, truncated)
    if name.endswith(".txt") and shards.label_column is None:
        if shards.has_labels:
            raise DataError(
                f"{path} is a plain-text shard (one text per line, no labels); give CSV/TSV/JSONL "
                "shards with a label column for classification"
            )
        return _Layout("lines")
    delimiter = shards.delimiter or sniff_delimiter(sample, path.name)
    quoting = _choose_quoting(sample, delimiter, truncated)
    rows = _sample_rows(sample, delimiter, quoting, truncated)
    if not rows:
        raise DataError(f"{path} has no rows of text; check the file")
    header = shards.header
    if header is None:
        header = detect_header(rows)
        if not header and any(isinstance(c, str) for c in (shards.text_column, shards.label_column)):
            header = True
    names = [c.strip() for c in rows[0]] if header else None
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{path} has a header but no data rows; add rows below the header")
    width = max([len(names or [])] + [len(r) for r in body[:1000]])
    text_index, label_index = _resolve_columns(
        path, names, width, body, shards.text_column, shards.label_column, shards.has_labels
    )
    return _Layout(
        "table", delimiter, quoting, bool(header), text_index, label_index, tuple(names or ())
    )


def _choose_quoting(sample: str, delimiter: str, truncated: bool) -> Any:
    """RFC 4180 quoting, except for a TSV whose quotes are plain characters (as the in-memory
    reader decides, from the sample); in other files a bad quote is an error naming its line."""
    if delimiter != "\t":
        return csv.QUOTE_MINIMAL
    text = sample[: sample.rfind("\n") + 1] if truncated and "\n" in sample else sample
    try:
        rows = [row for row, _ in iter_rows(io.StringIO(text, newline=""), delimiter, csv.QUOTE_MINIMAL, "")]
    except QuoteError:
        return csv.QUOTE_NONE
    return csv.QUOTE_NONE if _quotes_swallowed_rows(rows) else csv.QUOTE_MINIMAL


def _sample_rows(sample: str, delimiter: str, quoting: Any, truncated: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quoting=quoting)
    rows = []
    try:
        for row in reader:
            if row and any(row):
                rows.append(row)
    except csv.Error:
        pass  # a quoted field cut by the end of the sample
    return rows[:-1] if truncated and len(rows) > 1 else rows


def _read_table(path: str, handle: IO[str], layout: _Layout) -> Iterator[tuple[str, str | None]]:
    needed = max(layout.text_index, -1 if layout.label_index is None else layout.label_index) + 1
    rows = iter_rows(handle, layout.delimiter, layout.quoting, path)
    if layout.header:
        next(rows, None)
    for row, line in rows:
        if len(row) < needed:
            raise DataError(
                f"{path} line {line} has {len(row)} field(s) but {needed} are needed; "
                f"fix that row or the delimiter (read as {layout.delimiter!r}; delimiter= in Python)"
            )
        label = None
        if layout.label_index is not None:
            label = row[layout.label_index].strip()
            if not label:
                raise DataError(f"{path} line {line} has an empty label; fill it in or remove the row")
        yield row[layout.text_index], label


def _jsonl_layout(shards: TextShards, path: Path, sample: str, truncated: bool) -> _Layout:
    lines = [ln for ln in sample.splitlines() if ln.strip()]
    if truncated and len(lines) > 1:
        lines = lines[:-1]
    records = []
    for number, line in enumerate(lines[:1000], start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path} line {number} is not valid JSON ({err.msg}); one object per line") from None
        if not isinstance(record, dict):
            raise DataError(f"{path} line {number} is not a JSON object; write one {{...}} per line")
        records.append(record)
    names = list(records[0])
    rows = [[_cell(r.get(k)) for k in names] for r in records]
    text_index, label_index = _resolve_columns(
        path, names, len(names), rows, shards.text_column, shards.label_column, shards.has_labels
    )
    return _Layout("jsonl", text_index=text_index, label_index=label_index, names=tuple(names))


def _read_jsonl(path: str, handle: IO[str], layout: _Layout) -> Iterator[tuple[str, str | None]]:
    text_key = layout.names[layout.text_index]
    label_key = layout.names[layout.label_index] if layout.label_index is not None else None
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path} line {number} is not valid JSON ({err.msg}); one object per line") from None
        text = record.get(text_key) if isinstance(record, dict) else None
        if not isinstance(text, str):
            raise DataError(f"{path} line {number}: {text_key!r} is missing or not text")
        label = None
        if label_key is not None:
            label = _cell(record.get(label_key)).strip()
            if not label:
                raise DataError(f"{path} line {number} has an empty label; fill it in or remove it")
        yield text, label


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


# ---------------------------------------------------------------------------- vocabulary pass


@dataclass
class TextScan:
    """What one streaming pass learns: token counts, label counts, examples per file."""

    tokens: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    per_file: Counter[str] = field(default_factory=Counter)

    @property
    def examples(self) -> int:
        return int(sum(self.per_file.values()))

    def merge(self, other: TextScan) -> TextScan:
        self.tokens.update(other.tokens)
        self.labels.update(other.labels)
        self.per_file.update(other.per_file)
        return self

    def classes(self) -> list[Label]:
        """The distinct labels, sorted: ints when every label is an integer, else strings."""
        raw = list(self.labels)
        if raw and all(_INT.fullmatch(r) for r in raw):  # the rule of coerce_labels
            return sorted({int(r) for r in raw})
        return sorted(raw)

    def label_index(self) -> dict[str, int]:
        """Raw label text -> class id (position in :meth:`classes`)."""
        classes = self.classes()
        index = {c: i for i, c in enumerate(classes)}
        ints = bool(classes) and isinstance(classes[0], int)
        return {raw: index[int(raw) if ints else raw] for raw in self.labels}

    def vocabulary(
        self, max_tokens: int | None = None, min_freq: int = 1, reserved: Sequence[str] = ()
    ) -> Vocabulary:
        """The vocabulary a TextVectorizer fitted on all the texts at once would learn."""
        return Vocabulary.from_counts(self.tokens, max_tokens=max_tokens, min_freq=min_freq, reserved=reserved)

    def examples_for(self, shards: TextShards, rank: int = 0, world: int = 1) -> int:
        """How many examples worker ``rank`` of ``world`` reads per epoch."""
        files, by_row = shards.files_for(rank, world)
        if by_row:
            return (self.examples + world - 1 - rank) // world
        return int(sum(self.per_file.get(f, 0) for f in files))


def scan_texts(
    shards: TextShards,
    tokenize: Callable[[str], list[str]] | None,
    rank: int = 0,
    world: int = 1,
    chunk: int = 1024,
) -> TextScan:
    """One pass over worker ``rank``'s examples: token counts (when ``tokenize`` is given),
    label counts and examples per file. Merge the scans of all workers for the full picture
    (:func:`scan_all` does it inside a process group)."""
    scan = TextScan()
    update = scan.tokens.update
    pending: list[str] = []
    for text, label, path in shards.records(rank, world):
        scan.per_file[path] += 1
        if label is not None:
            scan.labels[label] += 1
        if tokenize is not None:
            pending.append(text)
            if len(pending) >= chunk:
                update(itertools.chain.from_iterable(map(tokenize, pending)))
                pending.clear()
    if tokenize is not None and pending:
        update(itertools.chain.from_iterable(map(tokenize, pending)))
    return scan


def scan_all(shards: TextShards, tokenize: Callable[[str], list[str]] | None) -> TextScan:
    """:func:`scan_texts` split over the ranks of the current process group and merged (every
    rank gets the same totals); a plain scan outside a group."""
    from rnnkit.train import distributed

    ctx = distributed.context()
    if ctx is None:
        return scan_texts(shards, tokenize)
    mine = scan_texts(shards, tokenize, ctx.rank, ctx.world_size)
    total = TextScan()
    for part in distributed.gather_objects(mine):
        total.merge(part)
    return total


# ---------------------------------------------------------------------------- the loader


class StreamingLoader:
    """Length-bucketed batches streamed from :class:`TextShards` (see the module docstring).

    Args:
        shards: the data.
        vectorizer: a fitted :class:`TextVectorizer` (texts -> ids, a buffer at a time).
        label_index: raw label text -> class id (:meth:`TextScan.label_index`); None = no targets.
        batch_size: examples per batch.
        buffer_size: examples shuffled and sorted together (rounded up to a multiple of
            batch_size); default ``50 * batch_size``, the pool of :class:`BucketLoader`.
        shuffle: shuffle files, buffers and batch order per epoch; False reads in file order.
        seed: with the epoch (``set_epoch``) and rank, fixes the shuffle.
        max_length, truncation: as for :class:`BucketLoader`.
        rank, world_size: this worker's place (default: from the process group, if any).
        examples: examples this worker reads per epoch (:meth:`TextScan.examples_for`); gives
            ``len()`` exactly. Without it, ``len()`` is only known after the first full pass.
    """

    shards_by_rank = True

    def __init__(
        self,
        shards: TextShards,
        vectorizer: TextVectorizer,
        label_index: dict[str, int] | None,
        batch_size: int = 32,
        buffer_size: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        max_length: int | None = None,
        truncation: str = "post",
        rank: int | None = None,
        world_size: int | None = None,
        examples: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        buffer = buffer_size if buffer_size is not None else 50 * batch_size
        if buffer < 1:
            raise ConfigError(f"buffer_size={buffer_size} must be >= 1")
        if rank is None or world_size is None:
            from rnnkit.train import distributed

            ctx = distributed.context()
            rank, world_size = (ctx.rank, ctx.world_size) if ctx is not None else (0, 1)
        self.shards = shards
        self.vectorizer = vectorizer
        self.label_index = label_index
        self.batch_size = batch_size
        self.buffer_size = math.ceil(buffer / batch_size) * batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.max_length = max_length
        self.truncation = truncation
        self.rank = rank
        self.world_size = world_size
        self.examples = examples
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.examples is None:
            raise ConfigError(
                "StreamingLoader: len() needs examples= (from scan_texts(...).examples_for(...))"
            )
        # buffers are multiples of batch_size, so only the last buffer has a short batch
        return math.ceil(self.examples / self.batch_size)

    def _file_order(self) -> list[str]:
        files, _ = self.shards.files_for(self.rank, self.world_size)
        if self.shuffle:
            rng = np.random.default_rng((self.seed, self.epoch, self.rank, 7))
            files = [files[i] for i in rng.permutation(len(files))]
        return files

    def _buffers(self) -> Iterator[tuple[list[str], list[str | None]]]:
        texts: list[str] = []
        labels: list[str | None] = []
        records = self.shards.records(self.rank, self.world_size, order=self._file_order())
        for text, label, _ in records:
            texts.append(text)
            labels.append(label)
            if len(texts) == self.buffer_size:
                yield texts, labels
                texts, labels = [], []
        if texts:
            yield texts, labels

    def __iter__(self) -> Iterator[Batch]:
        seen = 0
        for number, (texts, labels) in enumerate(self._buffers()):
            seen += len(texts)
            loader = BucketLoader(
                list(self.vectorizer.transform(texts)),
                targets=self._targets(labels),
                batch_size=self.batch_size,
                shuffle=self.shuffle,
                seed=_mix(self.seed, self.rank, number),
                pool_size=self.buffer_size,
                max_length=self.max_length,
                truncation=self.truncation,
            )
            loader.set_epoch(self.epoch)
            yield from loader
        if self.examples is None:
            self.examples = seen

    def _targets(self, labels: list[str | None]) -> np.ndarray | None:
        if self.label_index is None:
            return None
        index = self.label_index
        try:
            return np.fromiter((index[y] for y in labels), dtype=np.int64, count=len(labels))  # type: ignore[index]
        except KeyError as err:
            raise DataError(
                f"{self.shards.source}: label {err.args[0]!r} is not one of the training classes; "
                "train with data that contains every class"
            ) from None

    def __repr__(self) -> str:
        return (
            f"StreamingLoader(files={len(self.shards)}, batch_size={self.batch_size}, "
            f"buffer_size={self.buffer_size}, rank={self.rank}/{self.world_size})"
        )


def _mix(seed: int, rank: int, number: int) -> int:
    """One int seed per (seed, rank, buffer) for the buffer's BucketLoader."""
    return int(np.random.SeedSequence([seed, rank, number]).generate_state(1)[0])


def iter_chunks(shards: TextShards, size: int = 4096) -> Iterator[tuple[list[str], list[str | None]]]:
    """``(texts, raw labels)`` in chunks of ``size``, in file order (for streamed evaluation)."""
    texts: list[str] = []
    labels: list[str | None] = []
    for text, label, _ in shards.records():
        texts.append(text)
        labels.append(label)
        if len(texts) == size:
            yield texts, labels
            texts, labels = [], []
    if texts:
        yield texts, labels


__all__ = [
    "TextShards",
    "TextScan",
    "StreamingLoader",
    "scan_texts",
    "scan_all",
    "expand_paths",
    "open_text",
    "iter_chunks",
]
