"""Streaming labelled texts larger than memory: many shards in, length-bucketed batches out.

:class:`TextShards` names the data: CSV/TSV, JSON Lines or plain-text files (one text per line),
each plain or gzip/bzip2/xz-compressed (recognised by magic bytes), read row by row through the
reader :func:`rnnkit.data.read_text_dataset` uses (:func:`rnnkit.data.tables.detect_layout` decides
delimiter, quoting, header and columns per file from the same first characters, and
:func:`rnnkit.data.tables.read_rows` reads the rows), so both give the same texts and labels, with
the same checks and one-line errors (:func:`rnnkit.data.readers.open_text`: devices and
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
- **Workers**: the caller passes each worker's ``rank`` and ``world_size`` (this module knows
  nothing of process groups); rank ``r`` of ``N`` reads the shards ``r, r + N, ...``; with fewer
  shards than workers every worker reads all files and keeps every N-th example. The loader says so
  with ``shards_by_rank = True`` and the Trainer does not split its batches again.
- **Hold-out without loading**: ``shards.select(lo, hi)`` keeps the examples whose hash (of seed,
  file name and row number) lies in ``[lo, hi)``, so ``select(0, 0.1)`` and ``select(0.1, 1)`` are
  a disjoint 10 % / 90 % split that every pass and every worker agrees on.

Example:
    >>> import gzip, tempfile, pathlib
    >>> from rnnkit.data import TextVectorizer
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for i in range(3):
    ...     rows = "".join(f"good film {j},1\\nbad film {j},0\\n" for j in range(4))
    ...     _ = (root / f"part{i}.csv.gz").write_bytes(
    ...         gzip.compress(("text,label\\n" + rows).encode()))
    >>> shards = TextShards(sorted(root.glob("*.csv.gz")))
    >>> scan = scan_texts(shards, TextVectorizer().tokenize)
    >>> scan.examples, scan.classes(), scan.tokens.most_common(1)
    (24, [0, 1], [('film', 24)])
    >>> vec = TextVectorizer(vocabulary=scan.vocabulary(max_tokens=6))
    >>> loader = StreamingLoader(shards, vec, scan.label_index(), batch_size=8,
    ...                          examples=scan.examples)
    >>> len(loader), sum(len(t) for _, t in loader)
    (3, 24)
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.data.batching import Batch, BucketLoader
from rnnkit.data.readers import check_file, open_text, strip_compression_suffix
from rnnkit.data.sources import empty_texts_error, is_json_path
from rnnkit.data.tables import (
    Column,
    Label,
    TableOptions,
    TextLayout,
    detect_layout,
    label_classes,
    read_rows,
)
from rnnkit.data.vectorizer import TextVectorizer
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import ConfigError, DataError

SHARD_SUFFIXES = (".csv", ".tsv", ".tab", ".psv", ".jsonl", ".ndjson", ".txt")


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
        encoding: str = "utf-8",
        header: bool | None = None,
        delimiter: str | None = None,
        has_labels: bool | None = None,
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
        self._layouts: dict[str, TextLayout] = {}

    def select(self, lo: float, hi: float) -> TextShards:
        """The examples whose hash is in ``[lo, hi)`` of the current selection (a new object).

        Example: ``shards.select(0.0, 0.1)`` (validation) and ``shards.select(0.1, 1.0)``
        (training).
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

    @property
    def options(self) -> TableOptions:
        """The column, header and delimiter choices, as the table reader takes them."""
        return TableOptions(
            self.text_column, self.label_column, self.header, self.delimiter, self.has_labels
        )

    def _layout(self, path: str) -> TextLayout:
        if path not in self._layouts:
            self._layouts[path] = _detect_layout(self, Path(path))
        return self._layouts[path]

    def _read_file(self, path: str) -> Iterator[tuple[str, str | None]]:
        """``(text, label)`` of every row of one file; a file whose texts are all empty is an error
        once it is read to the end (as :func:`rnnkit.data.read_text_dataset` refuses it)."""
        layout = self._layout(path)
        rows, some_text = 0, False
        with open_text(path, self.encoding) as handle:
            for text, label, _ in read_rows(handle, layout, path):
                rows += 1
                some_text = some_text or bool(text.strip())
                yield text, label
        if rows and not some_text:
            raise empty_texts_error(path, rows, layout.text_name)


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


def _detect_layout(shards: TextShards, path: Path) -> TextLayout:
    """The file's layout, decided from its first characters as the in-memory readers decide it."""
    kind = "jsonl" if is_json_path(path) else "table"
    if kind == "table" and strip_compression_suffix(path.name).lower().endswith(".txt"):
        if shards.label_column is None and shards.has_labels:
            raise DataError(
                f"{path} is a plain-text shard (one text per line, no labels); give CSV/TSV/JSONL "
                "shards with a label column for classification"
            )
        kind = "table" if shards.label_column is not None else "lines"
    with open_text(path, shards.encoding) as handle:
        return detect_layout(handle, path, shards.options, kind)


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
        """The distinct labels, sorted: ints when every label is an integer, else strings
        (:func:`rnnkit.data.tables.coerce_labels`, as the in-memory readers give them)."""
        return label_classes(self.labels)[0]

    def label_index(self) -> dict[str, int]:
        """Raw label text -> class id (position in :meth:`classes`)."""
        return label_classes(self.labels)[1]

    def vocabulary(
        self, max_tokens: int | None = None, min_freq: int = 1, reserved: Sequence[str] = ()
    ) -> Vocabulary:
        """The vocabulary a TextVectorizer fitted on all the texts at once would learn."""
        return Vocabulary.from_counts(self.tokens, max_tokens=max_tokens, min_freq=min_freq,
                                      reserved=reserved)

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


def scan_all(
    shards: TextShards,
    tokenize: Callable[[str], list[str]] | None,
    rank: int = 0,
    world_size: int = 1,
    gather: Callable[[TextScan], list[TextScan]] | None = None,
) -> TextScan:
    """The scan of all examples, shared out over ``world_size`` workers.

    Worker ``rank`` scans its part (:func:`scan_texts`) and ``gather`` (e.g.
    :func:`rnnkit.train.distributed.gather_objects`) collects every worker's part, so every rank
    gets the same totals. Without ``gather`` (or with ``world_size=1``) this worker scans all the
    examples itself: the same totals, one worker's time.
    """
    if gather is None or world_size <= 1:
        return scan_texts(shards, tokenize)
    total = TextScan()
    for part in gather(scan_texts(shards, tokenize, rank, world_size)):
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
        rank, world_size: this worker's place among the data-parallel workers (the caller
            knows it, e.g. from :func:`rnnkit.train.distributed.context`); default: the only one.
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
        rank: int = 0,
        world_size: int = 1,
        examples: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        buffer = buffer_size if buffer_size is not None else 50 * batch_size
        if buffer < 1:
            raise ConfigError(f"buffer_size={buffer_size} must be >= 1")
        if not 0 <= rank < world_size:
            raise ConfigError(f"rank={rank} must lie in 0..world_size-1 (world_size={world_size})")
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


def iter_chunks(
    shards: TextShards, size: int = 4096
) -> Iterator[tuple[list[str], list[str | None]]]:
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
