"""Recording hooks: documented shapes, same output as the layer, gates in range, padding zeros."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.inspect.record import RECORDED, hidden_state_gradients, record_layer
from rnnkit.nn import GRU, LSTM, SimpleRNN

LAYERS = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_record_shapes_and_output_match_layer(kind: str) -> None:
    torch.manual_seed(0)
    layer = LAYERS[kind](3, 5, num_layers=2, bidirectional=True, dtype=torch.float64).eval()
    x = torch.randn(3, 7, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 4, 1])
    expected, _ = layer(x, lengths=lengths)
    assert layer.uses_fused_path  # the layer itself keeps its fast path
    rec = record_layer(layer, x, lengths)
    assert rec.cell_type == kind
    assert sorted(rec.states) == ["l0", "l0_reverse", "l1", "l1_reverse"]
    for arrays in rec.states.values():
        assert sorted(arrays) == sorted(RECORDED[kind])
        for values in arrays.values():
            assert values.shape == (3, 7, 5)
            assert np.all(values[1, 4:] == 0) and np.all(values[2, 1:] == 0)
    torch.testing.assert_close(rec.output, expected, rtol=0, atol=1e-12)
    # hidden of the last layer's forward direction is the first half of the output
    np.testing.assert_allclose(rec.states["l1"]["hidden"], expected[..., :5].detach().numpy(),
                               atol=1e-12)


def test_gates_are_probabilities_and_lstm_cell_follows_equation() -> None:
    torch.manual_seed(1)
    layer = LSTM(2, 4, dtype=torch.float64)
    rec = record_layer(layer, torch.randn(2, 6, 2, dtype=torch.float64))
    s = rec.states["l0"]
    for gate in ("input_gate", "forget_gate", "output_gate"):
        assert np.all((s[gate] > 0) & (s[gate] < 1))
    c_prev = np.concatenate([np.zeros((2, 1, 4)), s["cell"][:, :-1]], axis=1)
    np.testing.assert_allclose(
        s["cell"], s["forget_gate"] * c_prev + s["input_gate"] * s["candidate"], atol=1e-12
    )
    np.testing.assert_allclose(s["hidden"], s["output_gate"] * np.tanh(s["cell"]), atol=1e-12)


def test_gru_update_gate_mixes_previous_state() -> None:
    torch.manual_seed(2)
    layer = GRU(2, 3, dtype=torch.float64)
    s = record_layer(layer, torch.randn(1, 5, 2, dtype=torch.float64)).states["l0"]
    h_prev = np.concatenate([np.zeros((1, 1, 3)), s["hidden"][:, :-1]], axis=1)
    z, n = s["update_gate"], s["candidate"]
    np.testing.assert_allclose(s["hidden"], (1 - z) * n + z * h_prev, atol=1e-12)


def test_left_padding_mask_matches_layer() -> None:
    torch.manual_seed(3)
    layer = GRU(2, 3, dtype=torch.float64).eval()
    x = torch.randn(2, 4, 2, dtype=torch.float64)
    mask = torch.tensor([[False, True, True, True], [True, True, True, True]])
    expected, _ = layer(x, mask=mask)
    rec = record_layer(layer, x, mask=mask)
    torch.testing.assert_close(rec.output, expected, rtol=0, atol=1e-12)
    assert np.all(rec.states["l0"]["hidden"][0, 0] == 0)


def test_hidden_state_gradients_match_autograd_on_output() -> None:
    torch.manual_seed(4)
    layer = SimpleRNN(2, 3, dtype=torch.float64)
    x = torch.randn(1, 5, 2, dtype=torch.float64)
    grads = hidden_state_gradients(layer, x, lambda out: out[0, -1].sum())
    assert grads.shape == (1, 5, 3)
    np.testing.assert_allclose(grads[0, -1], np.ones(3))  # dL/dh_T of L = sum(h_T)
    assert np.all(np.abs(grads[0, :-1]) > 0)


def test_record_rejects_other_modules() -> None:
    with pytest.raises(ConfigError, match="layer"):
        record_layer(torch.nn.LSTM(2, 3, batch_first=True), torch.randn(1, 2, 2))
