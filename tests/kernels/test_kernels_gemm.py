"""The input projection on oneDNN's GEMM: same values and gradients as F.linear, any threads."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

from rnnkit.nn.kernels import gemm


def _grads(fn, x, w, b):  # type: ignore[no-untyped-def]
    x, w = x.clone().requires_grad_(), w.clone().requires_grad_()
    b = None if b is None else b.clone().requires_grad_()
    out = fn(x, w, b)
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    return [out, x.grad, w.grad] + ([] if b is None else [b.grad])


@pytest.mark.parametrize("shape", [(300, 64), (8, 40, 64), (0, 64), (3, 64), (9000, 2),
                                   (30, 400, 10)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_matches_f_linear_values_and_gradients(shape: tuple[int, ...], with_bias: bool) -> None:
    torch.manual_seed(0)
    x, w = torch.randn(*shape), torch.randn(72, shape[-1])
    b = torch.randn(72) if with_bias else None
    ours = _grads(gemm.linear, x, w, b)
    reference = _grads(F.linear, x, w, b)
    rows = x.numel() // x.shape[-1]
    atol = 1e-4 * max(1.0, (rows / 300) ** 0.5)  # float32 sums over the rows, in another order
    for a, r in zip(ours, reference, strict=True):
        torch.testing.assert_close(a, r, rtol=1e-5, atol=atol)


def test_runs_on_onednn_for_float32_and_falls_back_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not gemm.available():
        pytest.skip("this torch has no oneDNN linear")
    calls: list[str] = []
    real = gemm._onednn
    monkeypatch.setattr(gemm, "_onednn", lambda *a: calls.append("onednn") or real(*a))
    x, w = torch.randn(512, 64, requires_grad=True), torch.randn(64, 64, requires_grad=True)
    gemm.linear(x, w).sum().backward()
    assert calls == ["onednn", "onednn"]  # forward and the input gradient
    gemm.linear(x.double(), w.double())  # float64: F.linear
    gemm.linear(torch.randn(3, 4), torch.randn(2, 4))  # too small to pay for the call
    plain_x, plain_w = torch.randn(512, 64), torch.randn(64, 64)
    with warnings.catch_warnings():  # torch.jit.trace is deprecated; exports still use it
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(lambda a: gemm.linear(a, plain_w), (plain_x,), check_trace=False)
    assert calls == ["onednn", "onednn"]
    torch.testing.assert_close(traced(plain_x), F.linear(plain_x, plain_w), rtol=1e-5, atol=1e-4)


def test_narrow_inputs_take_the_transposed_weight_gradient() -> None:
    x, dy = torch.randn(5000, 2), torch.randn(5000, 96)
    for k in (2, gemm.NARROW_INPUT - 1, gemm.NARROW_INPUT):
        x = torch.randn(5000, k)
        dw = gemm.weight_gradient(dy, x)
        assert dw.shape == (96, k) and dw.is_contiguous()
        torch.testing.assert_close(dw, dy.t() @ x, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("features", [48, 2])
def test_one_and_two_threads_give_identical_results(features: int) -> None:
    torch.manual_seed(1)
    x, w, b = torch.randn(3000, features), torch.randn(96, features), torch.randn(96)
    threads = torch.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            results.append(_grads(gemm.linear, x, w, b))
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(*results, strict=True))
