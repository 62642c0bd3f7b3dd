"""Recurrent(cell) with user cells, the Bidirectional wrapper and its merge modes."""

from __future__ import annotations

import pytest
import torch
from nn_testutils import as_tuple, assert_close
from torch import nn

from rnnkit import nn as rnn


class MinimalCell(nn.Module):
    """A user-defined cell with only the documented interface (no project_inputs/step)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.linear = nn.Linear(input_size + hidden_size, hidden_size, dtype=torch.float64)

    def initial_state(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(batch_size, self.hidden_size, dtype=torch.float64)
        return zeros, zeros.clone()

    def forward(self, x_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, total = state
        h = torch.tanh(self.linear(torch.cat([x_t, h], dim=-1)))
        return 2 * h, (h, total + h)


def test_user_cell_matches_manual_loop_and_respects_lengths() -> None:
    torch.manual_seed(0)
    cell = MinimalCell(3, 4)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    out, (h, total) = rnn.Recurrent(cell)(x, lengths=torch.tensor([5, 3]))
    for b, length in enumerate([5, 3]):
        state = cell.initial_state(1)
        for t in range(length):
            y, state = cell(x[b : b + 1, t], state)
            assert_close(out[b, t], y[0], f"output {b},{t}")
        assert_close(h[b], state[0][0], "h")
        assert_close(total[b], state[1][0], "running total")
    assert (out[1, 3:] == 0).all()


def test_recurrent_reverse_reads_each_sequence_backwards() -> None:
    cell = MinimalCell(3, 4)
    x = torch.randn(1, 4, 3, dtype=torch.float64)
    lengths = torch.tensor([3])
    out_rev, state_rev = rnn.Recurrent(cell, reverse=True)(x, lengths=lengths)
    out_fwd, state_fwd = rnn.Recurrent(cell)(x[:, [2, 1, 0]])
    assert_close(out_rev[:, :3], out_fwd.flip(1), "reversed outputs")
    assert_close(state_rev[0], state_fwd[0], "reversed state")
    assert (out_rev[:, 3] == 0).all()


@pytest.mark.parametrize("left", [False, True], ids=["right", "left"])
@pytest.mark.parametrize("cell_cls", [rnn.LSTMCell, rnn.GRUCell, rnn.RNNCell])
def test_bidirectional_recurrent_equals_bidirectional_layer(cell_cls: type, left: bool) -> None:
    torch.manual_seed(1)
    layer_cls = {rnn.LSTMCell: rnn.LSTM, rnn.GRUCell: rnn.GRU, rnn.RNNCell: rnn.SimpleRNN}
    layer = layer_cls[cell_cls](3, 4, bidirectional=True, dtype=torch.float64)
    forward_cell = cell_cls(3, 4, dtype=torch.float64)
    backward_cell = cell_cls(3, 4, dtype=torch.float64)
    state = layer.state_dict()
    forward_cell.load_state_dict({k[: -len("_l0")]: v for k, v in state.items()
                                  if k.endswith("_l0")})
    backward_cell.load_state_dict({k[: -len("_l0_reverse")]: v for k, v in state.items()
                                   if k.endswith("_reverse")})
    wrapper = rnn.Bidirectional(rnn.Recurrent(forward_cell), rnn.Recurrent(backward_cell))
    x = torch.randn(3, 5, 3, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 0])
    steps = torch.arange(5)[None, :]
    mask = steps >= 5 - lengths[:, None] if left else steps < lengths[:, None]
    out, (s_fwd, s_bwd) = wrapper(x, mask=mask)
    ref_out, ref_state = layer(x, mask=mask)
    assert_close(out, ref_out, "outputs")
    for mine_f, mine_b, ref in zip(as_tuple(s_fwd), as_tuple(s_bwd), as_tuple(ref_state),
                                   strict=True):
        assert_close(mine_f, ref[0], "forward state")
        assert_close(mine_b, ref[1], "backward state")


@pytest.mark.parametrize("mode", ["concat", "sum", "mean", "mul"])
def test_merge_modes_in_wrapper_and_layer(mode: str) -> None:
    torch.manual_seed(2)
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    concat_layer = rnn.GRU(3, 5, bidirectional=True, dtype=torch.float64)
    layer = rnn.GRU(3, 5, bidirectional=True, merge_mode=mode, dtype=torch.float64)
    layer.load_state_dict(concat_layer.state_dict())
    both, _ = concat_layer(x)
    fwd, bwd = both[..., :5], both[..., 5:]
    expected = {"concat": both, "sum": fwd + bwd, "mean": (fwd + bwd) / 2, "mul": fwd * bwd}[mode]
    out, _ = layer(x)
    assert out.shape[-1] == layer.output_size
    assert_close(out, expected, f"layer merge {mode}")
    wrapper = rnn.Bidirectional(rnn.Recurrent(rnn.GRUCell(3, 5, dtype=torch.float64)),
                                merge_mode=mode)
    out_wrapper, (sf, sb) = wrapper(x)
    f_out, _ = wrapper.forward_layer(x)
    b_out, _ = wrapper.backward_layer(x.flip(1))
    expected = {"concat": torch.cat([f_out, b_out.flip(1)], -1), "sum": f_out + b_out.flip(1),
                "mean": (f_out + b_out.flip(1)) / 2, "mul": f_out * b_out.flip(1)}[mode]
    assert_close(out_wrapper, expected, f"wrapper merge {mode}")


def test_bidirectional_copy_gets_fresh_weights_and_can_wrap_layers() -> None:
    wrapper = rnn.Bidirectional(rnn.LSTM(3, 4))
    assert not torch.equal(wrapper.forward_layer.weight_hh_l0, wrapper.backward_layer.weight_hh_l0)
    out, ((h_f, _), (h_b, _)) = wrapper(torch.randn(2, 5, 3), lengths=torch.tensor([5, 1]))
    assert out.shape == (2, 5, 8) and h_f.shape == h_b.shape == (1, 2, 4)
    assert (out[1, 1:] == 0).all()


def test_recurrent_applies_cell_recurrent_dropout_per_sequence() -> None:
    torch.manual_seed(3)
    cell = rnn.GRUCell(3, 4, recurrent_dropout=0.5, dtype=torch.float64)
    layer = rnn.Recurrent(cell)
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    train_a, _ = layer.train()(x)
    train_b, _ = layer(x)
    eval_out, _ = layer.eval()(x)
    no_dropout, _ = rnn.Recurrent(cell)(x)
    assert not torch.allclose(train_a, train_b)
    assert torch.equal(eval_out, no_dropout)
