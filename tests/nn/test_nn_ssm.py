"""SelectiveSSM (Mamba block): the parallel scan (training) and the step form (generation) agree to
1e-10 in float64 -- outputs, final states and gradients -- with lengths (an empty and a
shorter-than-the-conv sequence included), a non-zero initial state, both directions and two
layers; both equal a plain loop over the paper's equations; a run continued from a carried state
equals the whole run; padded steps never reach outputs or final states; gradcheck passes."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from rnnkit import nn as rnn
from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn import Bidirectional, Recurrent

B, T, FEATURES, H = 4, 9, 3, 4
TOL = 1e-10
SMALL = {"state_size": 3, "expand": 2, "conv_kernel": 4}
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "small": SMALL,
    "no_conv_memory": {**SMALL, "conv_kernel": 1},
    "no_bias_rank_2": {**SMALL, "bias": False, "dt_rank": 2, "expand": 1},
    "sequential": {**SMALL, "scan": "sequential"},
}


def _layer(**options: Any) -> rnn.SelectiveSSM:
    torch.manual_seed(0)
    layer = rnn.SelectiveSSM(FEATURES, H, dtype=torch.float64, **options)
    with torch.no_grad():  # larger steps than Mamba's init, so that the state does matter
        for name, p in layer.named_parameters():
            if name.startswith("dt_proj_bias"):
                p.add_(2.0)
    return layer


def _x(seed: int, batch: int = B, steps: int = T) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randn(batch, steps, FEATURES, dtype=torch.float64)


def _run(layer: rnn.SelectiveSSM, x: torch.Tensor, **kwargs: Any) -> tuple[torch.Tensor, ...]:
    """Outputs, final state and the gradients of a fixed loss w.r.t. x, h0 and every parameter."""
    x = x.clone().requires_grad_()
    h0 = kwargs.pop("initial_state").clone().requires_grad_()
    out, h = layer(x, initial_state=h0, **kwargs)
    weights = torch.linspace(-1, 1, out.shape[-1], dtype=out.dtype)
    loss = (out * weights).sum() + (h**2).sum()
    grads = torch.autograd.grad(loss, [x, h0, *layer.parameters()])
    return (out, h, *grads)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_scan_and_step_forms_agree_with_lengths_both_directions_two_layers(variant: str) -> None:
    layer = _layer(num_layers=2, bidirectional=True, **VARIANTS[variant])
    x = _x(1)
    lengths = torch.tensor([T, 4, 0, 1])
    torch.manual_seed(5)
    h0 = torch.randn(4, B, layer.cell().state_size, dtype=torch.float64) * 0.5
    assert layer.backend == ("scan" if variant == "sequential" else "numba")
    scanned = _run(layer, x, lengths=lengths, initial_state=h0)
    layer.fused = False
    assert layer.backend == "loop"
    stepped = _run(layer, x, lengths=lengths, initial_state=h0)
    for got, expected in zip(scanned, stepped, strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=TOL)
    out, h = scanned[:2]
    assert bool((out[1, 4:] == 0).all()) and bool((out[2] == 0).all())
    assert torch.equal(h[:, 2], h0[:, 2])  # an empty sequence keeps its initial state
    assert not torch.allclose(h[:, 3], h0[:, 3])


def _reference(
    weights: dict[str, torch.Tensor], x: torch.Tensor, h0: torch.Tensor, kernel: int, units: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gu & Dao's block written out step by step, from the state_dict alone (one direction)."""
    w = {name.removesuffix("_l0"): p for name, p in weights.items()}
    inner = w["D"].shape[0]
    rank = w["dt_proj_weight"].shape[1]
    history = list(h0[:, : (kernel - 1) * inner].reshape(-1, kernel - 1, inner).unbind(1))
    h = h0[:, (kernel - 1) * inner :].reshape(-1, inner, units)
    a_matrix = -torch.exp(w["A_log"])
    outputs = []
    for x_t in x.unbind(1):
        x_in, z = (x_t @ w["in_proj_weight"].T).split(inner, dim=-1)
        history.append(x_in)
        u = sum(w["conv_weight"][:, k] * history[k - kernel] for k in range(kernel))
        u = F.silu(u + w["conv_bias"])
        history = history[1:]
        low, b_t, c_t = (u @ w["x_proj_weight"].T).split([rank, units, units], dim=-1)
        delta = torch.log1p(torch.exp(low @ w["dt_proj_weight"].T + w["dt_proj_bias"]))
        decay = torch.exp(delta[:, :, None] * a_matrix)  # ZOH for A
        h = decay * h + delta[:, :, None] * b_t[:, None, :] * u[:, :, None]
        y = torch.einsum("ben,bn->be", h, c_t) + w["D"] * u
        outputs.append((y * z * torch.sigmoid(z)) @ w["out_proj_weight"].T)
    state = torch.cat([torch.stack(history, 1).flatten(1), h.flatten(1)], dim=-1)
    return torch.stack(outputs, 1), state


def test_both_forms_equal_the_papers_equations_written_out() -> None:
    layer = _layer(**SMALL)
    x = _x(2)
    torch.manual_seed(3)
    h0 = torch.randn(1, B, layer.cell().state_size, dtype=torch.float64)
    with torch.no_grad():
        expected, expected_state = _reference(layer.state_dict(), x, h0[0], 4, 3)
        for fused in (None, False):
            layer.fused = fused
            out, h = layer(x, initial_state=h0)
            torch.testing.assert_close(out, expected, rtol=0, atol=TOL)
            torch.testing.assert_close(h[0], expected_state, rtol=0, atol=TOL)


def test_the_layer_equals_its_cells_under_recurrent_and_bidirectional() -> None:
    layer = _layer(bidirectional=True, **SMALL)
    x = _x(4)
    lengths = torch.tensor([T, 6, 2, 1])
    out, h = layer(x, lengths=lengths)
    forward, backward = Recurrent(layer.cell(0, 0)), Recurrent(layer.cell(0, 1))
    both, (h_fwd, h_bwd) = Bidirectional(forward, backward)(x, lengths=lengths)
    torch.testing.assert_close(out, both, rtol=0, atol=TOL)
    torch.testing.assert_close(h, torch.stack([h_fwd, h_bwd]), rtol=0, atol=TOL)


def test_padded_steps_never_reach_outputs_or_final_state_in_either_direction() -> None:
    layer = _layer(bidirectional=True, **SMALL)
    x = _x(5)
    lengths = torch.tensor([T, 5, 2, 7])
    noisy = x.clone()
    noisy[1, 5:] = 1e3
    noisy[2, 2:] = -7.0
    out, h = layer(x, lengths=lengths)
    out_noisy, h_noisy = layer(noisy, lengths=lengths)
    torch.testing.assert_close(out_noisy, out, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_noisy, h, rtol=0, atol=1e-12)
    for row, length in ((1, 5), (2, 2)):
        alone, h_alone = layer(x[row : row + 1, :length])
        torch.testing.assert_close(out[row, :length], alone[0], rtol=0, atol=1e-12)
        torch.testing.assert_close(h[:, row], h_alone[:, 0], rtol=0, atol=1e-12)


def test_a_run_continued_from_its_carried_state_equals_the_whole_run() -> None:
    layer = _layer(num_layers=2, **SMALL)
    x = _x(6, steps=12)
    with torch.no_grad():
        out, h = layer(x)
        first, state = layer(x[:, :5])
        rest, state = layer(x[:, 5:], initial_state=state)
        torch.testing.assert_close(torch.cat([first, rest], dim=1), out, rtol=0, atol=TOL)
        torch.testing.assert_close(state, h, rtol=0, atol=TOL)
        state, steps = None, []
        for t in range(12):  # one step per call: the step form, as generation runs it
            y, state = layer(x[:, t : t + 1], initial_state=state)
            steps.append(y)
    torch.testing.assert_close(torch.cat(steps, dim=1), out, rtol=0, atol=TOL)
    torch.testing.assert_close(state, h, rtol=0, atol=TOL)


def test_halves_with_lengths_carry_each_sequences_own_state() -> None:
    layer = _layer(**SMALL)
    x = _x(7, steps=10)
    lengths = torch.tensor([10, 7, 6, 8])
    with torch.no_grad():
        out, h = layer(x, lengths=lengths)
        first, state = layer(x[:, :6])
        rest, state = layer(x[:, 6:], lengths=lengths - 6, initial_state=state)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), out, rtol=0, atol=TOL)
    torch.testing.assert_close(state, h, rtol=0, atol=TOL)


def test_gradcheck_on_a_tiny_bidirectional_layer_with_lengths() -> None:
    torch.manual_seed(0)
    layer = rnn.SelectiveSSM(
        2, 2, bidirectional=True, state_size=2, expand=1, conv_kernel=2, dtype=torch.float64
    )
    names = [name for name, _ in layer.named_parameters()]
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, layer.cell().state_size, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([4, 2])

    def run(x: torch.Tensor, h0: torch.Tensor, *params: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.func.functional_call(
            layer, dict(zip(names, params, strict=True)), (x,),
            {"lengths": lengths, "initial_state": h0},
        )

    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    assert torch.autograd.gradcheck(run, (x, h0, *params), fast_mode=True)


def test_state_dict_names_shapes_and_mambas_initialization() -> None:
    layer = rnn.SelectiveSSM(5, 32, bidirectional=True)
    e, n, r = 64, 16, 2
    shapes = {
        "in_proj_weight": (2 * e, 5), "conv_weight": (e, 4), "conv_bias": (e,),
        "x_proj_weight": (r + 2 * n, e), "dt_proj_weight": (e, r), "dt_proj_bias": (e,),
        "A_log": (e, n), "D": (e,), "out_proj_weight": (32, e),
    }
    expected = {name + suffix: shape for suffix in ("_l0", "_l0_reverse")
                for name, shape in shapes.items()}
    assert {k: tuple(v.shape) for k, v in layer.state_dict().items()} == expected
    assert layer.cell().state_size == 3 * e + e * n
    a_matrix = -torch.exp(layer.A_log_l0.detach())
    torch.testing.assert_close(a_matrix[7], -torch.arange(1.0, n + 1))
    assert torch.equal(layer.D_l0.detach(), torch.ones(e))
    dt = F.softplus(layer.dt_proj_bias_l0.detach().double())
    assert 1e-3 <= float(dt.min()) and float(dt.max()) <= 0.1
    assert float(layer.dt_proj_weight_l0.detach().abs().max()) <= r**-0.5
    assert "conv_bias_l0" not in rnn.SelectiveSSM(5, 8, bias=False).state_dict()
    assert rnn.SelectiveSSM(5, 40).cell().dt_rank == math.ceil(40 / 16)


def test_dropout_between_layers_only_in_training_and_float32_runs() -> None:
    layer = rnn.SelectiveSSM(FEATURES, H, num_layers=2, dropout=0.5, **SMALL)
    x = torch.randn(B, T, FEATURES)
    layer.eval()
    first, h = layer(x)
    assert torch.equal(first, layer(x)[0])
    assert first.dtype == h.dtype == torch.float32
    assert h.shape == (2, B, layer.cell().state_size)
    layer.train()
    torch.manual_seed(0)
    dropped, _ = layer(x)
    assert not torch.allclose(dropped, first)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"state_size": 0}, "state_size"),
        ({"expand": 1.5}, "expand"),
        ({"conv_kernel": 0}, "conv_kernel"),
        ({"dt_rank": True}, "dt_rank"),
        ({"scan": "log"}, "scan"),
        ({"layer_norm": True}, "layer_norm"),
        ({"recurrent_dropout": 0.1}, "recurrent_dropout"),
        ({"fused": True}, "fused"),
    ],
)
def test_bad_options_raise_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        rnn.SelectiveSSM(FEATURES, H, **options)


def test_an_initial_state_of_the_wrong_width_is_refused() -> None:
    layer = rnn.SelectiveSSM(FEATURES, H, **SMALL)
    width = layer.cell().state_size
    with pytest.raises(ShapeError, match=rf"\(1, {B}, {width}\)"):
        layer(torch.randn(B, T, FEATURES), initial_state=torch.zeros(1, B, H))
