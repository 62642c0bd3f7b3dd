"""A layer's cells: the gates they return against hand-written equations, and their parameters
being the layer's own (no copies) through dtype changes, state-dict loads, deep copies, pickle,
``torch.func.functional_call`` and train/eval."""

from __future__ import annotations

import copy
import pickle
from functools import partial
from typing import Any

import pytest
import torch
from torch.func import functional_call

from rnnkit import nn as rnn
from rnnkit.errors import ConfigError
from rnnkit.nn import Recurrent
from rnnkit.nn.cells import RecurrentCell
from rnnkit.nn.layers import RecurrentLayer
from rnnkit.nn.recurrent import scan

B, F, H = 3, 4, 5
assert_close = partial(torch.testing.assert_close, rtol=0, atol=1e-12)


def _inputs(cell: Any) -> tuple[torch.Tensor, Any]:
    torch.manual_seed(7)
    x = torch.randn(B, F, dtype=torch.float64)
    h = torch.randn(B, H, dtype=torch.float64)
    state = (h, torch.randn(B, H, dtype=torch.float64)) if cell.has_cell_state else h
    return cell.project_inputs(x), state


def _blocks(v: torch.Tensor, n: int) -> tuple[torch.Tensor, ...]:
    return v.chunk(n, dim=-1)


def test_lstm_gates_follow_the_equations() -> None:
    torch.manual_seed(0)
    cell = rnn.LSTMCell(F, H, dtype=torch.float64)
    xp, (h, c) = _inputs(cell)
    h_new, (h_out, c_new), gates = cell.step_with_gates(xp, (h, c))
    i, f, g, o = _blocks(xp + h @ cell.weight_hh.T + cell.bias_hh, 4)
    expected = {
        "input_gate": torch.sigmoid(i),
        "forget_gate": torch.sigmoid(f),
        "candidate": torch.tanh(g),
        "output_gate": torch.sigmoid(o),
    }
    assert list(gates) == list(expected)
    for name, value in expected.items():
        assert_close(gates[name], value)
    assert_close(
        c_new, expected["forget_gate"] * c + expected["input_gate"] * expected["candidate"]
    )
    assert_close(h_new, expected["output_gate"] * torch.tanh(c_new))
    assert h_out is h_new


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_gates_follow_the_equations(reset_after: bool) -> None:
    torch.manual_seed(1)
    cell = rnn.GRUCell(F, H, reset_after=reset_after, dtype=torch.float64)
    xp, h = _inputs(cell)
    h_new, _, gates = cell.step_with_gates(xp, h)
    x_r, x_z, x_n = _blocks(xp, 3)
    w_r, w_z, w_n = cell.weight_hh.chunk(3)
    b_r, b_z, b_n = cell.bias_hh.chunk(3)
    r = torch.sigmoid(x_r + h @ w_r.T + b_r)
    z = torch.sigmoid(x_z + h @ w_z.T + b_z)
    if reset_after:
        n = torch.tanh(x_n + r * (h @ w_n.T + b_n))
    else:
        n = torch.tanh(x_n + (r * h) @ w_n.T + b_n)
    assert list(gates) == ["reset_gate", "update_gate", "candidate"]
    assert_close(gates["reset_gate"], r)
    assert_close(gates["update_gate"], z)
    assert_close(gates["candidate"], n)
    assert_close(h_new, (1 - z) * n + z * h)


def test_rnn_gates_are_the_pre_activation() -> None:
    torch.manual_seed(2)
    cell = rnn.RNNCell(F, H, activation="relu", dtype=torch.float64)
    xp, h = _inputs(cell)
    h_new, _, gates = cell.step_with_gates(xp, h)
    assert_close(gates["pre_activation"], xp + h @ cell.weight_hh.T + cell.bias_hh)
    assert_close(h_new, torch.relu(gates["pre_activation"]))


@pytest.mark.parametrize("cls", [rnn.RNNCell, rnn.LSTMCell, rnn.GRUCell])
def test_step_is_step_with_gates_without_the_gates(cls: type) -> None:
    torch.manual_seed(3)
    cell = cls(F, H, layer_norm=True, dtype=torch.float64)
    xp, state = _inputs(cell)
    y, new_state = cell.step(xp, state)
    y2, new_state2, _ = cell.step_with_gates(xp, state)
    torch.testing.assert_close((y, new_state), (y2, new_state2), rtol=0, atol=0)


# -- the layer's cells read the layer's parameters ------------------------------------------------
def _layer(**options: Any) -> rnn.LSTM:
    torch.manual_seed(4)
    return rnn.LSTM(F, H, 2, bidirectional=True, layer_norm=True, **options)


def _assert_cells_share(layer: Any) -> None:
    for layer_index in range(layer.num_layers):
        for direction in range(layer.num_directions):
            cell = layer.cell(layer_index, direction)
            suffix = f"_l{layer_index}" + ("_reverse" if direction else "")
            for name, value in cell.weights().items():
                assert value is getattr(layer, name + suffix, None), (name, suffix)


def test_cells_own_no_parameters_and_the_layer_keeps_torch_names_in_order() -> None:
    layer = _layer()
    _assert_cells_share(layer)
    assert list(layer.cell(1, 1).parameters()) == []
    names = [name for name, _ in layer.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert names == list(layer.state_dict())
    assert len(names) == 4 * 10  # 4 cells x (4 torch weights + 6 layer-norm weights)


def test_sharing_survives_dtype_changes_loads_and_copies() -> None:
    layer = _layer().double()
    _assert_cells_share(layer)
    assert layer.cell(0, 1).weight_ih.dtype == torch.float64
    other = _layer()
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    layer.load_state_dict({k: v.double() for k, v in other.state_dict().items()})
    assert_close(layer.cell(1, 0).weight_hh, other.weight_hh_l1.double())
    layer.load_state_dict(other.state_dict(), assign=True)
    _assert_cells_share(layer)
    clone = copy.deepcopy(layer)
    _assert_cells_share(clone)
    assert clone.cell(0, 0).weights_from.layer is clone
    assert clone.weight_ih_l0 is not layer.weight_ih_l0
    unpickled = pickle.loads(pickle.dumps(layer))
    _assert_cells_share(unpickled)
    x = torch.randn(2, 3, F)  # float32: assign=True took the loaded tensors' dtype
    assert torch.equal(unpickled(x)[0], layer(x)[0])


def test_the_cell_loop_sees_functional_call_parameters() -> None:
    layer = _layer(dtype=torch.float64)
    x = torch.randn(2, 6, F, dtype=torch.float64)
    params = {name: torch.zeros_like(p) for name, p in layer.named_parameters()}
    out, _ = functional_call(layer, params, (x,))
    assert torch.count_nonzero(out) == 0  # zero weights, zero layer-norm gains: h = 0 throughout
    expected, _ = layer(x)
    assert torch.count_nonzero(expected) > 0  # the layer's own weights are back afterwards


def test_cells_follow_the_layers_mode_and_match_the_layer() -> None:
    layer = rnn.GRU(F, H, recurrent_dropout=0.3, fused=False, dtype=torch.float64)
    assert layer.cell().training
    layer.eval()
    cell = layer.cell()
    assert not cell.training and cell.make_recurrent_mask(B) is None
    x = torch.randn(B, 6, F, dtype=torch.float64)
    expected, h = layer(x)
    out, state = scan(cell, x, cell.initial_state(B))
    assert_close(out, expected)
    assert_close(state, h[0])
    assert copy.deepcopy(layer).train().cell().training


def test_a_missing_cell_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no layer 2, direction 0"):
        rnn.LSTM(F, H, 2).cell(2, 0)
    with pytest.raises(ConfigError, match="direction 1"):
        rnn.LSTM(F, H).cell(0, 1)


# -- a new cell type ------------------------------------------------------------------------------
class _MGUCell(RecurrentCell):
    """Minimal gated unit: ``f = σ(x̂_f + ĥ_f)``, ``n = φ(x̂_n + W_hn (f h) + b_hn)``,
    ``h' = (1 - f) h + f n``."""

    gate_count = 2

    def step_with_gates(
        self, xp: torch.Tensor, state: torch.Tensor, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        h = state if recurrent_mask is None else state * recurrent_mask
        x_f, x_n = xp.chunk(2, dim=-1)
        f = self.recurrent_activation(x_f + self._project_hidden(h, slice(0, self.hidden_size)))
        n = self.activation(x_n + self._project_hidden(f * h, slice(self.hidden_size, None)))
        h_new = state + f * (n - state)
        return h_new, h_new, {"forget_gate": f, "candidate": n}


class _MGU(RecurrentLayer):
    cell_class = _MGUCell


def test_a_new_cell_type_runs_as_a_layer_on_the_cell_loop() -> None:
    torch.manual_seed(5)
    layer = _MGU(F, H, 2, bidirectional=True, kernels="numba", dtype=torch.float64)
    assert layer.backend == "loop" and not layer.uses_fused_path
    assert list(layer.state_dict())[:2] == ["weight_ih_l0", "weight_hh_l0"]
    x, lengths = torch.randn(B, 6, F, dtype=torch.float64), torch.tensor([6, 3, 0])
    out, h = layer(x, lengths=lengths)
    assert out.shape == (B, 6, 2 * H) and h.shape == (4, B, H)
    ref_out, ref_h = Recurrent(layer.cell(0, 1), reverse=True)(x, lengths=lengths)
    assert_close(h[1], ref_h)
    with pytest.raises(ConfigError, match="fused"):
        _MGU(F, H, fused=True)
