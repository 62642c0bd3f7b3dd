"""Sequential fit/evaluate/predict, layer behaviour with lengths, dtypes and user errors."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.scratch import (
    GRU,
    LSTM,
    RNN,
    Dense,
    Embedding,
    LastStep,
    ManyToMany,
    ManyToOne,
    ScratchError,
    Sequential,
    last_step,
)


def _sign_task(n: int = 64, steps: int = 6, seed: int = 0):
    """Classify whether the (masked) sum of a sequence is positive."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, 1))
    lengths = rng.integers(2, steps + 1, size=n)
    mask = np.arange(steps)[None, :] < lengths[:, None]
    y = ((x[..., 0] * mask).sum(axis=1) > 0).astype(np.int64)
    return x, y, lengths


def test_fit_learns_and_prints_progress(capsys) -> None:
    x, y, lengths = _sign_task()
    model = Sequential([GRU(1, 8, dtype=np.float64, rng=1), ManyToOne(8, 2, dtype=np.float64)])
    model.compile(loss="cross_entropy", optimizer="adam", lr=0.05, clip_norm=5.0)
    before = model.evaluate(x, y, lengths)
    history = model.fit(x, y, lengths, epochs=30, batch_size=16, print_every=10)
    after = model.evaluate(x, y, lengths)
    assert after["loss"] < 0.5 * before["loss"]
    assert after["accuracy"] >= 0.9
    assert len(history["loss"]) == 30
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 3 and printed[-1].startswith("epoch 30/30") and "accuracy" in printed[-1]
    assert model.predict(x, lengths).shape == (64, 2)
    assert "0.weight_ih_l0" in model.state_dict() and "1.weight" in model.state_dict()


def test_bce_and_mse_heads_train() -> None:
    x, y, lengths = _sign_task(seed=1)
    model = Sequential([RNN(1, 8, dtype=np.float64, rng=2), ManyToOne(8, 1, dtype=np.float64)])
    model.compile(loss="bce", optimizer="rmsprop", lr=0.02)
    start = model.evaluate(x, y.astype(float), lengths)["loss"]
    model.fit(x, y.astype(float), lengths, epochs=20, batch_size=16, verbose=0)
    result = model.evaluate(x, y.astype(float), lengths)
    assert result["loss"] < start and "accuracy" in result

    target = (x[..., 0] * (np.arange(6)[None] < lengths[:, None])).sum(axis=1, keepdims=True)
    reg = Sequential([LSTM(1, 8, dtype=np.float64, rng=3), ManyToOne(8, 1, dtype=np.float64)])
    reg.compile(loss="mse", optimizer="adam", lr=0.02)
    start = reg.evaluate(x, target, lengths)["loss"]
    history = reg.fit(x, target, lengths, epochs=20, batch_size=16, verbose=0)
    assert history["loss"][-1] < 0.5 * start and "accuracy" not in history


def test_many_to_many_with_embedding_masks_padding() -> None:
    rng = np.random.default_rng(4)
    ids = rng.integers(1, 6, size=(8, 5))
    lengths = np.array([5, 4, 3, 5, 2, 1, 5, 4])
    ids[np.arange(5)[None] >= lengths[:, None]] = 0
    y = np.where(ids > 0, ids % 2, -100)  # tag: is the token id odd?
    model = Sequential(
        [
            Embedding(6, 4, dtype=np.float64),
            LSTM(4, 8, dtype=np.float64),
            ManyToMany(8, 2, dtype=np.float64),
        ]
    )
    model.compile(loss="cross_entropy", optimizer="adam", lr=0.05)
    model.fit(ids, y, lengths, epochs=40, batch_size=8, verbose=0)
    out = model.predict(ids, lengths)
    assert np.all(out[np.arange(5)[None] >= lengths[:, None]] == 0)
    assert model.evaluate(ids, y, lengths)["accuracy"] == 1.0
    assert np.all(model.parameters()["0.weight"][0] == 0)


def test_padding_zeroes_outputs_and_final_state_is_last_real_step() -> None:
    x = np.random.default_rng(5).normal(size=(3, 6, 2))
    lengths = np.array([6, 3, 0])
    out, (h, c) = LSTM(2, 4, dtype=np.float64)(x, lengths)
    assert np.all(out[1, 3:] == 0) and np.all(out[2] == 0)
    np.testing.assert_allclose(last_step(out, lengths), h[0], atol=1e-15)
    assert np.all(h[0, 2] == 0) and np.all(c[0, 2] == 0)
    # a boolean mask (True = keep) is the same as lengths
    mask = np.arange(6)[None] < lengths[:, None]
    out_mask, _ = LSTM(2, 4, dtype=np.float64)(x, mask)
    np.testing.assert_array_equal(out_mask, out)
    np.testing.assert_allclose(LastStep()(out, lengths), h[0], atol=1e-15)


def test_float32_runs_in_float32() -> None:
    layer = GRU(3, 4)  # float32 by default
    out, h = layer(np.ones((2, 3, 3)))  # float64 input is cast
    dx, _ = layer.backward(np.ones_like(out))
    assert out.dtype == h.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.gradients().values())


def test_hidden_grads_expose_dl_dh_for_every_step() -> None:
    rnn = RNN(2, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    x = np.random.default_rng(6).normal(size=(2, 7, 2))
    out, _ = rnn(x, np.array([7, 4]))
    d_out = np.zeros_like(out)
    d_out[:, -1, :4] = 1.0  # loss at the last step of the forward direction only
    rnn.backward(d_out)
    grads = rnn.hidden_grads
    assert sorted(grads) == ["l0", "l0_reverse", "l1", "l1_reverse"]
    assert grads["l1"].shape == (2, 7, 4)
    assert np.all(grads["l1"][1] == 0)  # sequence 1 is padded at the last step: no loss reaches it
    assert np.abs(grads["l1"][0, 0]).sum() > 0


def test_errors_name_the_argument() -> None:
    layer = LSTM(3, 4)
    with pytest.raises(ScratchError, match="x: expected shape"):
        layer(np.zeros((2, 5)))
    with pytest.raises(ScratchError, match="lengths"):
        layer(np.zeros((2, 5, 3)), lengths=np.array([6, 1]))
    with pytest.raises(ScratchError, match="right padding"):
        layer(np.zeros((1, 3, 3)), lengths=np.array([[False, True, True]]))
    with pytest.raises(ScratchError, match="initial_state"):
        layer(np.zeros((2, 5, 3)), initial_state=np.zeros((1, 2, 4)))
    with pytest.raises(ScratchError, match="dtype"):
        Dense(2, 2, dtype=np.int32)
    with pytest.raises(ScratchError, match="ids"):
        Embedding(4, 2)(np.array([[5]]))
    with pytest.raises(ScratchError, match="nonlinearity"):
        RNN(2, 2, nonlinearity="sigmoid")
    assert issubclass(ScratchError, ValueError)
