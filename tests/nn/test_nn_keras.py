"""Keras layouts: conversions both ways, and layers checked against Keras equations in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_testutils import B, F, H, T, assert_close

from rnnkit import nn as rnn
from rnnkit.errors import ShapeError
from rnnkit.nn import weights

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def keras_weights(kind: str, rng: np.random.Generator, reset_after: bool = True) -> list:
    g = GATES[kind]
    kernel = rng.normal(size=(F, g * H))
    recurrent = rng.normal(size=(H, g * H))
    bias_shape = (2, g * H) if kind == "gru" and reset_after else (g * H,)
    return [kernel, recurrent, rng.normal(size=bias_shape)]


def keras_reference(kind: str, w: list, x: np.ndarray, reset_after: bool = True) -> np.ndarray:
    """Keras' documented cell equations, Keras layouts and gate orders, all outputs (B, T, H)."""
    kernel, rk, bias = w
    h = np.zeros((x.shape[0], H))
    c = np.zeros((x.shape[0], H))
    outputs = []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        if kind == "rnn":
            h = np.tanh(x_t @ kernel + h @ rk + bias)
        elif kind == "lstm":
            z = x_t @ kernel + h @ rk + bias
            i, f, g, o = (z[:, k * H : (k + 1) * H] for k in range(4))
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        elif reset_after:  # Keras GRU, gates z, r, h; bias rows: input, recurrent
            xz = x_t @ kernel + bias[0]
            hz = h @ rk + bias[1]
            z = _sigmoid(xz[:, :H] + hz[:, :H])
            r = _sigmoid(xz[:, H : 2 * H] + hz[:, H : 2 * H])
            hh = np.tanh(xz[:, 2 * H :] + r * hz[:, 2 * H :])
            h = z * h + (1 - z) * hh
        else:  # Cho et al. 2014: reset gate applied to h before the recurrent product
            xz = x_t @ kernel + bias
            z = _sigmoid(xz[:, :H] + h @ rk[:, :H])
            r = _sigmoid(xz[:, H : 2 * H] + h @ rk[:, H : 2 * H])
            hh = np.tanh(xz[:, 2 * H :] + (r * h) @ rk[:, 2 * H :])
            h = z * h + (1 - z) * hh
        outputs.append(h)
    return np.stack(outputs, axis=1)


CASES = [("rnn", True), ("lstm", True), ("gru", True), ("gru", False)]


@pytest.mark.parametrize("fused", [None, False], ids=["auto", "loop"])
@pytest.mark.parametrize("kind, reset_after", CASES)
def test_layer_with_converted_keras_weights_matches_numpy_reference(
    kind: str, reset_after: bool, fused: bool | None
) -> None:
    rng = np.random.default_rng(0)
    w = keras_weights(kind, rng, reset_after)
    x = rng.normal(size=(B, T, F))
    cls = {"rnn": rnn.SimpleRNN, "lstm": rnn.LSTM, "gru": rnn.GRU}[kind]
    options = {"reset_after": reset_after} if kind == "gru" else {}
    layer = cls(F, H, fused=fused, dtype=torch.float64, **options)
    state_dict = weights.state_dict_from_keras(kind, w, reset_after=reset_after)
    layer.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict.items()})
    out, _ = layer(torch.from_numpy(x))
    expected = torch.from_numpy(keras_reference(kind, w, x, reset_after))
    assert_close(out, expected, f"{kind} reset_after={reset_after}")


@pytest.mark.parametrize("kind, reset_after", CASES)
def test_keras_to_torch_to_keras_is_identity(kind: str, reset_after: bool) -> None:
    w = keras_weights(kind, np.random.default_rng(1), reset_after)
    converted = weights.from_keras(kind, *w, reset_after=reset_after)
    back = weights.to_keras(kind, **converted, reset_after=reset_after)
    for original, name in zip(w, ("kernel", "recurrent_kernel", "bias"), strict=True):
        np.testing.assert_array_equal(back[name], original)


@pytest.mark.parametrize("kind, reset_after", CASES)
def test_torch_to_keras_to_torch_keeps_the_function(kind: str, reset_after: bool) -> None:
    # Keras keeps one bias where torch keeps two: round trip folds them into bias_ih, which
    # computes the same function (exactly the same when reset_after=True for the GRU).
    cls = {"rnn": rnn.SimpleRNN, "lstm": rnn.LSTM, "gru": rnn.GRU}[kind]
    options = {"reset_after": reset_after} if kind == "gru" else {}
    layer = cls(F, H, bidirectional=True, dtype=torch.float64, init="torch", **options)
    arrays = weights.state_dict_to_keras(
        kind, layer.state_dict(), bidirectional=True, reset_after=reset_after
    )
    assert len(arrays) == 6
    again = cls(F, H, bidirectional=True, dtype=torch.float64, **options)
    restored = weights.state_dict_from_keras(
        kind, arrays, bidirectional=True, reset_after=reset_after
    )
    again.load_state_dict({k: torch.from_numpy(v) for k, v in restored.items()})
    x = torch.randn(B, T, F, dtype=torch.float64)
    assert_close(again(x)[0], layer(x)[0], "output after round trip")
    if kind == "gru" and reset_after:
        for name, value in layer.state_dict().items():
            assert torch.equal(again.state_dict()[name], value)


def test_gru_gate_order_is_swapped_and_lstm_bias_goes_to_bias_ih() -> None:
    kernel = np.concatenate([np.full((F, H), k, dtype=float) for k in (1, 2, 3)], axis=1)
    rk = np.zeros((H, 3 * H))
    converted = weights.from_keras("gru", kernel, rk, np.zeros((2, 3 * H)))
    assert converted["weight_ih"][:, 0].tolist() == [2.0] * H + [1.0] * H + [3.0] * H
    lstm = weights.from_keras("lstm", np.zeros((F, 4 * H)), np.zeros((H, 4 * H)), np.ones(4 * H))
    assert lstm["bias_ih"].tolist() == [1.0] * 4 * H
    assert lstm["bias_hh"].tolist() == [0.0] * 4 * H


def test_conversion_without_bias_and_bad_shapes() -> None:
    out = weights.from_keras("lstm", np.zeros((F, 4 * H)), np.zeros((H, 4 * H)))
    assert sorted(out) == ["weight_hh", "weight_ih"]
    with pytest.raises(ShapeError, match="bias"):
        weights.from_keras("gru", np.zeros((F, 3 * H)), np.zeros((H, 3 * H)), np.zeros(3 * H))
    with pytest.raises(ShapeError, match="recurrent_kernel"):
        weights.from_keras("lstm", np.zeros((F, 4 * H)), np.zeros((H, 3 * H)))
    with pytest.raises(ShapeError, match="kernel"):
        weights.from_keras("lstm", np.zeros((F, 3 * H)), np.zeros((H, 4 * H)))
    with pytest.raises(ShapeError, match="weights"):
        weights.state_dict_from_keras("lstm", [np.zeros((F, 4 * H))])
