"""MinGRU, MinLSTM and LRU: the parallel scan (training; also the fused numba
kernels, ``*_numba``) and the step form (generation) agree to 1e-10 in float64 -- outputs, final
states and gradients -- with lengths (an empty sequence included), both directions and two
layers; padded steps never reach the final state."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rnnkit import nn as rnn
from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn import Bidirectional, Recurrent

B, T, F, H = 3, 9, 4, 5
TOL = 1e-10
LAYERS: dict[str, tuple[type, dict[str, Any]]] = {
    "mingru": (rnn.MinGRU, {"kernels": "torch"}),
    "mingru_numba": (rnn.MinGRU, {"kernels": "numba"}),
    "mingru_log": (rnn.MinGRU, {"scan": "log"}),
    "minlstm": (rnn.MinLSTM, {"kernels": "torch"}),
    "minlstm_numba": (rnn.MinLSTM, {"kernels": "numba"}),
    "minlstm_log": (rnn.MinLSTM, {"scan": "log"}),
    "lru": (rnn.LRU, {"state_size": 3, "r_min": 0.5, "kernels": "torch"}),
    "lru_numba": (rnn.LRU, {"state_size": 3, "r_min": 0.5, "kernels": "numba"}),
    "lru_real": (rnn.LRU, {"complex": False, "kernels": "torch"}),
    "lru_real_numba": (rnn.LRU, {"complex": False, "kernels": "numba"}),
    "lru_sequential": (rnn.LRU, {"scan": "sequential"}),
}


def _layer(kind: str, **options: Any) -> rnn.RecurrentLayer:
    torch.manual_seed(0)
    cls, kwargs = LAYERS[kind]
    return cls(F, H, dtype=torch.float64, **kwargs, **options)


def _run(layer: rnn.RecurrentLayer, x: torch.Tensor, **kwargs: Any) -> tuple[torch.Tensor, ...]:
    """Outputs, final state and the gradients of a fixed loss w.r.t. x and every parameter."""
    x = x.clone().requires_grad_()
    out, h = layer(x, **kwargs)
    weights = torch.linspace(-1, 1, out.shape[-1], dtype=out.dtype)
    loss = (out * weights).sum() + (h**2).sum()
    params = list(layer.parameters())
    grads = torch.autograd.grad(loss, [x, *params])
    return (out, h, *grads)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_scan_and_step_forms_agree_with_lengths_both_directions_two_layers(kind: str) -> None:
    layer = _layer(kind, num_layers=2, bidirectional=True)
    torch.manual_seed(1)
    x = torch.randn(B, T, F, dtype=torch.float64)
    lengths = torch.tensor([T, 4, 0])
    assert layer.backend == ("numba" if kind.endswith("_numba") else "scan")
    scanned = _run(layer, x, lengths=lengths)
    layer.fused = False
    assert layer.backend == "loop"
    stepped = _run(layer, x, lengths=lengths)
    for got, expected in zip(scanned, stepped, strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=TOL)
    out, h = scanned[:2]
    assert bool((out[1, 4:] == 0).all()) and bool((out[2] == 0).all())
    assert bool((h[:, 2] == 0).all())  # an empty sequence keeps its (zero) initial state


@pytest.mark.parametrize("kind", ["mingru", "minlstm", "lru"])
def test_the_layer_equals_its_cells_under_recurrent_and_bidirectional(kind: str) -> None:
    layer = _layer(kind, bidirectional=True)
    torch.manual_seed(2)
    x = torch.randn(B, T, F, dtype=torch.float64)
    lengths = torch.tensor([T, 6, 1])
    out, h = layer(x, lengths=lengths)
    forward, backward = Recurrent(layer.cell(0, 0)), Recurrent(layer.cell(0, 1))
    both, (h_fwd, h_bwd) = Bidirectional(forward, backward)(x, lengths=lengths)
    torch.testing.assert_close(out, both, rtol=0, atol=TOL)
    torch.testing.assert_close(h, torch.stack([h_fwd, h_bwd]), rtol=0, atol=TOL)


@pytest.mark.parametrize("kind", ["mingru", "minlstm", "lru", "lru_numba"])
def test_padded_steps_never_reach_outputs_or_final_state(kind: str) -> None:
    layer = _layer(kind, bidirectional=True)
    torch.manual_seed(3)
    x = torch.randn(B, T, F, dtype=torch.float64)
    lengths = torch.tensor([T, 5, 2])
    noisy = x.clone()
    noisy[1, 5:] = 1e3
    noisy[2, 2:] = -7.0
    out, h = layer(x, lengths=lengths)
    out_noisy, h_noisy = layer(noisy, lengths=lengths)
    torch.testing.assert_close(out_noisy, out, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_noisy, h, rtol=0, atol=1e-12)
    alone, h_alone = layer(x[1:2, :5])  # sequence 1 on its own
    torch.testing.assert_close(out[1, :5], alone[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(h[:, 1], h_alone[:, 0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["mingru", "minlstm", "lru", "lru_numba"])
def test_streaming_one_step_at_a_time_equals_the_whole_sequence(kind: str) -> None:
    layer = _layer(kind, num_layers=2)
    torch.manual_seed(4)
    x = torch.randn(B, T, F, dtype=torch.float64)
    with torch.no_grad():
        out, h = layer(x)
        state, steps = None, []
        for t in range(T):
            y, state = layer(x[:, t : t + 1], initial_state=state)
            steps.append(y)
    torch.testing.assert_close(torch.cat(steps, dim=1), out, rtol=0, atol=TOL)
    torch.testing.assert_close(state, h, rtol=0, atol=TOL)


def test_dropout_between_layers_only_in_training_and_float32_runs() -> None:
    layer = rnn.MinGRU(F, H, num_layers=2, dropout=0.5)
    x = torch.randn(B, T, F)
    layer.eval()
    first, _ = layer(x)
    assert torch.equal(first, layer(x)[0])
    layer.train()
    torch.manual_seed(0)
    dropped, _ = layer(x)
    assert not torch.allclose(dropped, first)
    assert dropped.dtype == torch.float32
    out, h = rnn.LRU(F, H)(x)
    assert out.dtype == h.dtype == torch.float32 and h.shape == (1, B, 2 * H)


def test_state_dict_names_and_shapes_are_the_documented_ones() -> None:
    mingru = rnn.MinGRU(F, H, bidirectional=True)
    assert {k: tuple(v.shape) for k, v in mingru.state_dict().items()} == {
        "weight_ih_l0": (2 * H, F), "bias_ih_l0": (2 * H,),
        "weight_ih_l0_reverse": (2 * H, F), "bias_ih_l0_reverse": (2 * H,),
    }
    minlstm = rnn.MinLSTM(F, H, num_layers=2)
    assert tuple(minlstm.state_dict()["weight_ih_l1"].shape) == (3 * H, H)
    assert bool((minlstm.bias_ih_l0[H : 2 * H] == 1).all())  # the forget bias
    lru = rnn.LRU(F, H, state_size=6)
    assert {k: tuple(v.shape) for k, v in lru.state_dict().items()} == {
        "nu_log_l0": (6,), "theta_log_l0": (6,), "gamma_log_l0": (6,),
        "B_re_l0": (6, F), "B_im_l0": (6, F), "C_re_l0": (H, 6), "C_im_l0": (H, 6),
        "D_l0": (H, F),
    }
    assert sorted(rnn.LRU(F, H, complex=False).state_dict()) == [
        "B_re_l0", "C_re_l0", "D_l0", "gamma_log_l0", "nu_log_l0",
    ]
    double = rnn.LRU(F, H).double()
    assert all(p.dtype == torch.float64 for p in double.parameters())


def test_lru_initialization_follows_the_paper() -> None:
    torch.manual_seed(0)
    lru = rnn.LRU(F, H, state_size=400, r_min=0.9, r_max=0.999, max_phase=0.3)
    modulus = torch.exp(-torch.exp(lru.nu_log_l0.detach()))
    assert 0.9 <= float(modulus.min()) and float(modulus.max()) <= 0.999
    assert float(torch.exp(lru.theta_log_l0.detach()).max()) <= 0.3
    torch.testing.assert_close(torch.exp(lru.gamma_log_l0.detach()), torch.sqrt(1 - modulus**2))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: rnn.MinGRU(F, H, layer_norm=True), "layer_norm"),
        (lambda: rnn.MinLSTM(F, H, recurrent_dropout=0.1), "recurrent_dropout"),
        (lambda: rnn.MinGRU(F, H, scan="fast"), "scan"),
        (lambda: rnn.LRU(F, H, scan="log"), "scan"),
        (lambda: rnn.LRU(F, H, r_min=0.9, r_max=0.5), "r_min"),
        (lambda: rnn.LRU(F, H, state_size=0), "state_size"),
        (lambda: rnn.LRU(F, H, bias=False), "bias"),
        (lambda: rnn.MinGRU(F, H, fused=True), "fused"),
    ],
)
def test_bad_options_raise_config_errors(build: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build()


def test_initial_state_of_the_wrong_width_is_refused() -> None:
    lru = rnn.LRU(F, H, state_size=3)
    x = torch.randn(B, T, F)
    with pytest.raises(ShapeError, match=r"\(1, 3, 6\)"):
        lru(x, initial_state=torch.zeros(1, B, H))
    out, h = lru(x, initial_state=torch.ones(1, B, 6))
    assert h.shape == (1, B, 6)
