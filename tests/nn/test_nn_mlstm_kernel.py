"""MLSTM's fused kernel (rnnkit.nn.kernels.mlstm): float64 parity to 1e-10 with the torch
chunkwise form and the step form (outputs, final (C, n, m), gradients of x, the initial state and
every parameter) with lengths (0 included), both directions, two layers, 1 and 2 heads and
sequences crossing several checkpoint blocks; gradcheck of the autograd Function; float32;
thread-count independence; one-step generation; and the backend rule."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rnnkit import nn as rnn
from rnnkit.nn.kernels.mlstm import BLOCK
from rnnkit.nn.kernels.mlstm_autograd import mlstm_recurrent

TOL = 1e-10
B, F, H = 4, 3, 4
T = 2 * BLOCK + 5  # three checkpoint blocks, the last one partial


def _layers(heads: int, **options: Any) -> dict[str, rnn.MLSTM]:
    """The same perturbed float64 weights on the kernel, the chunkwise form and the step form."""
    torch.manual_seed(heads)
    fused = rnn.MLSTM(F, H, heads=heads, chunk_size=8, dtype=torch.float64, kernels="numba",
                      **options)
    with torch.no_grad():
        for p in fused.parameters():
            p.add_(0.4 * torch.randn_like(p))
    layers = {"numba": fused}
    for name, extra in (("scan", {"kernels": "torch"}), ("loop", {"fused": False})):
        other = rnn.MLSTM(F, H, heads=heads, chunk_size=8, dtype=torch.float64, **extra, **options)
        other.load_state_dict(fused.state_dict())
        layers[name] = other
    return layers


def _random_state(layer: rnn.MLSTM, rows: int) -> torch.Tensor:
    """A state with every part nonzero (m too, of both signs)."""
    torch.manual_seed(11)
    return torch.randn(rows, B, layer.cell().state_size, dtype=torch.float64) * 0.5


def _run(layer: rnn.MLSTM, x: torch.Tensor, h0: torch.Tensor, **kwargs: Any) -> list:
    x = x.clone().requires_grad_()
    h0 = h0.clone().requires_grad_()
    out, state = layer(x, initial_state=h0, **kwargs)
    generator = torch.Generator().manual_seed(7)
    loss = sum((t * torch.randn(t.shape, generator=generator, dtype=t.dtype)).sum()
               for t in (out, state))
    return [out, state, *torch.autograd.grad(loss, [x, h0, *layer.parameters()])]


@pytest.mark.parametrize("heads", [1, 2])
def test_kernel_equals_the_chunkwise_and_step_forms_in_float64(heads: int) -> None:
    layers = _layers(heads, num_layers=2, bidirectional=True)
    assert {name: layer.backend for name, layer in layers.items()} == {
        "numba": "numba", "scan": "scan", "loop": "loop"
    }
    torch.manual_seed(3)
    x = torch.randn(B, T, F, dtype=torch.float64)
    h0 = _random_state(layers["numba"], 4)
    lengths = torch.tensor([T, BLOCK, 0, 5])
    got = _run(layers["numba"], x, h0, lengths=lengths)
    assert len(got) == 4 + len(list(layers["numba"].parameters()))
    for name in ("scan", "loop"):
        expected = _run(layers[name], x, h0, lengths=lengths)
        for a, b in zip(got, expected, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=TOL)
    out, state = got[:2]
    assert bool((out[1, BLOCK:] == 0).all()) and bool((out[2] == 0).all())
    assert torch.equal(state[:, 2], h0[:, 2])  # an empty sequence keeps its state


def test_kernel_without_lengths_or_initial_state_and_one_step_generation() -> None:
    layers = _layers(2, num_layers=2)
    torch.manual_seed(4)
    x = torch.randn(B, T, F, dtype=torch.float64)
    with torch.no_grad():
        whole, state = layers["numba"](x)
        reference, reference_state = layers["scan"](x)
        carried, steps = None, []
        for t in range(T):
            y, carried = layers["numba"](x[:, t : t + 1], initial_state=carried)
            steps.append(y)
    torch.testing.assert_close(whole, reference, rtol=0, atol=TOL)
    torch.testing.assert_close(state, reference_state, rtol=0, atol=TOL)
    torch.testing.assert_close(torch.cat(steps, dim=1), whole, rtol=0, atol=TOL)
    torch.testing.assert_close(carried, state, rtol=0, atol=TOL)


def _kernel_inputs(dtype: torch.dtype, batch: int, steps: int, heads: int, d: int,
                   directions: int) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(5)
    hidden = heads * d
    gx = torch.randn(batch, steps, directions * (4 * hidden + 2 * heads), dtype=dtype)
    state = torch.randn(directions, batch, heads * (d * d + d + 1), dtype=dtype) * 0.5
    return gx, state


def test_gradcheck_of_the_kernel_with_lengths_both_directions_across_blocks() -> None:
    gx, state = _kernel_inputs(torch.float64, 3, BLOCK + 3, 2, 2, 2)
    lengths = torch.tensor([BLOCK + 3, 2, 0])

    def run(gx: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return mlstm_recurrent(gx, state, lengths, heads=2)

    inputs = (gx.requires_grad_(), state.requires_grad_())
    assert torch.autograd.gradcheck(run, inputs, fast_mode=True)


def test_float32_runs_close_to_float64_and_threads_do_not_change_the_bits() -> None:
    """Also: repeated calls give the same bits (the kernels' vectors sit at fixed distances)."""
    gx, state = _kernel_inputs(torch.float64, 40, 20, 2, 8, 2)
    gx = gx * 0.5
    lengths = torch.tensor([20, 3, 0, 17] * 10)
    small = [gx.float().requires_grad_(), state.float().requires_grad_()]
    results = []
    for threads in (1, 2):
        out, final = mlstm_recurrent(*small, lengths, heads=2, threads=threads)
        grads = torch.autograd.grad(out.sum() + final.sum(), small)
        results.append([out, final, *grads])
    assert all(torch.equal(a, b) for a, b in zip(*results, strict=True))
    repeats = [torch.autograd.grad(mlstm_recurrent(*small, lengths, heads=2)[0].sum(), small)[0]
               for _ in range(6)]
    assert all(torch.equal(r, repeats[0]) for r in repeats)
    exact = [gx.clone().requires_grad_(), state.clone().requires_grad_()]
    out, final = mlstm_recurrent(*exact, lengths, heads=2)
    grads = torch.autograd.grad(out.sum() + final.sum(), exact)
    for a, b in zip(results[0], [out, final, *grads], strict=True):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a.double(), b, rtol=1e-3, atol=1e-3)


def test_the_kernel_runs_by_default_and_torch_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from rnnkit.nn.kernels import autograd, dispatch

    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return mlstm_recurrent(*args, **kwargs)

    monkeypatch.setattr(autograd, "mlstm_recurrent", counted)
    assert dispatch.numba_preferred("mlstm", hidden_size=1024)
    x = torch.randn(2, 5, 3)
    for options, backend in (({}, "numba"), ({"kernels": "torch"}, "scan"),
                             ({"fused": False}, "loop")):
        layer = rnn.MLSTM(3, 4, **options)
        assert layer.backend == backend
        for steps in (5, 1):  # one-step calls (generation) too
            before = len(calls)
            with torch.no_grad():
                layer(x[:, :steps])
            assert len(calls) - before == (backend == "numba")
    monkeypatch.setenv("RNNKIT_KERNELS", "torch")
    layer = rnn.MLSTM(3, 4)
    layer(x)
    assert layer.backend == "scan" and len(calls) == 2
    assert rnn.MLSTM(3, 4, kernels="numba").backend == "numba"  # the argument wins
