"""Batch loaders for sequences: length bucketing (fast) and fixed-length padding (simple).

Both loaders follow the batch contract of ``rnnkit.train``: iterating yields ``(inputs, target)``
with ``inputs = {"x": LongTensor (B, T), "lengths": LongTensor (B,)}`` (right padding with id 0)
for 1-D token-id sequences, or ``{"x": FloatTensor (B, T, F), "lengths": ...}`` (right padding
with 0.0; float32, or float64 when every sequence is float64) for 2-D feature sequences
``(T_i, F)``, and ``target`` a tensor ``(B,)`` (int64 class ids, or float32 for float targets),
``(B, T)`` int64 with -100 at padded steps when each target is itself a sequence, or ``None`` when
the loader was built without targets (prediction). ``len(loader)`` is the number of batches per
epoch and ``set_epoch(epoch)`` makes the shuffle a pure function of ``(seed, epoch)``.

:class:`BucketLoader` (the default choice) shuffles the examples, cuts them into pools of
``pool_size`` (default ``50 * batch_size``), sorts each pool by length, cuts it into batches and
shuffles the batch order; every batch is padded only to its own longest sequence. With
``shuffle=False`` the order is deterministic (pools in data order, sorted by length), which is what
prediction wants. Either way ``loader.order`` holds the original index of every example in the
order they are yielded, and ``loader.restore_order(outputs)`` puts concatenated outputs back in the
original order.

:class:`PaddedLoader` pads every batch to ``max_length`` with no sorting: the tutorials' recipe,
kept for comparison. ``loader.padded_tokens()`` counts the ``B*T`` cells a loader produces per
epoch, so the two can be compared (on IMDB, bucketing cuts them several-fold; see
benchmarks/bench_data.py).

Example:
    >>> import numpy as np
    >>> seqs = [np.arange(1, n + 1) for n in (3, 1, 4, 1, 5)]
    >>> loader = BucketLoader(seqs, targets=[0, 1, 0, 1, 0], batch_size=2, shuffle=False)
    >>> [(tuple(b["x"].shape), b["lengths"].tolist()) for b, _ in loader]
    [((2, 1), [1, 1]), ((2, 4), [3, 4]), ((1, 5), [5])]
    >>> loader.order.tolist()
    [1, 3, 0, 2, 4]
    >>> loader.restore_order(np.array([10, 30, 0, 20, 40])).tolist()
    [0, 10, 20, 30, 40]
    >>> series = [np.ones((n, 3)) for n in (4, 2)]  # feature sequences (T_i, F)
    >>> inputs, _ = next(iter(BucketLoader(series, batch_size=2, shuffle=False)))
    >>> tuple(inputs["x"].shape), inputs["x"].dtype, inputs["lengths"].tolist()
    ((2, 4, 3), torch.float64, [2, 4])
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from rnnkit.errors import ConfigError, DataError

IGNORE_INDEX = -100
Batch = tuple[dict[str, torch.Tensor], "torch.Tensor | None"]


def pad_sequences(
    sequences: Sequence[np.ndarray],
    length: int | None = None,
    value: int = 0,
    truncation: str = "post",
    padding: str = "post",
    dtype: Any = np.int64,
) -> tuple[np.ndarray, np.ndarray]:
    """Pad (and truncate) sequences into one array and their lengths (n,).

    1-D int sequences give an int64 array ``(n, T)``; 2-D feature sequences ``(T_i, F)`` (same F)
    give ``(n, T, F)`` in ``dtype`` (pass a float dtype, e.g. ``np.float32``). ``length=None``
    pads to the longest sequence (at least 1). ``truncation="post"`` keeps the start of a long
    sequence, ``"pre"`` keeps its end; ``padding`` puts the padding right or left.

    Example:
        >>> x, n = pad_sequences([np.array([5, 6, 7]), np.array([8])], length=2, truncation="pre")
        >>> x.tolist(), n.tolist()
        ([[6, 7], [8, 0]], [2, 1])
        >>> x, n = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype=np.float32)
        >>> x.shape, x[1, 1].tolist()
        ((2, 2, 3), [0.0, 0.0, 0.0])
    """
    _check_side("truncation", truncation)
    _check_side("padding", padding)
    raw = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    width = length if length is not None else max(1, int(raw.max(initial=0)))
    kept = np.minimum(raw, width)
    step_shape = np.shape(sequences[0])[1:] if len(sequences) else ()
    out = np.full((len(sequences), width, *step_shape), value, dtype=dtype)
    if len(sequences) == 0 or kept.sum() == 0:
        return out, kept
    pieces = [
        np.asarray(s[:k] if truncation == "post" else s[len(s) - k :], dtype=dtype)
        for s, k in zip(sequences, kept, strict=True)
    ]
    cols = np.arange(width)
    if padding == "post":
        mask = cols[None, :] < kept[:, None]
    else:
        mask = cols[None, :] >= (width - kept)[:, None]
    out[mask] = np.concatenate(pieces)
    return out, kept


class _LoaderBase:
    """Shared state: sequences, targets, batch size, seed/epoch, batch -> tensors."""

    def __init__(
        self,
        sequences: Sequence[np.ndarray],
        targets: Any = None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        max_length: int | None = None,
        truncation: str = "post",
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        if max_length is not None and max_length < 1:
            raise ConfigError(f"max_length={max_length} must be >= 1 or None")
        _check_side("truncation", truncation)
        self.sequences, self.dtype = _as_sequences(sequences)
        self.lengths = np.fromiter(
            (len(s) for s in self.sequences), dtype=np.int64, count=len(self.sequences)
        )
        if max_length is not None:
            self.lengths = np.minimum(self.lengths, max_length)
        self.targets = _prepare_targets(targets, len(self.sequences))
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.max_length = max_length
        self.truncation = truncation
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose shuffle the next iteration uses."""
        self.epoch = int(epoch)

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng((self.seed, self.epoch))

    def __len__(self) -> int:
        n = len(self.sequences)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def batch_indices(self) -> list[np.ndarray]:
        """The original indices of each batch of the current epoch, in yield order."""
        raise NotImplementedError

    @property
    def order(self) -> np.ndarray:
        """Original index of every example in the order the current epoch yields them (n,)."""
        batches = self.batch_indices()
        return np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)

    def restore_order(self, outputs: Any) -> Any:
        """Reorder outputs concatenated in loader order (first dim n) back to the data order."""
        order = self.order
        if len(outputs) != len(order):
            raise DataError(
                f"restore_order got {len(outputs)} outputs for {len(order)} yielded examples; "
                "pass the concatenated outputs of one full pass (with drop_last=False)"
            )
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        if isinstance(outputs, torch.Tensor):
            return outputs[torch.from_numpy(inverse)]
        if isinstance(outputs, np.ndarray):
            return outputs[inverse]
        return [outputs[i] for i in inverse]

    def _width(self, index: np.ndarray) -> int:
        raise NotImplementedError

    def _make_batch(self, index: np.ndarray) -> Batch:
        x, lengths = pad_sequences(
            [self.sequences[i] for i in index],
            length=self._width(index),
            truncation=self.truncation,
            dtype=self.dtype,
        )
        inputs = {"x": torch.from_numpy(x), "lengths": torch.from_numpy(lengths)}
        return inputs, self._target_batch(index, x.shape[1])

    def _target_batch(self, index: np.ndarray, width: int) -> torch.Tensor | None:
        if self.targets is None:
            return None
        if isinstance(self.targets, np.ndarray):
            return torch.from_numpy(self.targets[index])
        y, _ = pad_sequences(
            [self.targets[i] for i in index],
            length=width,
            value=IGNORE_INDEX,
            truncation=self.truncation,
        )
        return torch.from_numpy(y)

    def __iter__(self) -> Iterator[Batch]:
        for index in self.batch_indices():
            yield self._make_batch(index)

    def padded_tokens(self) -> int:
        """Total ``B * T`` cells this epoch's batches hold (real tokens plus padding)."""
        return sum(len(idx) * self._width(idx) for idx in self.batch_indices())


class BucketLoader(_LoaderBase):
    """Length-bucketed batches padded to their own longest sequence (see the module docstring).

    Args:
        sequences: n int token-id sequences (ragged), e.g. ``TextVectorizer.transform(texts)``,
            or n float feature sequences ``(T_i, F)`` with the same F (batches ``(B, T, F)``).
        targets: n labels (ints -> int64, floats -> float32), n sequences (token targets,
            padded with -100), or None for prediction (the batch target is then None).
        batch_size: examples per batch (the last one may be smaller unless ``drop_last``).
        shuffle: shuffle examples and batch order each epoch; False = deterministic order.
        seed: with the epoch, fixes the shuffle: ``np.random.default_rng((seed, epoch))``.
        pool_size: examples sorted together (rounded up to a multiple of batch_size);
            default ``50 * batch_size``. ``pool_size=n`` sorts everything.
        max_length: truncate longer sequences to this many tokens.
        truncation: ``"post"`` keeps the start of a long sequence, ``"pre"`` keeps its end.
        drop_last: drop the incomplete batch (do not use it for prediction: examples go missing).
    """

    def __init__(
        self,
        sequences: Sequence[np.ndarray],
        targets: Any = None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        pool_size: int | None = None,
        max_length: int | None = None,
        truncation: str = "post",
        drop_last: bool = False,
    ) -> None:
        super().__init__(
            sequences, targets, batch_size, shuffle, seed, max_length, truncation, drop_last
        )
        pool = pool_size if pool_size is not None else 50 * batch_size
        if pool < 1:
            raise ConfigError(f"pool_size={pool_size} must be >= 1")
        self.pool_size = math.ceil(pool / batch_size) * batch_size

    def batch_indices(self) -> list[np.ndarray]:
        n = len(self.sequences)
        rng = self._rng() if self.shuffle else None
        index = rng.permutation(n) if rng is not None else np.arange(n)
        batches: list[np.ndarray] = []
        for start in range(0, n, self.pool_size):
            pool = index[start : start + self.pool_size]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches.extend(
                pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)
            )
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            # The short batch is the last one of the last pool; drop it before shuffling.
            batches = [b for b in batches if len(b) == self.batch_size]
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _width(self, index: np.ndarray) -> int:
        return max(1, int(self.lengths[index].max(initial=0)))


class PaddedLoader(_LoaderBase):
    """Batches padded to a fixed ``max_length`` (default: the longest sequence), no sorting."""

    def __init__(
        self,
        sequences: Sequence[np.ndarray],
        targets: Any = None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        max_length: int | None = None,
        truncation: str = "post",
        drop_last: bool = False,
    ) -> None:
        super().__init__(
            sequences, targets, batch_size, shuffle, seed, max_length, truncation, drop_last
        )
        self.width = (
            max_length if max_length is not None else max(1, int(self.lengths.max(initial=0)))
        )

    def batch_indices(self) -> list[np.ndarray]:
        n = len(self.sequences)
        index = self._rng().permutation(n) if self.shuffle else np.arange(n)
        batches = [index[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        return batches

    def _width(self, index: np.ndarray) -> int:
        return self.width


def _as_sequences(sequences: Sequence[Any]) -> tuple[list[np.ndarray], Any]:
    """Token ids as 1-D int64 arrays, or 2-D feature sequences as float32/float64 ``(T_i, F)``."""
    ndims = {np.ndim(s) for s in sequences}
    if 2 not in ndims:
        return [np.asarray(s, dtype=np.int64).reshape(-1) for s in sequences], np.int64
    arrays = [np.asarray(s) for s in sequences]
    widths = {a.shape[1] for a in arrays if a.ndim == 2}
    if ndims != {2} or len(widths) != 1:
        raise DataError(
            f"sequences mix shapes (dimensions {sorted(ndims)}, feature sizes {sorted(widths)}); "
            "give all token-id sequences 1-D, or all feature sequences 2-D (T_i, F) with one F"
        )
    dtype = np.float64 if all(a.dtype == np.float64 for a in arrays) else np.float32
    return [a.astype(dtype, copy=False) for a in arrays], dtype


def _prepare_targets(targets: Any, n: int) -> np.ndarray | list[np.ndarray] | None:
    if targets is None:
        return None
    if isinstance(targets, torch.Tensor):
        targets = targets.detach().cpu().numpy()
    if len(targets) != n:
        raise DataError(
            f"got {len(targets)} targets for {n} sequences; give one target per sequence"
        )
    if n and not isinstance(targets, np.ndarray) and np.ndim(targets[0]) == 1:
        return [np.asarray(t, dtype=np.int64).reshape(-1) for t in targets]
    array = np.asarray(targets)
    if array.ndim != 1:
        raise DataError(
            f"targets have shape {array.shape}; give one label per sequence (n,) or one "
            "sequence of token targets per sequence"
        )
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    raise DataError(
        f"targets of dtype {array.dtype} are not numbers; map labels to class ids first "
        "(TextDataset.label_ids())"
    )


def _check_side(name: str, value: str) -> None:
    if value not in ("pre", "post"):
        raise ConfigError(f"{name}={value!r} is unknown; use 'pre' or 'post'")


__all__ = ["BucketLoader", "PaddedLoader", "pad_sequences", "IGNORE_INDEX"]
