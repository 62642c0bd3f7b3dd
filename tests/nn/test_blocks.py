"""rnnkit.nn.ResidualBlocks: pre-norm residual blocks with a causal convolution around a
recurrence. The carried state makes a continued call, and a token-by-token walk, equal the
whole-sequence call; the convolution is causal; gradients check; every one-state cell runs."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn import ResidualBlocks
from rnnkit.nn.registry import make_layer, state_size

ONE_STATE_CELLS = ("rnn", "gru", "mingru", "minlstm", "lru", "ssm", "mlstm")


def test_every_registered_cell_but_the_lstm_has_one_state_tensor() -> None:
    """ONE_STATE_CELLS is every name of the registry that a block can hold."""
    from rnnkit.cells import CELL_NAMES
    from rnnkit.nn.registry import state_parts

    assert {c for c in CELL_NAMES if state_parts(make_layer(c, 2, 2)) == 1} == set(ONE_STATE_CELLS)


def _stack(cell: str = "mingru", **options: object) -> ResidualBlocks:
    torch.manual_seed(0)
    return ResidualBlocks(cell, 3, 6, num_layers=2, **options).double()  # type: ignore[arg-type]


@pytest.mark.parametrize("cell", ONE_STATE_CELLS)
def test_continued_and_stepped_calls_equal_the_whole_sequence(cell: str) -> None:
    stack = _stack(cell)
    x = torch.randn(4, 11, 3, dtype=torch.float64)
    whole, final = stack(x)
    first, state = stack(x[:, :5])
    rest, continued = stack(x[:, 5:], initial_state=state)
    assert torch.allclose(torch.cat([first, rest], 1), whole, atol=1e-10, rtol=0)
    assert torch.allclose(continued, final, atol=1e-10, rtol=0)
    state, steps = None, []
    for t in range(x.shape[1]):
        out, state = stack(x[:, t:t + 1], initial_state=state)
        steps.append(out)
    assert torch.allclose(torch.cat(steps, 1), whole, atol=1e-10, rtol=0)
    assert torch.allclose(state, final, atol=1e-10, rtol=0)


@pytest.mark.parametrize("kernel", [1, 2, 4])
def test_state_is_the_conv_window_then_the_cell_state(kernel: int) -> None:
    stack = _stack(conv_kernel=kernel)
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    _, state = stack(x)
    cell_width = state_size(make_layer("mingru", 6, 6))
    assert stack.state_size == (kernel - 1) * 6 + cell_width
    assert tuple(state.shape) == (2, 2, stack.state_size)
    block = stack.blocks[0]
    normed = block.norm(stack.input_proj(x))
    window = state[0, :, :block.window_size].reshape(2, kernel - 1, 6)
    assert window.shape[1] == kernel - 1
    assert torch.allclose(window, normed[:, 7 - (kernel - 1):], atol=1e-12)  # last K-1 inputs


def test_outputs_do_not_depend_on_later_inputs() -> None:
    """Causal: changing x at step 6 leaves the outputs of steps 0..5 as they were, and changes
    step 6 (the convolution and the recurrence both read it)."""
    stack = _stack(conv_kernel=4)
    x = torch.randn(2, 10, 3, dtype=torch.float64)
    y, _ = stack(x)
    changed = x.clone()
    changed[:, 6] += 1.0
    y2, _ = stack(changed)
    assert torch.equal(y[:, :6], y2[:, :6])
    assert not torch.allclose(y[:, 6], y2[:, 6])


def test_the_convolution_sees_the_last_kernel_inputs_only() -> None:
    """With the recurrence's memory cut (a minGRU whose update gate is fully open: h_t = h~_t),
    one block's output at t changes with x_{t-3} and not with x_{t-4} for K = 4."""
    torch.manual_seed(0)
    one = ResidualBlocks("mingru", 3, 6, num_layers=1, conv_kernel=4).double()
    with torch.no_grad():
        one.blocks[0].rnn.bias_ih_l0[:6] = 50.0  # z ~ 1
    x = torch.randn(1, 12, 3, dtype=torch.float64)
    y, _ = one(x)
    for lag, expect_change in ((0, True), (3, True), (4, False), (6, False)):
        moved = x.clone()
        moved[:, 8 - lag] += 1.0
        y2, _ = one(moved)
        assert (not torch.allclose(y[:, 8], y2[:, 8], atol=1e-9)) == expect_change, lag


def test_gradients_check() -> None:
    stack = ResidualBlocks("mingru", 2, 3, num_layers=2, conv_kernel=3).double()
    x = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, stack.state_size, dtype=torch.float64, requires_grad=True)
    params = [p for p in stack.parameters()]

    def run(x: torch.Tensor, h0: torch.Tensor, *weights: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y, state = stack(x, initial_state=h0)
        return y, state

    assert torch.autograd.gradcheck(run, (x, h0, *params), atol=1e-7)
    y, state = stack(x, initial_state=h0)
    (y.sum() + state.sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in stack.parameters())


def test_layer_groups_hold_every_parameter_once_bottom_first() -> None:
    stack = ResidualBlocks("mingru", 3, 6, num_layers=3)
    groups = stack.layer_groups()
    assert len(groups) == 3
    flat = [id(p) for group in groups for p in group]
    assert sorted(flat) == sorted(id(p) for p in stack.parameters())
    assert id(stack.input_proj.weight) in map(id, groups[0])
    assert id(stack.final_norm.weight) in map(id, groups[-1])


def test_state_dict_names_are_the_documented_ones() -> None:
    names = list(ResidualBlocks("mingru", 3, 6, num_layers=1).state_dict())
    assert names == ["input_proj.weight", "input_proj.bias", "blocks.0.conv_weight",
                     "blocks.0.conv_bias", "blocks.0.norm.weight", "blocks.0.norm.bias",
                     "blocks.0.rnn.weight_ih_l0", "blocks.0.rnn.bias_ih_l0",
                     "final_norm.weight", "final_norm.bias"]
    assert "input_proj.weight" not in ResidualBlocks("mingru", 6, 6).state_dict()


def test_residual_path_carries_the_input_and_the_final_norm_scales() -> None:
    """With the recurrence's output at zero (update gate shut, h stays at its zero start) a block
    is the identity, so the stack is the final LayerNorm of the input; with the gate open it is
    not."""
    torch.manual_seed(0)
    stack = ResidualBlocks("mingru", 6, 6, num_layers=2).double()
    x = torch.randn(2, 4, 6, dtype=torch.float64)
    with torch.no_grad():
        for block in stack.blocks:
            block.rnn.weight_ih_l0.zero_()
            block.rnn.bias_ih_l0[:6] = -60.0  # z ~ 1e-26: h_t = h_{t-1} = 0
            block.rnn.bias_ih_l0[6:] = torch.linspace(-1, 1, 6)  # a candidate that varies
    y, _ = stack(x)
    assert torch.allclose(y, stack.final_norm(x), atol=1e-12)
    with torch.no_grad():
        stack.blocks[0].rnn.bias_ih_l0[:6] = 0.0
    y, _ = stack(x)
    assert not torch.allclose(y, stack.final_norm(x), atol=1e-3)


def test_float32_runs_and_keeps_its_dtype() -> None:
    stack = ResidualBlocks("lru", 3, 6, num_layers=2)
    y, state = stack(torch.randn(2, 5, 3))
    assert y.dtype == state.dtype == torch.float32


@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (lambda: ResidualBlocks("lstm", 3, 6), ConfigError, "one state tensor.*use rnn, gru"),
        (lambda: ResidualBlocks("mingru", 3, 6, conv_kernel=0), ConfigError, "conv_kernel"),
        (lambda: ResidualBlocks("mingru", 3, 6, dropout=1.5), ConfigError, "dropout"),
        (lambda: ResidualBlocks("mingru", 3, 0), ConfigError, "hidden_size"),
        (lambda: ResidualBlocks("tranformer", 3, 6), ConfigError, "unknown"),
    ],
)
def test_bad_options_are_one_line_errors(build: object, error: type, words: str) -> None:
    with pytest.raises(error, match=words) as caught:
        build()  # type: ignore[operator]
    assert "\n" not in str(caught.value)


def test_bad_calls_are_one_line_errors() -> None:
    stack = ResidualBlocks("mingru", 3, 6, num_layers=2)
    x = torch.randn(2, 5, 3)
    with pytest.raises(ConfigError, match="lengths"):
        stack(x, lengths=torch.tensor([5, 3]))
    with pytest.raises(ShapeError, match="initial_state"):
        stack(x, initial_state=torch.zeros(1, 2, stack.state_size))
    with pytest.raises(ShapeError, match="initial_state"):
        stack(x, initial_state=(torch.zeros(2, 2, stack.state_size),))
    with pytest.raises(ShapeError, match="dtype"):
        stack(x.double())
    with pytest.raises(ShapeError):
        stack(torch.randn(2, 5, 4))
