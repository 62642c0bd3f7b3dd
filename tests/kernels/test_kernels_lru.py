"""The LRU's recurrence kernel against the torch scan path and the step form: outputs, final
states and every gradient (x, h0 and all parameters) in float64 to 1e-10, complex and real, with
lengths (an empty sequence included), both directions and two layers; float32 close; gradcheck
of the autograd function; thread-count independence; the choice of backend, and generation
steps (T = 1) on the kernel."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from kernel_testutils import outputs_and_gradients as _run

from rnnkit import nn as rnn
from rnnkit.nn.kernels import dispatch
from rnnkit.nn.kernels.lru_autograd import lru_recurrence

B, T, F, H = 5, 7, 4, 3
LENGTHS = torch.tensor([7, 3, 0, 1, 6])


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RNNKIT_KERNELS", raising=False)


def _compare(options: dict[str, Any], layers: int, bidirectional: bool, lengths: Any,
             dtype: torch.dtype, references: list[dict[str, Any]], tol: float) -> None:
    torch.manual_seed(layers * 10 + bidirectional)
    ours = rnn.LRU(F, H, layers, bidirectional=bidirectional, kernels="numba", dtype=dtype,
                   r_min=0.5, **options)
    x = torch.randn(B, T, F, dtype=dtype)
    h0 = torch.randn(layers * (2 if bidirectional else 1), B, ours.cell().state_size,
                     dtype=dtype)
    assert ours.backend == "numba"
    got_all = _run(ours, x, h0, lengths)
    for reference in references:
        theirs = rnn.LRU(F, H, layers, bidirectional=bidirectional, dtype=dtype, **options,
                         **reference)
        theirs.load_state_dict(ours.state_dict())
        assert theirs.backend != "numba"
        for got, expected in zip(got_all, _run(theirs, x, h0, lengths), strict=True):
            assert got.shape == expected.shape
            err = (got - expected).abs().max().item() / max(1.0, expected.abs().max().item())
            assert err <= tol, f"{reference}: {err:.3g} > {tol}"


VARIANTS = [
    pytest.param({"state_size": 2}, id="complex"),
    pytest.param({"complex": False}, id="real"),
]
CASES = [
    pytest.param(1, False, None, id="uni"),
    pytest.param(1, True, LENGTHS, id="bi-lengths"),
    pytest.param(2, True, LENGTHS, id="two-layers-bi-lengths"),
    pytest.param(2, False, torch.tensor([2, 7, 7, 0, 5]), id="two-layers-uni-lengths"),
]


@pytest.mark.parametrize("options", VARIANTS)
@pytest.mark.parametrize(("layers", "bidirectional", "lengths"), CASES)
def test_kernel_matches_torch_scan_and_step_form_float64(
    options: dict[str, Any], layers: int, bidirectional: bool, lengths: Any
) -> None:
    references = [{"kernels": "torch"}, {"fused": False}]
    _compare(options, layers, bidirectional, lengths, torch.float64, references, 1e-10)


@pytest.mark.parametrize("options", VARIANTS)
def test_kernel_agrees_with_torch_scan_in_float32(options: dict[str, Any]) -> None:
    _compare(options, 2, True, LENGTHS, torch.float32, [{"kernels": "torch"}], 1e-5)


def _inputs(complex_: bool, batch: int, steps: int, units: int, directions: int,
            dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, ...]:
    width = 2 * units if complex_ else units
    bu = torch.randn(batch, steps, directions * width, dtype=dtype, requires_grad=True)
    lam_re = (0.9 * torch.rand(directions, units, dtype=dtype)).requires_grad_()
    lam_im = (0.4 * torch.randn(directions, units, dtype=dtype)).requires_grad_()
    h0 = torch.randn(directions, batch, width, dtype=dtype, requires_grad=True)
    return (bu, lam_re, lam_im, h0) if complex_ else (bu, lam_re, h0)


@pytest.mark.parametrize("complex_", [True, False], ids=["complex", "real"])
def test_gradcheck(complex_: bool) -> None:
    torch.manual_seed(4)
    inputs = _inputs(complex_, 3, 4, 2, 2)
    lengths = torch.tensor([4, 0, 2])

    def fn(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        bu, lam_re, *rest = args
        lam_im = rest[0] if complex_ else None
        return lru_recurrence(bu, lam_re, lam_im, rest[-1], lengths, threads=1)

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-8)


def test_results_do_not_depend_on_the_thread_count() -> None:
    torch.manual_seed(2)
    bu, lam_re, lam_im, h0 = _inputs(True, 48, 6, 8, 2, torch.float32)
    lengths = torch.randint(0, 7, (48,))
    results = []
    for threads in (1, 2, 3):
        states, h_n = lru_recurrence(bu, lam_re, lam_im, h0, lengths, threads=threads)
        loss = states.square().sum() + h_n.sum()
        results.append([states, h_n, *torch.autograd.grad(loss, [bu, lam_re, lam_im, h0])])
    for other in results[1:]:
        assert all(torch.equal(a, b) for a, b in zip(results[0], other, strict=True))


def test_choice_of_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rnn.LRU(4, 8).backend == "numba"
    assert rnn.LRU(4, 8, complex=False).backend == "numba"
    assert rnn.LRU(4, 8, kernels="torch").backend == "scan"
    assert rnn.LRU(4, 8, scan="sequential").backend == "scan"  # an explicit scan method is kept
    assert rnn.LRU(4, 8, fused=False).backend == "loop"
    assert dispatch.numba_preferred("lru", hidden_size=4096)
    monkeypatch.setenv("RNNKIT_KERNELS", "torch")
    assert rnn.LRU(4, 8).backend == "scan"
    assert rnn.LRU(4, 8, kernels="numba").backend == "numba"


def test_generation_steps_run_on_the_kernel_and_match_the_step_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    used: list[str] = []
    real = dispatch.kernels_for
    monkeypatch.setattr(dispatch, "kernels_for", lambda *a: used.append(a[0]) or real(*a))
    torch.manual_seed(3)
    layer = rnn.LRU(F, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    reference = rnn.LRU(F, H, num_layers=2, bidirectional=True, kernels="torch",
                        dtype=torch.float64)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(B, T, F, dtype=torch.float64)
    state = expected_state = None
    with torch.no_grad():
        for t in range(3):
            y, state = layer(x[:, t : t + 1], initial_state=state)
            expected, expected_state = reference(x[:, t : t + 1], initial_state=expected_state)
            torch.testing.assert_close(y, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(state, expected_state, rtol=0, atol=1e-12)
    assert used == ["lru"] * 3


def test_calls_without_autograd_follow_parameter_changes() -> None:
    """The no-grad path reuses its derived weights (γ B, λ, [C_re | -C_im]) between calls, and
    must drop them after an in-place update, a state_dict load or a dtype change."""
    torch.manual_seed(6)
    layer = rnn.LRU(F, H, bidirectional=True)
    reference = rnn.LRU(F, H, bidirectional=True, kernels="torch")
    x = torch.randn(B, T, F)

    def agree() -> None:
        reference.load_state_dict(layer.state_dict())
        with torch.no_grad():
            torch.testing.assert_close(layer(x)[0], reference(x)[0], rtol=0, atol=1e-5)

    agree()
    with torch.no_grad():
        layer.nu_log_l0_reverse.add_(0.3)
        layer.B_im_l0.mul_(-2.0)
    agree()
    layer.load_state_dict(rnn.LRU(F, H, bidirectional=True).state_dict())
    agree()
    layer.double()
    reference.double()
    x = x.double()
    agree()


def test_an_empty_batch_runs_as_on_the_torch_path() -> None:
    layer = rnn.LRU(F, H, bidirectional=True)
    x = torch.randn(0, T, F, requires_grad=True)
    out, h = layer(x)
    (out.sum() + h.sum()).backward()
    assert layer.backend == "numba"
    assert (out.shape, h.shape, x.grad.shape) == ((0, T, 2 * H), (2, 0, 2 * H), (0, T, F))
