"""SelectiveSSM's fused selective scan (rnnkit.nn.kernels.ssm): float64 parity with the torch
composition to 1e-10 (outputs, final states with lengths, gradients of x, h0 and every
parameter), gradcheck of the autograd Function, float32, thread-count independence, and the
backend rule (``kernels="torch"``/``RNNKIT_KERNELS``, ``scan="sequential"``)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rnnkit import nn as rnn
from rnnkit.nn.kernels.ssm_autograd import selective_scan

TOL = 1e-10


def _pair(dtype: torch.dtype, **options: Any) -> tuple[rnn.SelectiveSSM, rnn.SelectiveSSM]:
    """The same weights on the fused kernel and on the torch ops."""
    torch.manual_seed(0)
    fused = rnn.SelectiveSSM(3, 10, dtype=dtype, kernels="numba", **options)
    with torch.no_grad():  # larger steps than Mamba's init, so that the state does matter
        for name, p in fused.named_parameters():
            if name.startswith("dt_proj_bias"):
                p.add_(2.0)
    reference = rnn.SelectiveSSM(3, 10, dtype=dtype, kernels="torch", **options)
    reference.load_state_dict(fused.state_dict())
    return fused, reference


def _run(layer: rnn.SelectiveSSM, x: torch.Tensor, h0: torch.Tensor, **kwargs: Any) -> list:
    x = x.clone().requires_grad_()
    h0 = h0.clone().requires_grad_()
    out, h = layer(x, initial_state=h0, **kwargs)
    weights = torch.linspace(-1, 1, out.shape[-1], dtype=out.dtype)
    loss = (out * weights).sum() + (h**2).sum()
    return [out, h, *torch.autograd.grad(loss, [x, h0, *layer.parameters()])]


@pytest.mark.parametrize("lengths", [None, [11, 5, 0, 1, 2]])
def test_fused_scan_equals_the_torch_ops_in_float64_two_layers_both_directions(
    lengths: list[int] | None,
) -> None:
    # E = 20 channels: one full block of the backward's 16 and a partial one.
    fused, reference = _pair(torch.float64, num_layers=2, bidirectional=True, state_size=5)
    assert (fused.backend, reference.backend) == ("numba", "scan")
    torch.manual_seed(1)
    x = torch.randn(5, 11, 3, dtype=torch.float64)
    h0 = torch.randn(4, 5, fused.cell().state_size, dtype=torch.float64) * 0.5
    kwargs = {} if lengths is None else {"lengths": torch.tensor(lengths)}
    got, expected = _run(fused, x, h0, **kwargs), _run(reference, x, h0, **kwargs)
    assert len(got) == 2 + 2 + len(list(fused.parameters()))
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=TOL)
    if lengths is not None:
        assert torch.equal(got[1][:, 2], h0[:, 2])  # an empty sequence keeps its state


def test_without_a_conv_bias_the_fused_conv_matches_too() -> None:
    """bias=False: the fused path runs the blocks' convolution kernel with a zero bias."""
    fused, reference = _pair(torch.float64, bias=False)
    assert fused.cell().conv_bias is None
    torch.manual_seed(3)
    x = torch.randn(4, 9, 3, dtype=torch.float64)
    h0 = torch.randn(1, 4, fused.cell().state_size, dtype=torch.float64) * 0.5
    for a, b in zip(_run(fused, x, h0), _run(reference, x, h0), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=TOL)


def _scan_inputs(dtype: torch.dtype, batch: int, steps: int, channels: int, units: int) -> list:
    torch.manual_seed(2)
    return [
        torch.randn(batch, steps, channels, dtype=dtype),
        torch.rand(batch, steps, channels, dtype=dtype) + 0.1,
        -torch.rand(channels, units, dtype=dtype) * 2,
        torch.randn(batch, steps, units, dtype=dtype),
        torch.randn(batch, steps, units, dtype=dtype),
        torch.randn(channels, dtype=dtype),
        torch.randn(batch, channels, units, dtype=dtype),
    ]


def test_gradcheck_of_the_fused_scan_with_lengths() -> None:
    inputs = [t.requires_grad_() for t in _scan_inputs(torch.float64, 3, 4, 2, 3)]
    lengths = torch.tensor([4, 2, 0])
    assert torch.autograd.gradcheck(lambda *t: selective_scan(*t, lengths), inputs)


def test_float32_runs_close_to_float64_and_threads_do_not_change_the_bits() -> None:
    inputs = _scan_inputs(torch.float64, 40, 9, 20, 4)
    lengths = torch.tensor([9, 3, 0, 7] * 10)
    small = [t.float().requires_grad_() for t in inputs]
    exact = [t.clone().requires_grad_() for t in inputs]
    results = []
    for threads in (1, 2):
        y, h_n = selective_scan(*small, lengths, threads=threads)
        grads = torch.autograd.grad(y.sum() + h_n.sum(), small)
        results.append([y, h_n, *grads])
    assert all(torch.equal(a, b) for a, b in zip(*results, strict=True))
    y, h_n = selective_scan(*exact, lengths)
    grads = torch.autograd.grad(y.sum() + h_n.sum(), exact)
    for a, b in zip(results[0], [y, h_n, *grads], strict=True):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a.double(), b, rtol=1e-4, atol=1e-4)


def test_the_torch_ops_run_when_asked_for_or_for_another_scan_method(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rnnkit.nn.kernels import autograd

    calls: list[int] = []

    def counted(*args: Any) -> Any:
        calls.append(1)
        return selective_scan(*args)

    monkeypatch.setattr(autograd, "selective_scan", counted)
    x = torch.randn(2, 5, 3)
    for options, backend in (({}, "numba"), ({"scan": "sequential"}, "scan"),
                             ({"kernels": "torch"}, "scan")):
        layer = rnn.SelectiveSSM(3, 4, **options)
        assert layer.backend == backend
        before = len(calls)
        layer(x)
        assert len(calls) - before == (backend == "numba")
    monkeypatch.setenv("RNNKIT_KERNELS", "torch")
    layer = rnn.SelectiveSSM(3, 4)
    layer(x)
    assert layer.backend == "scan" and len(calls) == 1


def test_the_float32_exp_of_the_decays_is_within_two_ulp() -> None:
    import numpy as np

    from rnnkit.nn.kernels.activations import exp_array

    x = np.concatenate([np.linspace(-87, 88, 100_001), [0.0, -1e-8, 1e-8]]).astype(np.float32)
    exact = np.exp(x.astype(np.float64))
    assert np.abs(exp_array(x) / exact - 1).max() < 2 * 2.0**-23
    assert exp_array(np.array([-1e4], np.float32))[0] < 2e-38  # clamped: tiny, not 0
    doubles = np.array([-700.0, -1.5, 2.0])
    assert np.array_equal(exp_array(doubles), np.exp(doubles))  # float64: libm's exp
