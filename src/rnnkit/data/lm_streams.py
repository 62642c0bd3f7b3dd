"""Token streams for language models: text files in, truncated-BPTT batches out.

A language model reads one long sequence of token ids. :class:`StreamLoader` cuts it the way
char-rnn and the PyTorch word-language-model example do: the ``n = len(ids) - 1`` (input, next
token) pairs are split into ``B`` contiguous **streams**, laid side by side as the rows of a
batch, and each pass walks them left to right in **windows** of ``bptt`` steps::

    ids:     a b c d e f g h i j k l m n          B = 2 streams, bptt = 3
    row 0:   a b c | d e f | g          (targets b c d | e f g | h)
    row 1:   h i j | k l m | (pad)      (targets i j k | l m n | -100)
             window 0  window 1  window 2

Batches follow the rnnkit loader contract: ``({"x": LongTensor (B, T), "reset": BoolTensor (B,)},
target LongTensor (B, T))`` with ``target[b, t]`` the token after ``x[b, t]``. When the pairs do
not divide evenly, the first ``n % B`` streams are one step longer and the others end with one
padding step (input 0, target -100, ignored by the loss), so **every pair appears exactly once
per epoch**.

Modes:

- ``"stateful"`` (default, truncated BPTT): window ``k + 1`` of a row continues window ``k`` of
  the same row, so a model keeps its hidden state from one batch to the next (detached).
  ``reset`` is all True on the first window of a pass and all False afterwards.
- ``"random"``: the sequence is cut into windows of ``bptt`` pairs at fixed boundaries; each epoch
  shuffles them (a pure function of ``(seed, epoch)``) and batches ``B`` at a time. Rows are
  unrelated, so ``reset`` is always all True (stateless training).

Example:
    >>> import numpy as np
    >>> loader = StreamLoader(np.arange(10, 24), batch_size=2, bptt=3)
    >>> len(loader), loader.stream_lengths.tolist()
    (3, [7, 6])
    >>> inputs, target = next(iter(loader))
    >>> inputs["x"].tolist(), target.tolist(), inputs["reset"].tolist()
    ([[10, 11, 12], [17, 18, 19]], [[11, 12, 13], [18, 19, 20]], [True, True])
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data.batching import IGNORE_INDEX
from rnnkit.data.readers import read_text
from rnnkit.data.vocabulary import PAD_ID
from rnnkit.errors import ConfigError, DataError

MODES = ("stateful", "random")
Batch = tuple[dict[str, torch.Tensor], torch.Tensor]


class StreamLoader:
    """Batches of ``bptt``-step windows over ``B`` parallel streams of one token sequence.

    Args:
        ids: the token ids of the whole text, int (N,), N >= 2.
        batch_size: B, the number of parallel streams; in stateful mode it shrinks for short
            texts so that every stream is at least one window long (``B <= (N - 1) // bptt``, >= 1).
        bptt: T, the number of steps per window (the truncation length of BPTT).
        mode: ``"stateful"`` (carry state across windows) or ``"random"`` (shuffled windows).
        seed: the shuffle seed of ``"random"`` mode (with the epoch from :meth:`set_epoch`).

    Attributes: ``stream_starts`` and ``stream_lengths`` (B,) give the position in ``ids`` of each
    row's first input and its number of pairs (stateful mode).
    """

    def __init__(
        self,
        ids: Any,
        batch_size: int = 32,
        bptt: int = 100,
        mode: str = "stateful",
        seed: int = 0,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"mode={mode!r} is unknown; use 'stateful' or 'random'")
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        if bptt < 1:
            raise ConfigError(f"bptt={bptt} must be >= 1")
        array = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(array) < 2:
            raise DataError(
                f"the text has {len(array)} token(s); a language model needs at least 2 "
                "(one input and the token that follows it)"
            )
        self.ids = array
        self.pairs = len(array) - 1
        self.mode = mode
        self.bptt = bptt
        self.seed = seed
        self.epoch = 0
        if mode == "stateful":
            self.batch_size = max(1, min(batch_size, self.pairs // bptt))
            self._x, self._y = self._stream_layout()
        else:
            self.batch_size = batch_size
            self._x, self._y = self._window_layout()

    # ------------------------------------------------------------------ layouts
    def _stream_layout(self) -> tuple[torch.Tensor, torch.Tensor]:
        base, extra = divmod(self.pairs, self.batch_size)
        rows = np.arange(self.batch_size)
        self.stream_lengths = base + (rows < extra).astype(np.int64)
        self.stream_starts = rows * base + np.minimum(rows, extra)
        width = int(self.stream_lengths.max())
        cols = np.arange(width)
        position = self.stream_starts[:, None] + cols[None, :]  # index in ids of each input
        real = cols[None, :] < self.stream_lengths[:, None]
        safe = np.where(real, position, 0)
        x = np.where(real, self.ids[safe], PAD_ID)
        y = np.where(real, self.ids[safe + 1], IGNORE_INDEX)
        return torch.from_numpy(x), torch.from_numpy(y)

    def _window_layout(self) -> tuple[torch.Tensor, torch.Tensor]:
        count = math.ceil(self.pairs / self.bptt)
        position = np.arange(count)[:, None] * self.bptt + np.arange(self.bptt)[None, :]
        real = position < self.pairs
        safe = np.where(real, position, 0)
        x = np.where(real, self.ids[safe], PAD_ID)
        y = np.where(real, self.ids[safe + 1], IGNORE_INDEX)
        self.stream_starts = position[:, 0]
        self.stream_lengths = real.sum(axis=1)
        return torch.from_numpy(x), torch.from_numpy(y)

    # ------------------------------------------------------------------ loader protocol
    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose window order the next iteration uses (random mode)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.mode == "stateful":
            return math.ceil(self._x.shape[1] / self.bptt)
        return math.ceil(self._x.shape[0] / self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        if self.mode == "stateful":
            width = self._x.shape[1]
            for k, start in enumerate(range(0, width, self.bptt)):
                cut = slice(start, min(start + self.bptt, width))
                reset = torch.full((self.batch_size,), k == 0, dtype=torch.bool)
                yield {"x": self._x[:, cut], "reset": reset}, self._y[:, cut]
            return
        order = torch.from_numpy(self.window_order())
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            reset = torch.ones(len(index), dtype=torch.bool)
            yield {"x": self._x[index], "reset": reset}, self._y[index]

    def window_order(self) -> np.ndarray:
        """Random mode: the window indices of the current epoch in yield order."""
        count = self._x.shape[0]
        return np.random.default_rng((self.seed, self.epoch)).permutation(count)

    @property
    def tokens(self) -> int:
        """Number of predicted tokens per epoch (``len(ids) - 1``)."""
        return self.pairs

    def __repr__(self) -> str:
        return (
            f"StreamLoader(pairs={self.pairs}, batch_size={self.batch_size}, bptt={self.bptt}, "
            f"mode={self.mode!r}, batches={len(self)})"
        )


# ---------------------------------------------------------------------------------- text files


def read_corpus(paths: Sequence[str | os.PathLike[str]], encoding: str = "utf-8") -> str:
    """The text of one or more files (gzip/bzip2/xz and BOMs handled), joined in order.

    Line endings become ``"\\n"`` (CRLF and CR are converted) and a file that does not end with a
    newline is followed by one, so that two files never run into each other.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (root / "a.txt").write_bytes(b"first\\r\\nfile")
        >>> _ = (root / "b.txt").write_text("second\\n")
        >>> read_corpus([root / "a.txt", root / "b.txt"])
        'first\\nfile\\nsecond\\n'
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise DataError("no text files given; pass at least one path")
    parts = []
    for path in paths:
        text = normalize_newlines(read_text(Path(path), encoding=encoding))
        if text and not text.endswith("\n"):
            text += "\n"
        parts.append(text)
    return "".join(parts)


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR -> LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def split_tail(text: str, fraction: float, at_whitespace: bool = False) -> tuple[str, str]:
    """``(train, valid)``: the last ``fraction`` of ``text`` (contiguous) is held out.

    With ``at_whitespace`` the cut moves forward to the next whitespace (back to the previous one
    when there is none after it), so no word is split.

    Example:
        >>> split_tail("abcdefghij", 0.2)
        ('abcdefgh', 'ij')
        >>> split_tail("one two three four", 0.3, at_whitespace=True)
        ('one two three', ' four')
    """
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"valid_fraction={fraction} must be in [0, 1)")
    if fraction == 0.0:
        return text, ""
    cut = int(round(len(text) * (1.0 - fraction)))
    if at_whitespace and cut < len(text):
        after = next((i for i in range(cut, len(text)) if text[i].isspace()), None)
        if after is None:  # no whitespace after the cut: use the last one before it
            after = next((i for i in range(cut - 1, 0, -1) if text[i].isspace()), len(text))
        cut = after
    return text[:cut], text[cut:]


__all__ = ["StreamLoader", "MODES", "read_corpus", "normalize_newlines", "split_tail"]
