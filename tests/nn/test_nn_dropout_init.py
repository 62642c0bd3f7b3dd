"""Variational recurrent dropout, dropout between layers, and the two initialization schemes."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit import nn as rnn


def _identity_rnn(recurrent_dropout: float) -> rnn.SimpleRNN:
    """h_t = x_t + W_hh (m * h_{t-1}) with W_ih = W_hh = I: the mask shows in the outputs."""
    layer = rnn.SimpleRNN(8, 8, activation="linear", recurrent_dropout=recurrent_dropout,
                          dtype=torch.float64)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.eye(8))
        layer.weight_hh_l0.copy_(torch.eye(8))
        layer.bias_ih_l0.zero_()
        layer.bias_hh_l0.zero_()
    return layer


def test_recurrent_dropout_uses_one_mask_for_all_steps() -> None:
    torch.manual_seed(0)
    layer = _identity_rnn(0.5).train()
    assert not layer.uses_fused_path
    out, _ = layer(torch.ones(16, 6, 8, dtype=torch.float64))
    carried = out[:, 1:] - 1.0  # = m * h_{t-1}: zero exactly where unit was dropped
    dropped = carried == 0
    # same mask at every step: a unit is dropped at all steps or at none
    assert torch.equal(dropped.all(dim=1), dropped.any(dim=1))
    per_sequence = dropped[:, 0]
    assert 0.2 < per_sequence.double().mean().item() < 0.8
    assert not (per_sequence == per_sequence[0]).all()  # one mask per sequence, not per batch
    kept = ~dropped
    # kept units are scaled by 1 / (1 - p) = 2: h_1 = 1 + 2 * 1
    assert torch.allclose(out[:, 1][kept[:, 0]], torch.full_like(out[:, 1][kept[:, 0]], 3.0))


def test_recurrent_dropout_off_in_eval_mode() -> None:
    layer = _identity_rnn(0.5).eval()
    assert layer.uses_fused_path is False  # linear activation: loop, but no dropout
    out, _ = layer(torch.ones(4, 5, 8, dtype=torch.float64))
    expected = torch.arange(1, 6, dtype=torch.float64)[None, :, None].expand(4, 5, 8)
    assert torch.equal(out, expected)


@pytest.mark.parametrize("cls", [rnn.LSTM, rnn.GRU])
def test_recurrent_dropout_acts_in_training_only(cls: type) -> None:
    torch.manual_seed(1)
    layer = cls(4, 6, recurrent_dropout=0.4, dtype=torch.float64)
    plain = cls(4, 6, dtype=torch.float64)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    assert not torch.allclose(layer.train()(x)[0], plain(x)[0])
    layer.eval()
    assert layer.uses_fused_path
    assert torch.allclose(layer(x)[0], plain(x)[0], atol=1e-12)


@pytest.mark.parametrize("fused", [None, False], ids=["auto", "loop"])
def test_dropout_between_layers_only_in_training(fused: bool | None) -> None:
    torch.manual_seed(2)
    layer = rnn.LSTM(4, 5, num_layers=2, dropout=0.5, fused=fused, dtype=torch.float64)
    plain = rnn.LSTM(4, 5, num_layers=2, fused=fused, dtype=torch.float64)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(3, 6, 4, dtype=torch.float64)
    assert not torch.allclose(layer.train()(x)[0], plain(x)[0])
    assert torch.allclose(layer.eval()(x)[0], plain(x)[0], atol=1e-12)


@pytest.mark.parametrize("cls, gates", [(rnn.SimpleRNN, 1), (rnn.LSTM, 4), (rnn.GRU, 3)])
def test_keras_init(cls: type, gates: int) -> None:
    hidden, features = 6, 5
    layer = cls(features, hidden, num_layers=2, bidirectional=True)
    for name, p in layer.named_parameters():
        if name.startswith("weight_hh"):
            for g in range(gates):
                block = p[g * hidden : (g + 1) * hidden].double()
                assert torch.allclose(block @ block.T, torch.eye(hidden, dtype=torch.float64),
                                      atol=1e-5), f"{name} block {g} not orthogonal"
        elif name.startswith("weight_ih"):
            limit = math.sqrt(6.0 / (p.shape[1] + p.shape[0]))
            assert p.abs().max() <= limit
            assert p.abs().max() > 0.5 * limit  # spread over the range, not collapsed
        elif name.startswith("bias_ih") and cls is rnn.LSTM:
            expected = torch.zeros(4 * hidden)
            expected[hidden : 2 * hidden] = 1.0
            assert torch.equal(p.detach(), expected), "LSTM forget-gate bias must be 1"
        else:
            assert (p == 0).all(), name


def test_torch_init_within_bounds_and_layer_norm_identity() -> None:
    hidden = 16
    layer = rnn.GRU(5, hidden, layer_norm=True, init="torch")
    bound = 1.0 / math.sqrt(hidden)
    for name, p in layer.named_parameters():
        if name.startswith("layer_norm"):
            assert (p == (1.0 if "weight" in name else 0.0)).all(), name
        else:
            assert p.abs().max() <= bound and p.abs().max() > 0.5 * bound, name
    layer.reset_parameters("keras")
    assert (layer.bias_ih_l0 == 0).all()
