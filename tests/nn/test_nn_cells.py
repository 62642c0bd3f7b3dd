"""Cells: gradcheck in float64 (inputs, states and all parameters), step/project consistency."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from nn_testutils import as_tuple, assert_close
from torch.func import functional_call

from rnnkit import nn as rnn
from rnnkit.nn.recurrent import scan


def _swish(v: torch.Tensor) -> torch.Tensor:
    return v * torch.sigmoid(v)


CELL_CASES: dict[str, tuple[type, dict[str, Any]]] = {
    "rnn_tanh": (rnn.RNNCell, {}),
    "rnn_relu": (rnn.RNNCell, {"activation": "relu"}),
    "rnn_layer_norm": (rnn.RNNCell, {"layer_norm": True}),
    "lstm": (rnn.LSTMCell, {}),
    "lstm_layer_norm": (rnn.LSTMCell, {"layer_norm": True}),
    "lstm_no_bias_layer_norm": (rnn.LSTMCell, {"layer_norm": True, "bias": False}),
    "lstm_custom": (rnn.LSTMCell, {"activation": "softsign", "recurrent_activation": _swish}),
    "gru_reset_after": (rnn.GRUCell, {}),
    "gru_reset_before": (rnn.GRUCell, {"reset_after": False}),
    "gru_reset_after_layer_norm": (rnn.GRUCell, {"layer_norm": True}),
    "gru_reset_before_layer_norm": (rnn.GRUCell, {"reset_after": False, "layer_norm": True}),
    "gru_tanh_gates": (rnn.GRUCell, {"reset_after": False, "recurrent_activation": "tanh"}),
    "gru_custom": (rnn.GRUCell, {"activation": "elu", "recurrent_activation": "hard_sigmoid"}),
}


def _random_params(cell: torch.nn.Module) -> None:
    # Non-trivial layer-norm gains/offsets and biases so every parameter matters.
    with torch.no_grad():
        for p in cell.parameters():
            p.normal_(0.0, 0.5)


@pytest.mark.parametrize("case", list(CELL_CASES))
def test_cell_gradcheck(case: str) -> None:
    cls, options = CELL_CASES[case]
    torch.manual_seed(1)
    cell = cls(3, 2, dtype=torch.float64, **options)
    _random_params(cell)
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    state = tuple(
        s.normal_().requires_grad_(True) for s in as_tuple(cell.initial_state(2))
    )

    def one_step(x: torch.Tensor, *rest: torch.Tensor) -> tuple[torch.Tensor, ...]:
        st, ps = rest[: len(state)], rest[len(state) :]
        st_arg = st if len(st) == 2 else st[0]
        y, new = functional_call(cell, dict(zip(names, ps, strict=True)), (x, st_arg))
        return (y, *as_tuple(new))

    assert torch.autograd.gradcheck(one_step, (x, *state, *params))


@pytest.mark.parametrize("case", ["lstm_layer_norm", "gru_reset_before", "rnn_relu"])
def test_gradcheck_through_masked_scan_with_recurrent_state(case: str) -> None:
    cls, options = CELL_CASES[case]
    torch.manual_seed(2)
    cell = cls(3, 2, dtype=torch.float64, **options)
    _random_params(cell)
    lengths = torch.tensor([3, 0, 2])
    x = torch.randn(3, 3, 3, dtype=torch.float64, requires_grad=True)

    def run(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out, state = scan(cell, x, cell.initial_state(3), lengths)
        return (out, *as_tuple(state))

    assert torch.autograd.gradcheck(run, (x,))


@pytest.mark.parametrize("case", list(CELL_CASES))
def test_project_then_step_equals_call(case: str) -> None:
    cls, options = CELL_CASES[case]
    cell = cls(3, 2, dtype=torch.float64, **options)
    _random_params(cell)
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    projected = cell.project_inputs(x)
    assert projected.shape == (4, 5, cell.gate_count * 2)
    state_a = state_b = cell.initial_state(4)
    for t in range(5):
        y_a, state_a = cell(x[:, t], state_a)
        y_b, state_b = cell.step(projected[:, t], state_b)
        assert_close(y_a, y_b, f"step {t}", tol=1e-12)


def test_layer_norm_changes_result_and_normalizes_each_gate() -> None:
    torch.manual_seed(0)
    plain = rnn.LSTMCell(3, 4, dtype=torch.float64)
    normed = rnn.LSTMCell(3, 4, layer_norm=True, bias=False, dtype=torch.float64)
    with torch.no_grad():
        normed.weight_ih.copy_(plain.weight_ih)
    x = torch.randn(5, 3, dtype=torch.float64) * 10
    projected = normed.project_inputs(x).view(5, 4, 4)  # (B, gates, H)
    assert_close(projected.mean(-1), torch.zeros(5, 4, dtype=torch.float64), "gate means", 1e-9)
    assert_close(projected.var(-1, unbiased=False), torch.ones(5, 4, dtype=torch.float64),
                 "gate variances", 1e-3)
    assert not torch.allclose(plain(x)[0], normed(x)[0])


def test_invalid_cell_options_raise_config_error() -> None:
    from rnnkit.errors import ConfigError

    with pytest.raises(ConfigError, match="activation"):
        rnn.LSTMCell(3, 2, activation="swoosh")
    with pytest.raises(ConfigError, match="hidden_size"):
        rnn.GRUCell(3, 0)
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        rnn.RNNCell(3, 2, recurrent_dropout=1.0)
    with pytest.raises(ConfigError, match="init"):
        rnn.RNNCell(3, 2, init="xavier")


def test_cell_rejects_bad_step_input() -> None:
    from rnnkit.errors import ShapeError

    cell = rnn.GRUCell(3, 2)
    with pytest.raises(ShapeError, match="x"):
        cell(torch.zeros(2, 5, 3))
    with pytest.raises(ShapeError, match="F=3"):
        cell(torch.zeros(2, 4))
