"""Sampling: greedy = arg-max, top-k / top-p never leave their set, seeds repeat, stop strings."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.sampling import filter_logits, make_generator, sample_next, until_stop


@pytest.fixture
def logits() -> torch.Tensor:
    return torch.randn(64, 40, generator=torch.Generator().manual_seed(0)) * 3


def test_temperature_zero_is_argmax_and_deterministic(logits) -> None:
    first = sample_next(logits, temperature=0, generator=make_generator(1))
    second = sample_next(logits, temperature=0, generator=make_generator(2))
    assert torch.equal(first, logits.argmax(-1)) and torch.equal(first, second)
    # top-k / top-p do not change a greedy choice; banned ids are skipped
    assert torch.equal(sample_next(logits, 0, top_k=3, top_p=0.5), first)
    banned = sample_next(logits, 0, banned=first.unique().tolist())
    assert not bool((banned == first).any())


def test_top_k_never_leaves_the_k_most_likely(logits) -> None:
    k = 3
    allowed = torch.topk(logits, k, dim=-1).indices
    generator = make_generator(0)
    for _ in range(30):
        draws = sample_next(logits, temperature=2.0, top_k=k, generator=generator)
        assert bool((allowed == draws[:, None]).any(-1).all())


def test_top_p_never_leaves_the_nucleus(logits) -> None:
    p = 0.6
    probs = torch.softmax(logits, -1)
    sorted_probs, order = probs.sort(-1, descending=True)
    mass_before = sorted_probs.cumsum(-1) - sorted_probs
    generator = make_generator(0)
    for _ in range(30):
        draws = sample_next(logits, temperature=1.0, top_p=p, generator=generator)
        rank = (order == draws[:, None]).float().argmax(-1)
        # each drawn token is in the smallest prefix (by probability) whose mass reaches p
        assert bool((mass_before.gather(-1, rank[:, None]) < p).all())
    kept = torch.isfinite(filter_logits(logits, top_p=p))
    assert bool((probs * kept).sum(-1).ge(p - 1e-6).all()) and bool(kept.any(-1).all())


def test_top_p_keeps_the_best_token_even_when_it_alone_exceeds_p() -> None:
    out = filter_logits(torch.tensor([10.0, 0.0, -1.0]), top_p=0.1)
    assert torch.isfinite(out).tolist() == [True, False, False]


def test_seed_makes_samples_repeatable(logits) -> None:
    a = [sample_next(logits, 1.0, generator=g).tolist() for g in [make_generator(7)] * 5]
    b = [sample_next(logits, 1.0, generator=g).tolist() for g in [make_generator(7)] * 5]
    c = [sample_next(logits, 1.0, generator=g).tolist() for g in [make_generator(8)] * 5]
    assert a == b and a != c


def test_sampling_follows_the_distribution() -> None:
    logits = torch.log(torch.tensor([0.1, 0.6, 0.3]))
    draws = sample_next(logits.expand(20000, 3), 1.0, generator=make_generator(0))
    freq = torch.bincount(draws, minlength=3).float() / 20000
    assert torch.allclose(freq, torch.tensor([0.1, 0.6, 0.3]), atol=0.02)
    # a low temperature sharpens towards the arg-max
    cold = sample_next(logits.expand(20000, 3), 0.3, generator=make_generator(0))
    assert (cold == 1).float().mean() > 0.9


@pytest.mark.parametrize(("pieces", "stop", "expected"), [
    (["ab", "c\n", "\nde"], "\n\n", "abc"),
    (["a", "b", "c"], "bc", "a"),
    (["xy", "z"], "zz", "xyz"),
    (["hello"], None, "hello"),
    (["stop", "here"], "st", ""),
])
def test_until_stop(pieces, stop, expected) -> None:
    assert "".join(until_stop(pieces, stop)) == expected


def test_bad_options_are_config_errors(logits) -> None:
    for kwargs in ({"temperature": -1}, {"top_k": 0}, {"top_p": 0.0}, {"top_p": 1.5}):
        with pytest.raises(ConfigError):
            sample_next(logits, **{"temperature": 1.0, **kwargs})
