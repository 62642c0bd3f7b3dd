"""Sharding of global batches between ranks, and merging of metric states (no processes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data import BucketLoader
from rnnkit.errors import ConfigError
from rnnkit.train.distributed import (
    EmptyShard,
    ShardedLoader,
    check_workers,
    context,
    merge_metric_states,
    shard_bounds,
    shard_loader,
    slice_batch,
)
from rnnkit.train.metrics import make_metric


@pytest.mark.parametrize("rows", [0, 1, 5, 16, 17])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_shard_bounds_partition_rows_evenly(rows: int, world: int) -> None:
    bounds = [shard_bounds(rows, r, world) for r in range(world)]
    covered = [i for start, stop in bounds for i in range(start, stop)]
    assert covered == list(range(rows))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_sharded_loader_splits_every_global_batch_across_ranks() -> None:
    seqs = [np.arange(1, n + 1) for n in [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]]
    targets = np.arange(len(seqs))
    loader = BucketLoader(seqs, targets, batch_size=4, seed=3)
    shards = [ShardedLoader(loader, rank, 3) for rank in range(3)]
    for epoch in (0, 1):
        for shard in shards:
            shard.set_epoch(epoch)
        assert loader.epoch == epoch
        global_batches = [t.tolist() for _, t in loader]
        per_rank = [list(shard) for shard in shards]
        assert all(len(s) == len(loader) for s in shards)
        for step, expected in enumerate(global_batches):
            got: list[int] = []
            for rank_batches in per_rank:
                batch = rank_batches[step]
                if isinstance(batch, EmptyShard):
                    continue
                inputs, target = batch
                assert inputs["x"].shape[0] == target.shape[0] == inputs["lengths"].shape[0]
                assert inputs["x"].shape[1] == int(inputs["lengths"].max())  # padding trimmed
                got += target.tolist()
            assert got == expected


def test_sharded_loader_yields_empty_shard_when_rows_are_fewer_than_ranks() -> None:
    batches = [({"x": torch.arange(3)[:, None], "reset": torch.ones(3, dtype=torch.bool)},
                torch.arange(3))]
    out = list(ShardedLoader(batches, rank=3, world_size=4))
    assert len(out) == 1 and isinstance(out[0], EmptyShard)
    template_inputs, template_target = out[0].template
    assert template_target.tolist() == [0] and template_inputs["reset"].shape == (1,)


def test_slice_batch_keeps_values_without_batch_axis_and_token_targets_aligned() -> None:
    x = torch.tensor([[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 7]])
    lengths = torch.tensor([2, 1, 4])
    target = torch.tensor([[1, 1, -100, -100], [2, -100, -100, -100], [3, 3, 3, 3]])
    inputs, y = slice_batch(
        ({"x": x, "lengths": lengths, "scale": torch.tensor(2.0)}, target), 0, 2
    )
    assert inputs["x"].tolist() == [[1, 2], [3, 0]] and y.tolist() == [[1, 1], [2, -100]]
    assert float(inputs["scale"]) == 2.0


def test_rank_aware_loaders_are_not_sharded_twice() -> None:
    class Local:
        shards_by_rank = True

    ctx = type("Ctx", (), {"rank": 0, "world_size": 2})()
    local = Local()
    assert shard_loader(local, ctx) is local
    assert isinstance(shard_loader([], ctx), ShardedLoader)
    assert shard_loader(None, ctx) is None


def test_merged_metric_states_equal_one_pass_over_all_data() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(40, 3, generator=gen)
    target = torch.randint(0, 3, (40,), generator=gen)
    target[5] = -100
    for name in ("accuracy", "f1", "rmse"):
        whole = make_metric(name)
        out = logits if name != "rmse" else logits[:, 0]
        tgt = target if name != "rmse" else target.float()
        whole.update(out, tgt)
        parts = [make_metric(name), make_metric(name)]
        parts[0].update(out[:13], tgt[:13])
        parts[1].update(out[13:], tgt[13:])
        merged = make_metric(name)
        merged.load_state(merge_metric_states([p.state() for p in parts]))
        assert merged.result() == pytest.approx(whole.result(), rel=1e-12)
    binary = torch.randn(30, 2, generator=gen)
    labels = torch.randint(0, 2, (30,), generator=gen)
    whole, a, b, merged = (make_metric("auc") for _ in range(4))
    whole.update(binary, labels)
    a.update(binary[:11], labels[:11])
    b.update(binary[11:], labels[11:])
    merged.load_state(merge_metric_states([a.state(), b.state()]))
    assert merged.result() == pytest.approx(whole.result(), rel=1e-12)


def test_confusion_states_of_different_sizes_are_padded_before_adding() -> None:
    small = {"matrix": np.array([[1, 0], [2, 3]])}
    large = {"matrix": np.arange(9).reshape(3, 3)}
    merged = merge_metric_states([small, large])["matrix"]
    assert merged.tolist() == [[1, 1, 2], [5, 7, 5], [6, 7, 8]]


def test_workers_argument_is_checked_and_no_group_means_no_context() -> None:
    assert check_workers(None) == 1 and check_workers(3) == 3
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="workers"):
            check_workers(bad)  # type: ignore[arg-type]
    assert context() is None
