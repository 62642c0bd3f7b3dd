"""Finite-difference checks (central differences, float64) of every hand-written backward pass."""

from __future__ import annotations

import numpy as np
import pytest
from scratch_helpers import VARIANTS, as_tuple, like_state, probe_loss, random_probe

from rnnkit.scratch import (
    Dense,
    Embedding,
    LastStep,
    ManyToMany,
    ManyToOne,
    Sequential,
    bce_with_logits,
    cross_entropy,
    mse,
    numerical_gradient,
    relative_error,
)

TOLERANCE = 1e-6
B, T, F, H = 3, 5, 3, 4


def check_recurrent(layer, x, lengths, with_initial_state: bool) -> None:
    """Every parameter, the input and the initial state against central differences."""
    rng = np.random.default_rng(7)
    init = None
    if with_initial_state:
        out0, state0 = layer(x, lengths)
        init = like_state([rng.normal(size=s.shape) for s in as_tuple(state0)], state0)
    out, state = layer(x, lengths, init)
    d_out, d_state = random_probe(rng, out, state)
    layer.zero_grad()
    dx, d_init = layer.backward(d_out, d_state)

    def loss() -> float:
        o, s = layer(x, lengths, init)
        return probe_loss(o, s, d_out, d_state)

    grads = layer.gradients()
    for name, param in layer.parameters().items():
        err = relative_error(numerical_gradient(loss, param), grads[name])
        assert err < TOLERANCE, f"{name}: relative error {err:.2e}"
    assert relative_error(numerical_gradient(loss, x), dx) < TOLERANCE, "input"
    if init is not None:
        for part, grad in zip(as_tuple(init), as_tuple(d_init), strict=True):
            assert relative_error(numerical_gradient(loss, part), grad) < TOLERANCE, "h0"


@pytest.mark.parametrize("lengths", [None, np.array([5, 2, 4])], ids=["full", "lengths"])
@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_cell_gradients(variant, lengths) -> None:
    _, cls, options = variant
    layer = cls(F, H, dtype=np.float64, rng=1, **options)
    x = np.random.default_rng(2).normal(size=(B, T, F))
    check_recurrent(layer, x, lengths, with_initial_state=True)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_stacked_bidirectional_gradients(variant) -> None:
    _, cls, options = variant
    layer = cls(F, 3, num_layers=2, bidirectional=True, dtype=np.float64, rng=3, **options)
    x = np.random.default_rng(4).normal(size=(B, 4, F))
    check_recurrent(layer, x, np.array([4, 1, 3]), with_initial_state=True)


def test_zero_length_sequence_gradients() -> None:
    from rnnkit.scratch import LSTM

    layer = LSTM(F, H, bidirectional=True, dtype=np.float64, rng=5)
    x = np.random.default_rng(6).normal(size=(B, T, F))
    check_recurrent(layer, x, np.array([5, 0, 3]), with_initial_state=True)


def test_dense_and_embedding_gradients() -> None:
    rng = np.random.default_rng(8)
    ids = np.array([[3, 1, 0, 0], [2, 4, 4, 0]])
    model = Sequential(
        [Embedding(5, 3, dtype=np.float64, rng=1), Dense(3, 2, dtype=np.float64, rng=2)]
    )
    probe = rng.normal(size=(2, 4, 2))
    model(ids)
    model.zero_grad()
    model.backward(probe)

    def loss() -> float:
        return float((model(ids) * probe).sum())

    grads = model.gradients()
    for name, param in model.parameters().items():
        numerical = numerical_gradient(loss, param)
        if name == "0.weight":  # padding_idx=0: the row is used but frozen by design
            numerical[0] = 0.0
        assert relative_error(numerical, grads[name]) < TOLERANCE, name
    assert np.all(grads["0.weight"][0] == 0), "padding row must get no gradient"
    assert np.any(grads["0.weight"][4] != 0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_heads_gradients(bidirectional) -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3, 4, 6))
    lengths = np.array([4, 2, 0])
    for head in (
        ManyToOne(6, 2, bidirectional=bidirectional, dtype=np.float64, rng=1),
        ManyToMany(6, 2, dtype=np.float64, rng=2),
    ):
        out = head(x, lengths)
        probe = rng.normal(size=out.shape)
        head.zero_grad()
        dx = head.backward(probe)

        def loss(head=head, probe=probe) -> float:
            return float((head(x, lengths) * probe).sum())

        assert relative_error(numerical_gradient(loss, x), dx) < TOLERANCE
        for name, param in head.parameters().items():
            err = relative_error(numerical_gradient(loss, param), head.gradients()[name])
            assert err < TOLERANCE, name


def test_last_step_bidirectional_picks_final_states() -> None:
    from rnnkit.scratch import GRU

    gru = GRU(3, 4, bidirectional=True, dtype=np.float64)
    x = np.random.default_rng(0).normal(size=(2, 5, 3))
    lengths = np.array([5, 3])
    out, h = gru(x, lengths)
    picked = LastStep(bidirectional=True)(out, lengths)
    np.testing.assert_allclose(picked, np.concatenate([h[0], h[1]], axis=1), atol=1e-14)


@pytest.mark.parametrize(
    "case",
    ["cross_entropy", "cross_entropy_masked", "cross_entropy_ignore", "bce", "mse", "ce_sum"],
)
def test_loss_gradients(case) -> None:
    rng = np.random.default_rng(10)
    if case.startswith("cross_entropy") or case == "ce_sum":
        logits = rng.normal(size=(3, 4, 5))
        target = rng.integers(0, 5, size=(3, 4))
        mask = None
        if case == "cross_entropy_masked":
            mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=bool)
        if case == "cross_entropy_ignore":
            target[0, 2:] = -100
        reduction = "sum" if case == "ce_sum" else "mean"

        def fn(z):
            return cross_entropy(z, target, mask=mask, reduction=reduction)

    elif case == "bce":
        logits = rng.normal(size=(6,)) * 3
        target = rng.integers(0, 2, size=6).astype(float)

        def fn(z):
            return bce_with_logits(z, target)

    else:
        logits = rng.normal(size=(4, 3))
        target = rng.normal(size=(4, 3))

        def fn(z):
            return mse(z, target)

    _, grad = fn(logits)
    numerical = numerical_gradient(lambda: fn(logits)[0], logits)
    assert relative_error(numerical, grad) < TOLERANCE
    if case == "cross_entropy_masked":
        assert np.all(grad[0, 2:] == 0)


def test_cross_entropy_matches_hand_value() -> None:
    logits = np.array([[2.0, 0.0], [0.0, 0.0]])
    loss, _ = cross_entropy(logits, np.array([0, 1]))
    expected = (np.log(1 + np.exp(-2.0)) + np.log(2.0)) / 2
    assert abs(loss - expected) < 1e-12


def test_bce_is_stable_for_large_logits() -> None:
    loss, grad = bce_with_logits(np.array([1000.0, -1000.0]), np.array([1.0, 0.0]))
    assert loss == 0.0 and np.all(np.isfinite(grad))
