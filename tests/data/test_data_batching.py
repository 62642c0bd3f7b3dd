"""Loaders: bucketing covers every example once, pads to the batch max, and shuffles by (seed,
epoch).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.batching import BucketLoader, PaddedLoader, pad_sequences
from rnnkit.errors import ConfigError, DataError


def make_sequences(lengths: list[int], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(2, 50, size=n) for n in lengths]


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 30), min_size=1, max_size=120),
    batch_size=st.integers(1, 17),
    pool=st.integers(1, 60),
    epoch=st.integers(0, 5),
    shuffle=st.booleans(),
)
def test_bucketing_yields_every_example_exactly_once_padded_to_its_own_max(
    lengths: list[int], batch_size: int, pool: int, epoch: int, shuffle: bool
) -> None:
    seqs = make_sequences(lengths)
    targets = np.arange(len(seqs)) % 3
    loader = BucketLoader(seqs, targets, batch_size=batch_size, pool_size=pool, shuffle=shuffle)
    loader.set_epoch(epoch)
    seen: list[int] = []
    batches = list(loader)
    assert len(batches) == len(loader)
    for (inputs, target), index in zip(batches, loader.batch_indices(), strict=True):
        x, n = inputs["x"], inputs["lengths"]
        assert x.dtype == torch.int64 and n.dtype == torch.int64 and target.dtype == torch.int64
        assert x.shape == (len(index), max(1, int(n.max())))
        assert len(index) <= batch_size
        for row, length, i in zip(x, n, index, strict=True):
            assert length == len(seqs[i])
            assert row[:length].tolist() == seqs[i].tolist()
            assert (row[length:] == 0).all()
        assert target.tolist() == targets[index].tolist()
        seen.extend(index.tolist())
    assert sorted(seen) == list(range(len(seqs)))
    assert loader.order.tolist() == seen


def test_set_epoch_is_deterministic_and_epochs_differ() -> None:
    seqs = make_sequences(list(range(1, 200)))
    a = BucketLoader(seqs, batch_size=8, seed=3)
    b = BucketLoader(seqs, batch_size=8, seed=3)
    a.set_epoch(2)
    b.set_epoch(2)
    assert [i.tolist() for i in a.batch_indices()] == [i.tolist() for i in b.batch_indices()]
    first = [x["x"] for x, _ in a]
    second = [x["x"] for x, _ in b]
    assert all(torch.equal(p, q) for p, q in zip(first, second, strict=True))
    b.set_epoch(3)
    assert a.order.tolist() != b.order.tolist()
    assert BucketLoader(seqs, batch_size=8, seed=4).order.tolist() != (
        BucketLoader(seqs, batch_size=8, seed=3).order.tolist()
    )


def test_bucketing_groups_similar_lengths_within_a_pool() -> None:
    lengths = np.random.default_rng(0).integers(1, 400, size=640).tolist()
    bucketed = BucketLoader(make_sequences(lengths), batch_size=32, pool_size=640, seed=0)
    fixed = PaddedLoader(make_sequences(lengths), batch_size=32, max_length=400, seed=0)
    assert bucketed.padded_tokens() < 0.6 * fixed.padded_tokens()
    assert bucketed.padded_tokens() >= sum(lengths)
    assert fixed.padded_tokens() == 640 * 400


def test_prediction_loader_yields_none_target_and_restores_order() -> None:
    seqs = make_sequences([5, 1, 9, 3, 7, 2])
    loader = BucketLoader(seqs, batch_size=4, shuffle=False)
    outputs = []
    for inputs, target in loader:
        assert target is None
        outputs.append(inputs["lengths"].float())  # a "model" whose output is the length
    restored = loader.restore_order(torch.cat(outputs))
    assert restored.tolist() == [5, 1, 9, 3, 7, 2]
    assert loader.restore_order(list(range(6))) == loader.order.argsort().tolist()
    with pytest.raises(DataError, match="restore_order got 2 outputs"):
        loader.restore_order(torch.zeros(2))


def test_max_length_truncates_pre_or_post() -> None:
    seqs = [np.array([1, 2, 3, 4, 5]), np.array([6])]
    for truncation, kept in (("post", [1, 2, 3]), ("pre", [3, 4, 5])):
        loader = BucketLoader(seqs, [0, 1], batch_size=2, max_length=3, truncation=truncation)
        ((inputs, _),) = list(loader)
        rows = {tuple(r) for r in inputs["x"].tolist()}
        assert rows == {tuple(kept), (6, 0, 0)}
        assert sorted(inputs["lengths"].tolist()) == [1, 3]


def test_padded_loader_pads_every_batch_to_max_length_and_len_matches() -> None:
    seqs = make_sequences([3, 8, 1, 4, 0])
    loader = PaddedLoader(seqs, [0.5, 1.5, 2.0, 0.0, 1.0], batch_size=2, max_length=6)
    batches = list(loader)
    assert len(batches) == len(loader) == 3
    assert all(x["x"].shape[1] == 6 for x, _ in batches)
    assert batches[0][1].dtype == torch.float32
    lengths = sorted(int(v) for x, _ in batches for v in x["lengths"])
    assert lengths == [0, 1, 3, 4, 6]
    assert len(PaddedLoader(seqs, batch_size=2, drop_last=True)) == 2
    assert len(list(BucketLoader(seqs, batch_size=2, drop_last=True))) == 2


def test_token_targets_are_padded_with_ignore_index() -> None:
    seqs = [np.array([2, 3, 4]), np.array([5])]
    targets = [np.array([3, 4, 5]), np.array([6])]
    ((inputs, target),) = list(BucketLoader(seqs, targets, batch_size=2, shuffle=False))
    assert target.shape == inputs["x"].shape
    assert target.tolist() == [[6, -100, -100], [3, 4, 5]]


def test_pad_sequences_sides_and_empty_input() -> None:
    x, n = pad_sequences([np.array([1, 2, 3]), np.array([4])], length=2, padding="pre")
    assert x.tolist() == [[1, 2], [0, 4]] and n.tolist() == [2, 1]
    x, n = pad_sequences([])
    assert x.shape == (0, 1) and n.shape == (0,)


def test_loader_errors() -> None:
    seqs = make_sequences([1, 2])
    with pytest.raises(DataError, match="got 3 targets for 2 sequences"):
        BucketLoader(seqs, [0, 1, 0])
    with pytest.raises(DataError, match="not numbers"):
        BucketLoader(seqs, ["pos", "neg"])
    with pytest.raises(ConfigError, match="batch_size"):
        BucketLoader(seqs, batch_size=0)
    with pytest.raises(ConfigError, match="truncation"):
        PaddedLoader(seqs, truncation="middle")
