"""Stream batching for truncated BPTT: coverage, continuity between windows, random windows."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from rnnkit.data.batching import IGNORE_INDEX
from rnnkit.data.lm_streams import StreamLoader, read_corpus, split_tail
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.language_model import RecurrentLanguageModel


def positions(loader: StreamLoader) -> list[tuple[int, int, int, int]]:
    """(window, row, step, position in ids) of every real (input, target) pair, in yield order."""
    out = []
    for k, (inputs, target) in enumerate(loader):
        x = inputs["x"].numpy()
        for row, step in zip(*np.nonzero(target.numpy() != IGNORE_INDEX), strict=True):
            out.append((k, int(row), int(step), x[row, step]))
    return out


@pytest.mark.parametrize(("n", "batch_size", "bptt"),
                         [(101, 4, 7), (50, 3, 5), (64, 8, 8), (9, 4, 1)])
def test_stateful_every_pair_once_in_order(n: int, batch_size: int, bptt: int) -> None:
    ids = np.arange(1000, 1000 + n)  # the id tells the position
    loader = StreamLoader(ids, batch_size=batch_size, bptt=bptt)
    seen = []
    for inputs, target in loader:
        x, y = inputs["x"].numpy(), target.numpy()
        real = y != IGNORE_INDEX
        assert np.all(y[real] == x[real] + 1), "the target is the token after the input"
        seen.extend(x[real].tolist())
    assert sorted(seen) == list(range(1000, 1000 + n - 1)), "every pair exactly once"
    assert len(loader) == sum(1 for _ in loader)


def test_stateful_windows_continue_their_stream() -> None:
    ids = np.arange(1, 102)
    loader = StreamLoader(ids, batch_size=4, bptt=7)
    batches = list(loader)
    resets = [inputs["reset"].tolist() for inputs, _ in batches]
    assert resets[0] == [True] * 4 and all(r == [False] * 4 for r in resets[1:])
    for (_, ya), (b, _) in zip(batches, batches[1:], strict=False):
        # Row r of window k+1 starts with the token that row r of window k predicted last.
        last_target = ya[:, -1]
        first_input = b["x"][:, 0]
        real = last_target != IGNORE_INDEX
        assert torch.equal(first_input[real], last_target[real])
    # Rows are contiguous, disjoint slices of the text that together cover it.
    starts, lengths = loader.stream_starts, loader.stream_lengths
    assert starts[0] == 0 and np.all(starts[1:] == starts[:-1] + lengths[:-1])
    assert lengths.sum() == len(ids) - 1 and lengths.max() - lengths.min() <= 1


def test_short_text_shrinks_the_batch_to_whole_windows() -> None:
    loader = StreamLoader(np.arange(1, 22), batch_size=64, bptt=5)
    assert loader.batch_size == 4 and min(loader.stream_lengths) >= 5
    assert StreamLoader(np.arange(1, 4), batch_size=8, bptt=100).batch_size == 1


def test_random_windows_cover_once_and_shuffle_by_seed_and_epoch() -> None:
    ids = np.arange(1, 200)
    loader = StreamLoader(ids, batch_size=4, bptt=10, mode="random", seed=3)
    firsts = []
    for epoch in range(2):
        loader.set_epoch(epoch)
        seen = []
        for inputs, target in loader:
            assert bool(inputs["reset"].all())
            real = target != IGNORE_INDEX
            assert torch.equal(target[real], inputs["x"][real] + 1)
            seen.extend(inputs["x"][real].tolist())
        assert sorted(seen) == list(range(1, 199))
        firsts.append(next(iter(loader))[0]["x"][:, 0].tolist())
    assert firsts[0] != firsts[1]
    again = StreamLoader(ids, batch_size=4, bptt=10, mode="random", seed=3)
    again.set_epoch(1)
    assert next(iter(again))[0]["x"][:, 0].tolist() == firsts[1]


def test_carried_state_equals_one_long_pass() -> None:
    """Stateful windows through the network give the logits of running each stream at once."""
    torch.manual_seed(0)
    net = RecurrentLanguageModel(30, embedding_dim=6, hidden_size=8, num_layers=2).double().eval()
    ids = np.random.default_rng(0).integers(2, 30, size=90)
    loader = StreamLoader(ids, batch_size=3, bptt=7)
    pieces = [net(**inputs) for inputs, _ in loader]
    windowed = torch.cat(pieces, dim=1)
    full, _ = net.run(loader._x)  # every stream in one call
    assert torch.allclose(windowed, full, atol=1e-10)
    # A reset row starts again from zeros, the others keep their state.
    net.reset_state()
    first_inputs = next(iter(loader))[0]
    net(**first_inputs)
    x = torch.tensor([[5], [6], [7]])
    carried = net(x, reset=torch.tensor([False, True, False]))
    fresh, _ = net.run(x)
    assert torch.allclose(carried[1], fresh[1]) and not torch.allclose(carried[0], fresh[0])


def test_carried_state_is_detached_and_batch_change_needs_reset() -> None:
    net = RecurrentLanguageModel(10, embedding_dim=4, hidden_size=5, cell="gru")
    net(torch.randint(2, 10, (2, 4)), reset=torch.ones(2, dtype=torch.bool))
    assert not net._carried.requires_grad
    with pytest.raises(Exception, match="reset"):
        net(torch.randint(2, 10, (3, 4)))
    assert net(torch.randint(2, 10, (3, 4)), reset=torch.ones(3, dtype=torch.bool)).shape == (
        3,
        4,
        10,
    )


def test_read_corpus_and_split_tail(tmp_path) -> None:
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress("\ufeffone\r\ntwo".encode()))
    (tmp_path / "b.txt").write_text("three\n", encoding="utf-8")
    text = read_corpus([tmp_path / "a.txt.gz", tmp_path / "b.txt"])
    assert text == "one\ntwo\nthree\n"
    train, valid = split_tail(text, 0.25)
    assert train + valid == text and len(valid) == round(len(text) * 0.25)
    assert split_tail("ab cd ef", 0.3, at_whitespace=True) == ("ab cd", " ef")
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xff\xfe\xfa")
    with pytest.raises(DataError, match="bad.txt"):
        read_corpus([tmp_path / "bad.txt"])
    with pytest.raises(ConfigError):
        split_tail(text, 1.0)


def test_loader_errors() -> None:
    with pytest.raises(DataError, match="at least 2"):
        StreamLoader([5], batch_size=2, bptt=3)
    with pytest.raises(ConfigError, match="mode"):
        StreamLoader([5, 6, 7], mode="sideways")
    with pytest.raises(ConfigError, match="bptt"):
        StreamLoader([5, 6, 7], bptt=0)
