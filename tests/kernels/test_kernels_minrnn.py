"""The fused minGRU/minLSTM kernels against the torch scan path and the step form: outputs, final
states and every gradient (x, h0, weights) in float64 to 1e-10 and float32 to 1e-5 (relative to each
tensor's largest value when above 1); thread-count
independence; gradcheck; the choice of backend and the fallback after a compile failure.
(The step-form parity with two bidirectional layers and an empty sequence is also in
tests/nn/test_nn_scan_layers.py, ``*_numba``.)"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
from kernel_testutils import outputs_and_gradients as _run

from rnnkit import nn as rnn
from rnnkit.nn.kernels import dispatch, minrnn
from rnnkit.nn.kernels.minrnn_autograd import linear_recurrent

B, T, F, H = 5, 7, 4, 3
LAYERS = {"mingru": rnn.MinGRU, "minlstm": rnn.MinLSTM}


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RNNKIT_KERNELS", raising=False)


def _compare(kind: str, layers: int, bidirectional: bool, lengths: Any, dtype: torch.dtype,
             reference: dict[str, Any], tol: float) -> None:
    torch.manual_seed(layers * 10 + bidirectional)
    cls = LAYERS[kind]
    ours = cls(F, H, layers, bidirectional=bidirectional, kernels="numba", dtype=dtype)
    with torch.no_grad():  # pre-activations on both sides of g's kink, gates far from 1/2
        for p in ours.parameters():
            p.uniform_(-1.5, 1.5)
    theirs = cls(F, H, layers, bidirectional=bidirectional, dtype=dtype, **reference)
    theirs.load_state_dict(ours.state_dict())
    assert ours.backend == "numba" and theirs.backend != "numba"
    x = torch.randn(B, T, F, dtype=dtype) * 2
    h0 = torch.randn(layers * (2 if bidirectional else 1), B, H, dtype=dtype)
    for got, expected in zip(_run(ours, x, h0, lengths), _run(theirs, x, h0, lengths),
                             strict=True):
        assert got.shape == expected.shape
        err = (got - expected).abs().max().item() / max(1.0, expected.abs().max().item())
        assert err <= tol, f"{err:.3g} > {tol}"  # relative to the largest value, at least 1


CASES = [
    pytest.param(1, False, None, id="uni"),
    pytest.param(1, True, None, id="bi"),
    pytest.param(1, True, torch.tensor([7, 3, 0, 1, 6]), id="bi-lengths"),
    pytest.param(2, True, torch.tensor([7, 3, 0, 1, 6]), id="two-layers-lengths"),
    pytest.param(2, False, torch.tensor([2, 7, 7, 0, 5]), id="two-layers-uni-lengths"),
]


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize(("layers", "bidirectional", "lengths"), CASES)
def test_kernel_matches_torch_scan_and_step_form_float64(
    kind: str, layers: int, bidirectional: bool, lengths: Any
) -> None:
    for reference in ({"kernels": "torch"}, {"fused": False}):
        _compare(kind, layers, bidirectional, lengths, torch.float64, reference, 1e-10)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_kernel_agrees_with_torch_scan_in_float32(kind: str) -> None:
    _compare(kind, 2, True, torch.tensor([7, 3, 0, 1, 6]), torch.float32, {"kernels": "torch"},
             1e-5)


def test_minlstm_keeps_its_ratio_where_the_gates_underflow() -> None:
    """Pre-activations below -88 (exp(-x) overflows in float32): the kernel's f' is the limit
    σ(x_f - x_i), as the float64 step form gives (where nothing underflows yet)."""
    gx = torch.tensor([[[-200.0, -201.0, 1.0], [-120.0, -90.0, -1.0], [-95.0, 3.0, 2.0]]],
                      dtype=torch.float64)
    cell = rnn.MinLSTM(1, 1, dtype=torch.float64).cell()
    state = torch.full((1, 1), 0.5, dtype=torch.float64)
    expected = []
    for t in range(3):
        state, _, _ = cell.step_with_gates(gx[:, t], state)
        expected.append(float(state))
    for dtype in (torch.float32, torch.float64):
        out, _ = linear_recurrent("minlstm", gx.to(dtype), torch.full((1, 1, 1), 0.5, dtype=dtype),
                                  torch.tensor([3]))
        got = out[0, :, 0].double()
        assert torch.allclose(got, torch.tensor(expected, dtype=torch.float64), atol=1e-6), dtype


@pytest.mark.parametrize("kind", list(LAYERS))
def test_results_do_not_depend_on_the_thread_count(kind: str) -> None:
    torch.manual_seed(2)
    gates = 2 if kind == "mingru" else 3
    gx = torch.randn(48, 6, 2 * gates * 8, requires_grad=True)
    h0 = torch.randn(2, 48, 8, requires_grad=True)
    lengths = torch.randint(0, 7, (48,))
    results = []
    for threads in (1, 2, 3):
        out, h_n = linear_recurrent(kind, gx, h0, lengths, threads=threads)
        grads = torch.autograd.grad((out.square().sum() + h_n.sum()), [gx, h0])
        results.append([out, h_n, *grads])
    for other in results[1:]:
        assert all(torch.equal(a, b) for a, b in zip(results[0], other, strict=True))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_prefetch_in_the_backward_changes_no_bit(kind: str) -> None:
    # the rule turns the prefetch on for narrow layers only; a prefetch never changes a result
    torch.manual_seed(3)
    gates = 2 if kind == "mingru" else 3
    rng = np.random.default_rng(3)
    gx = rng.standard_normal((6, 40, 2 * gates * 8)).astype(np.float32)
    out = rng.standard_normal((6, 40, 16)).astype(np.float32)
    dout, h0 = rng.standard_normal(out.shape).astype(np.float32), np.zeros((2, 6, 8), np.float32)
    lengths = np.array([40, 39, 12, 1, 0, 33])
    backward = minrnn.mingru_backward if kind == "mingru" else minrnn.minlstm_backward
    results = []
    for prefetch in (True, False):
        dgx, dh0 = np.zeros_like(gx), np.zeros_like(h0)
        for direction in (0, 1):
            backward(dout, h0 + 1, gx, out, h0, lengths, prefetch, direction, 0, 6, dgx, dh0)
        results.append((dgx, dh0))
    assert all(np.array_equal(a, b) for a, b in zip(*results, strict=True))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_gradcheck(kind: str) -> None:
    torch.manual_seed(4)
    gates = 2 if kind == "mingru" else 3
    gx = torch.randn(3, 4, 2 * gates * 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([4, 0, 2])

    def fn(gx: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return linear_recurrent(kind, gx, h0, lengths, threads=1)

    assert torch.autograd.gradcheck(fn, (gx, h0), eps=1e-6, atol=1e-8)


def test_choice_of_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in LAYERS.values():
        assert cls(4, 8).backend == "numba"
        assert cls(4, 8, kernels="torch").backend == "scan"
        assert cls(4, 8, scan="log").backend == "scan"  # an explicit scan method is kept
        assert cls(4, 8, fused=False).backend == "loop"
    assert rnn.LRU(4, 8).backend == "numba"  # more in test_kernels_lru.py
    monkeypatch.setenv("RNNKIT_KERNELS", "torch")
    assert rnn.MinGRU(4, 8).backend == "scan"
    assert rnn.MinGRU(4, 8, kernels="numba").backend == "numba"


def test_single_steps_keep_the_step_form(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []
    real = dispatch.kernels_for
    monkeypatch.setattr(dispatch, "kernels_for", lambda *a: used.append(a[0]) or real(*a))
    layer = rnn.MinGRU(4, 8)
    with torch.no_grad():
        layer(torch.randn(2, 1, 4))
        assert used == []
        layer(torch.randn(2, 3, 4))
    assert used == ["mingru"]


def test_compile_failure_falls_back_to_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ImportError("simulated: numba cannot compile here")

    layer = rnn.MinLSTM(4, 3, bidirectional=True, dtype=torch.float64)
    reference = rnn.MinLSTM(4, 3, bidirectional=True, kernels="torch", dtype=torch.float64)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    lengths = torch.tensor([5, 3])
    dispatch.reset()
    monkeypatch.setattr(dispatch, "_load", broken)
    try:
        with pytest.warns(RuntimeWarning, match="numba kernels unavailable"):
            out, h = layer(x, lengths=lengths)
        assert layer.backend == "scan"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a second call stays silent
            rnn.MinGRU(4, 3, dtype=torch.float64)(x)
        ref_out, ref_h = reference(x, lengths=lengths)
        assert torch.allclose(out, ref_out, atol=1e-12) and torch.allclose(h, ref_h, atol=1e-12)
    finally:
        dispatch.reset()
    assert layer.backend == "numba"
