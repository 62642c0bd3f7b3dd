"""MLSTM (xLSTM's matrix-memory LSTM): the chunkwise parallel form (training) and the step form
(generation) agree to 1e-10 in float64 -- outputs, final states (C, n, m) and gradients -- with
lengths (an empty sequence included), both directions and two layers; both compute the paper's
unstabilised equations; the stabiliser keeps huge gate pre-activations finite. The state is one
tensor (L*D, B, S) whose (C, n, m) views ``split_state`` gives."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rnnkit import nn as rnn
from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn import MLSTM, Bidirectional, Recurrent

B, T, F, H, HEADS = 3, 11, 4, 6, 2
TOL = 1e-10


def _layer(**options: Any) -> MLSTM:
    """A float64 layer on the torch paths (the fused kernel: test_nn_mlstm_kernel.py) with chunks
    of 4 (T = 11 spans three, the last one partial) and every parameter perturbed, so that the
    gates depend on the input."""
    torch.manual_seed(0)
    options = {"heads": HEADS, "chunk_size": 4, "dtype": torch.float64, "kernels": "torch",
               **options}
    layer = MLSTM(F, H, **options)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return layer


def _x(seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randn(B, T, F, dtype=dtype)


def _split(layer: MLSTM, state: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The layer's state (L*D, B, S) as (C, n, m)."""
    assert isinstance(state, torch.Tensor) and state.shape[-1] == layer.cell().state_size
    return tuple(layer.cell().split_state(state))  # type: ignore[attr-defined]


def _run(layer: MLSTM, x: torch.Tensor, **kwargs: Any) -> tuple[torch.Tensor, ...]:
    """Outputs, final (C, n, m) and the gradients of a fixed loss w.r.t. x and every parameter."""
    x = x.clone().requires_grad_()
    out, joined = layer(x, **kwargs)
    state = _split(layer, joined)
    generator = torch.Generator().manual_seed(7)
    loss = sum(
        (t * torch.randn(t.shape, generator=generator, dtype=t.dtype)).sum() for t in (out, *state)
    )
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    return (out, *state, *grads)


def _assert_all_close(got: tuple[torch.Tensor, ...], expected: tuple[torch.Tensor, ...]) -> None:
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=TOL)


def test_parallel_and_step_forms_agree_with_lengths_both_directions_two_layers() -> None:
    layer = _layer(num_layers=2, bidirectional=True)
    lengths = torch.tensor([T, 6, 0])
    assert layer.backend == "scan"
    parallel = _run(layer, _x(1), lengths=lengths)
    layer.fused = False
    assert layer.backend == "loop"
    stepped = _run(layer, _x(1), lengths=lengths)
    _assert_all_close(parallel, stepped)
    out, c, n, m = parallel[:4]
    assert out.shape == (B, T, 2 * H)
    assert c.shape == (4, B, HEADS, H // HEADS, H // HEADS) and m.shape == (4, B, HEADS)
    assert bool((out[1, 6:] == 0).all()) and bool((out[2] == 0).all())
    assert all(bool((s[:, 2] == 0).all()) for s in (c, n, m))  # empty: the zero state


@pytest.mark.parametrize("chunk_size", [1, 3, 64])
def test_the_chunk_size_changes_nothing(chunk_size: int) -> None:
    reference = _run(_layer(bidirectional=True), _x(2), lengths=torch.tensor([T, 5, 2]))
    layer = _layer(bidirectional=True, chunk_size=chunk_size)
    _assert_all_close(_run(layer, _x(2), lengths=torch.tensor([T, 5, 2])), reference)


def _naive_mlstm(layer: MLSTM, x: torch.Tensor) -> torch.Tensor:
    """The paper's equations without the stabiliser, step by step, from the raw weights."""
    w, b = layer.weight_ih_l0, layer.bias_ih_l0
    d = H // HEADS
    c = torch.zeros(B, HEADS, d, d, dtype=x.dtype)
    n = torch.zeros(B, HEADS, d, dtype=x.dtype)
    outputs = []
    for t in range(x.shape[1]):
        xp = x[:, t] @ w.T + b
        q, k, v = (xp[:, j * H : (j + 1) * H].reshape(B, HEADS, d) for j in range(3))
        k = k / d**0.5
        o = torch.sigmoid(xp[:, 3 * H : 4 * H])
        i = torch.exp(xp[:, 4 * H : 4 * H + HEADS])
        f = torch.sigmoid(xp[:, 4 * H + HEADS :])
        c = f[..., None, None] * c + i[..., None, None] * torch.einsum("bha,bhc->bhac", v, k)
        n = f[..., None] * n + i[..., None] * k
        h = torch.einsum("bhac,bhc->bha", c, q)
        h = h / torch.einsum("bhc,bhc->bh", n, q).abs().clamp(min=1)[..., None]
        outputs.append(o * h.reshape(B, H))
    return torch.stack(outputs, dim=1)


def test_both_forms_compute_the_papers_unstabilised_equations() -> None:
    layer = _layer()
    x = _x(3)
    with torch.no_grad():
        expected = _naive_mlstm(layer, x)
        parallel, _ = layer(x)
        layer.fused = False
        stepped, _ = layer(x)
    torch.testing.assert_close(parallel, expected, rtol=0, atol=TOL)
    torch.testing.assert_close(stepped, expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("fused", [None, False])
def test_two_halves_with_the_state_carried_equal_the_whole_run(fused: bool | None) -> None:
    layer = _layer(num_layers=2, fused=fused)
    x = _x(4)
    with torch.no_grad():
        whole, state = layer(x)
        first, carried = layer(x[:, :6])
        second, final = layer(x[:, 6:], initial_state=carried)
    assert state.shape == (2, B, HEADS * (3 * 3 + 3 + 1))
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, rtol=0, atol=TOL)
    torch.testing.assert_close(final, state, rtol=0, atol=TOL)


def test_streaming_one_step_per_call_equals_the_whole_sequence() -> None:
    layer = _layer(num_layers=2)
    x = _x(5)
    with torch.no_grad():
        whole, state = layer(x)
        carried, steps = None, []
        for t in range(T):
            y, carried = layer(x[:, t : t + 1], initial_state=carried)
            steps.append(y)
    torch.testing.assert_close(torch.cat(steps, dim=1), whole, rtol=0, atol=TOL)
    torch.testing.assert_close(carried, state, rtol=0, atol=TOL)


def test_padded_steps_never_reach_outputs_or_final_state() -> None:
    layer = _layer(bidirectional=True)
    x, lengths = _x(6), torch.tensor([T, 5, 2])
    noisy = x.clone()
    noisy[1, 5:] = 1e3
    noisy[2, 2:] = -7.0
    with torch.no_grad():
        out, state = layer(x, lengths=lengths)
        out_noisy, state_noisy = layer(noisy, lengths=lengths)
        alone, state_alone = layer(x[1:2, :5])
    torch.testing.assert_close(out_noisy, out, rtol=0, atol=0)
    torch.testing.assert_close(out[1, :5], alone[0], rtol=0, atol=TOL)
    torch.testing.assert_close(state_noisy, state, rtol=0, atol=0)
    torch.testing.assert_close(state[:, 1], state_alone[:, 0], rtol=0, atol=TOL)


def test_the_layer_equals_its_cells_under_recurrent_and_bidirectional() -> None:
    layer = _layer(bidirectional=True)
    x, lengths = _x(7), torch.tensor([T, 6, 1])
    with torch.no_grad():
        out, state = layer(x, lengths=lengths)
        forward, backward = Recurrent(layer.cell(0, 0)), Recurrent(layer.cell(0, 1))
        both, (state_fwd, state_bwd) = Bidirectional(forward, backward)(x, lengths=lengths)
    torch.testing.assert_close(out, both, rtol=0, atol=TOL)
    torch.testing.assert_close(state, torch.stack([state_fwd, state_bwd]), rtol=0, atol=TOL)


def test_gradcheck_of_the_parallel_form_with_lengths_and_both_directions() -> None:
    layer = MLSTM(2, 4, heads=2, chunk_size=2, bidirectional=True, dtype=torch.float64,
                  kernels="torch")
    torch.manual_seed(8)
    names = [name for name, _ in layer.named_parameters()]
    params = [(p.detach() + 0.5 * torch.randn_like(p)).requires_grad_() for p in layer.parameters()]
    x = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 3])

    def run(x: torch.Tensor, *weights: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out, state = torch.func.functional_call(
            layer, dict(zip(names, weights, strict=True)), (x,), {"lengths": lengths}
        )
        return (out, *_split(layer, state))

    assert torch.autograd.gradcheck(run, (x, *params), fast_mode=True)


@pytest.mark.parametrize("kernels", ["torch", "numba"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_huge_gate_pre_activations_stay_finite(dtype: torch.dtype, kernels: str) -> None:
    """exp(100) overflows float32 (and exp(1000) float64): only the stabilised gates survive."""
    layer = MLSTM(F, H, heads=HEADS, chunk_size=4, dtype=dtype, kernels=kernels)
    units = 4 * H
    scale = 1000.0 if dtype == torch.float64 else 100.0
    with torch.no_grad():
        layer.weight_ih_l0[units:].normal_().mul_(scale / 4)
        layer.bias_ih_l0[units : units + HEADS] = scale  # input gates exp(scale)
        layer.bias_ih_l0[units + HEADS :] = torch.tensor([scale, -scale])  # f ~ 1 and f ~ 0
    x = _x(9, dtype).requires_grad_()
    out, state = layer(x, lengths=torch.tensor([T, 7, 3]))
    (out.sum() + state.sum()).backward()
    tensors = [out, state, x.grad, *(p.grad for p in layer.parameters())]
    assert all(t is not None and bool(torch.isfinite(t).all()) for t in tensors)
    layer.fused = False
    with torch.no_grad():
        stepped, _ = layer(x, lengths=torch.tensor([T, 7, 3]))
    tolerance = TOL if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(out.detach(), stepped, rtol=0, atol=tolerance)


def test_dropout_between_layers_only_in_training_and_float32_runs() -> None:
    layer = MLSTM(F, H, num_layers=2, dropout=0.5, heads=HEADS)
    x = torch.randn(B, T, F)
    layer.eval()
    first, state = layer(x)
    assert torch.equal(first, layer(x)[0])
    layer.train()
    torch.manual_seed(0)
    dropped, _ = layer(x)
    assert not torch.allclose(dropped, first)
    assert dropped.dtype == torch.float32 and state.dtype == torch.float32


def test_state_dict_names_shapes_and_initialization_are_the_documented_ones() -> None:
    layer = MLSTM(F, 8, num_layers=2, bidirectional=True)  # heads=4 by default
    rows = 4 * 8 + 2 * 4
    assert {k: tuple(v.shape) for k, v in layer.state_dict().items()} == {
        "weight_ih_l0": (rows, F), "bias_ih_l0": (rows,),
        "weight_ih_l0_reverse": (rows, F), "bias_ih_l0_reverse": (rows,),
        "weight_ih_l1": (rows, 16), "bias_ih_l1": (rows,),
        "weight_ih_l1_reverse": (rows, 16), "bias_ih_l1_reverse": (rows,),
    }
    bias = layer.bias_ih_l1.detach()
    assert bias[36:].tolist() == [3.0, 4.0, 5.0, 6.0]  # forget gates near 1
    assert bool((layer.weight_ih_l0[32:] == 0).all()) and bool((bias[:32] == 0).all())
    assert "heads=4" in repr(layer)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MLSTM(F, 6, heads=4), "heads"),
        (lambda: MLSTM(F, 6, heads=0), "heads"),
        (lambda: MLSTM(F, 6, chunk_size=0), "chunk_size"),
        (lambda: MLSTM(F, 6, layer_norm=True), "layer_norm"),
        (lambda: MLSTM(F, 6, recurrent_dropout=0.1, heads=2), "recurrent_dropout"),
        (lambda: MLSTM(F, 6, heads=2, fused=True), "fused"),
    ],
)
def test_bad_options_raise_config_errors(build: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build()


def test_an_initial_state_of_the_wrong_shape_is_refused() -> None:
    layer = MLSTM(F, H, heads=HEADS)
    x = torch.randn(B, T, F)
    S = HEADS * (3 * 3 + 3 + 1)
    with pytest.raises(ShapeError, match=rf"\(L\*D, B, S\) = \(1, 3, {S}\), got \(1, 3, 6\)"):
        layer(x, initial_state=torch.zeros(1, B, H))
    zeros = rnn.MLSTMCell(F, H, heads=HEADS).initial_state(B)
    assert zeros.shape == (B, S)
    with pytest.raises(ShapeError, match="initial_state"):
        layer(x, initial_state=zeros)  # the cell's state lacks the (L*D) axis
    with pytest.raises(ShapeError, match="initial_state"):
        layer(x, initial_state=layer.cell().split_state(zeros[None]))  # the old (C, n, m) tuple
    out, state = layer(x, initial_state=zeros[None])
    assert out.shape == (B, T, H) and state.shape == (1, B, S)


def test_split_state_and_join_state_are_inverse_views_of_the_documented_layout() -> None:
    cell = rnn.MLSTMCell(F, H, heads=HEADS)
    d = H // HEADS
    state = torch.arange(2 * cell.state_size, dtype=torch.float32).reshape(2, -1)
    c, n, m = cell.split_state(state)
    assert c.shape == (2, HEADS, d, d) and n.shape == (2, HEADS, d) and m.shape == (2, HEADS)
    assert c[0, 1, 2, 0].item() == 1 * d * d + 2 * d  # C row-major per head, first
    assert n[0, 0, 1].item() == HEADS * d * d + 1 and m[1, 1].item() == 2 * cell.state_size - 1
    assert torch.equal(cell.join_state(c, n, m), state)


@pytest.mark.parametrize(("hidden", "heads"), [(8, 4), (6, 2), (7, 1)])
def test_the_default_heads_divide_any_width(hidden: int, heads: int) -> None:
    layer = MLSTM(F, hidden)  # the tasks build layers of any width without a heads option
    assert layer.cell().heads == heads  # type: ignore[attr-defined]
    d = hidden // heads
    assert layer(torch.randn(B, T, F))[1].shape == (1, B, heads * (d * d + d + 1))
