"""Bad inputs raise ShapeError naming the argument; bad options raise ConfigError."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rnnkit import nn as rnn
from rnnkit.errors import ConfigError, ShapeError

GOOD_X = torch.randn(3, 5, 4)

BAD_CALLS: dict[str, tuple[dict[str, Any], str]] = {
    "rank 2": ({"x": torch.randn(5, 4)}, "x"),
    "rank 4": ({"x": torch.randn(1, 3, 5, 4)}, "x"),
    "feature size": ({"x": torch.randn(3, 5, 6)}, "x"),
    "int tokens": ({"x": torch.ones(3, 5, 4, dtype=torch.int64)}, "x"),
    "dtype mismatch": ({"x": torch.randn(3, 5, 4, dtype=torch.float64)}, "x"),
    "not a tensor": ({"x": [[1.0]]}, "x"),
    "lengths too long": ({"lengths": torch.tensor([5, 6, 1])}, "lengths"),
    "negative length": ({"lengths": torch.tensor([5, -1, 1])}, "lengths"),
    "lengths count": ({"lengths": torch.tensor([5, 1])}, "lengths"),
    "lengths 2-D": ({"lengths": torch.tensor([[5, 1, 1]])}, "lengths"),
    "float lengths": ({"lengths": torch.tensor([5.0, 1.0, 2.0])}, "lengths"),
    "mask shape": ({"mask": torch.ones(3, 4, dtype=torch.bool)}, "mask"),
    "mask float": ({"mask": torch.full((3, 5), 0.5)}, "mask"),
    "mask holes": (
        {"mask": torch.tensor([[1, 0, 1, 0, 0], [1] * 5, [1] * 5], dtype=torch.bool)},
        "mask",
    ),
    "mask middle": (
        {"mask": torch.tensor([[0, 1, 1, 0, 0], [1] * 5, [1] * 5], dtype=torch.bool)},
        "mask",
    ),
    "both": ({"lengths": torch.tensor([5, 5, 5]), "mask": torch.ones(3, 5).bool()}, "lengths"),
    "initial_state shape": ({"initial_state": torch.zeros(2, 3, 2)}, "initial_state"),
    "initial_state tuple": (
        {"initial_state": (torch.zeros(1, 3, 2), torch.zeros(1, 3, 2))},
        "initial_state",
    ),
}


@pytest.mark.parametrize("fused", [None, False], ids=["auto", "loop"])
@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_call_raises_shape_error_naming_argument(case: str, fused: bool | None) -> None:
    layer = rnn.GRU(4, 2, fused=fused)
    kwargs, argument = BAD_CALLS[case]
    kwargs = {"x": GOOD_X, **kwargs}
    with pytest.raises(ShapeError) as info:
        layer(**kwargs)
    assert str(info.value).startswith(argument), str(info.value)


def test_lstm_initial_state_must_be_a_pair() -> None:
    layer = rnn.LSTM(4, 2)
    with pytest.raises(ShapeError, match="initial_state"):
        layer(GOOD_X, initial_state=torch.zeros(1, 3, 2))
    with pytest.raises(ShapeError, match="initial_state"):
        layer(GOOD_X, initial_state=(torch.zeros(1, 3, 2), torch.zeros(1, 3, 2).double()))


def test_recurrent_and_bidirectional_validate_too() -> None:
    layer = rnn.Bidirectional(rnn.Recurrent(rnn.GRUCell(4, 2)))
    with pytest.raises(ShapeError, match="^x"):
        layer(torch.randn(5, 4))
    with pytest.raises(ShapeError, match="^mask"):
        layer(GOOD_X, mask=torch.tensor([[1, 0, 1, 1, 1]] * 3).bool())
    with pytest.raises(ShapeError, match="^x: expected F=4"):
        rnn.Recurrent(rnn.GRUCell(4, 2))(torch.randn(3, 5, 3))
    with pytest.raises(ShapeError, match="^output"):
        rnn.last_step(torch.randn(3, 5))


BAD_OPTIONS: dict[str, tuple[type, dict[str, Any], str]] = {
    "hidden 0": (rnn.LSTM, {"hidden_size": 0}, "hidden_size"),
    "layers 0": (rnn.LSTM, {"num_layers": 0}, "num_layers"),
    "merge": (rnn.GRU, {"bidirectional": True, "merge_mode": "max"}, "merge_mode"),
    "dropout": (rnn.GRU, {"dropout": 1.5}, "dropout"),
    "recurrent_dropout": (rnn.GRU, {"recurrent_dropout": -0.1}, "recurrent_dropout"),
    "activation": (rnn.SimpleRNN, {"activation": "sigmoidish"}, "activation"),
    "init": (rnn.LSTM, {"init": "he"}, "init"),
    "fused value": (rnn.LSTM, {"fused": "yes"}, "fused"),
    "fused layer norm": (rnn.LSTM, {"fused": True, "layer_norm": True}, "fused"),
    "fused reset_before": (rnn.GRU, {"fused": True, "reset_after": False}, "fused"),
    "fused activation": (rnn.SimpleRNN, {"fused": True, "activation": "elu"}, "fused"),
    "fused recurrent_dropout": (rnn.GRU, {"fused": True, "recurrent_dropout": 0.2}, "fused"),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_options_raise_config_error(case: str) -> None:
    cls, options, argument = BAD_OPTIONS[case]
    kwargs = {"input_size": 4, "hidden_size": 2, **options}
    with pytest.raises(ConfigError) as info:
        cls(**kwargs)
    assert str(info.value).startswith(argument), str(info.value)


def test_automatic_path_choice() -> None:
    assert rnn.LSTM(4, 2).uses_fused_path
    assert rnn.SimpleRNN(4, 2, nonlinearity="relu").uses_fused_path
    assert not rnn.LSTM(4, 2, layer_norm=True).uses_fused_path
    assert not rnn.LSTM(4, 2, recurrent_activation="hard_sigmoid").uses_fused_path
    assert not rnn.GRU(4, 2, reset_after=False).uses_fused_path
    assert not rnn.GRU(4, 2, fused=False).uses_fused_path
    assert rnn.LSTM(4, 2, activation=torch.tanh).uses_fused_path
    layer = rnn.GRU(4, 2, recurrent_dropout=0.3)
    assert not layer.uses_fused_path
    assert layer.eval().uses_fused_path  # recurrent dropout is off in eval mode
