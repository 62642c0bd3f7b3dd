"""rnnkit.scratch's scan and minGRU: the chunked scan equals the loop, the hand-derived backward
passes finite differences, and MinGRULayer matches rnnkit.nn.MinGRU (both of its executions) to
1e-10 in float64 -- outputs, final states and gradients, with lengths and both directions.
(Tests may import torch; the package rnnkit.scratch itself never does.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit.nn as rnn_nn
from rnnkit.scratch import (
    MinGRULayer,
    ScratchError,
    linear_scan,
    linear_scan_backward,
    numerical_gradient,
    relative_error,
)

B, T, F, H = 3, 7, 3, 4
ATOL = 1e-10


def _loop(a: np.ndarray, b: np.ndarray, h0: np.ndarray) -> np.ndarray:
    h, states = h0, []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        states.append(h)
    return np.stack(states)


def _coefficients(complex_: bool, steps: int = T) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    a = rng.uniform(-0.2, 1.1, size=(steps, B, H))
    b = rng.normal(size=(steps, B, H))
    h0 = rng.normal(size=(B, H))
    if complex_:
        a = a * np.exp(1j * rng.uniform(0, 6, size=a.shape))
        b, h0 = b * (1 + 0.5j), h0 * (1 - 1j)
    return a, b, h0


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_chunked_scan_equals_the_loop(complex_: bool) -> None:
    for steps in (1, 2, 9, 30):
        a, b, h0 = _coefficients(complex_, steps)
        for chunk_size in (None, 1, 2, 4, 50):
            np.testing.assert_allclose(linear_scan(a, b, h0, chunk_size), _loop(a, b, h0),
                                       rtol=0, atol=1e-12)
    with pytest.raises(ScratchError, match="a, b"):
        linear_scan(a, b[:-1])


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_scan_backward_matches_finite_differences(complex_: bool) -> None:
    a, b, h0 = _coefficients(complex_)
    probe = np.random.default_rng(1).normal(size=a.shape)
    da, db, dh0 = linear_scan_backward(a, linear_scan(a, b, h0), h0, probe)
    for array, grad in [(a, da), (b, db), (h0, dh0)]:
        # A complex array is perturbed through its (real, imaginary) pairs; the backward returns
        # dL/dRe + i dL/dIm of the real loss (PyTorch's convention).
        view = array.view(np.float64)
        numeric = numerical_gradient(
            lambda: float(np.real(probe * linear_scan(a, b, h0)).sum()), view
        )
        analytic = np.stack([grad.real, grad.imag], -1).reshape(view.shape) if complex_ else grad
        assert relative_error(numeric, analytic) < 1e-7


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_mingru_backward_matches_finite_differences(reverse: bool) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(B, T, F))
    lengths = np.array([T, 3, 0])
    layer = MinGRULayer(F, H, reverse=reverse, dtype=np.float64, rng=3)
    h0 = rng.normal(size=(1, B, H))
    out, state = layer(x, lengths, h0)
    d_out, d_state = rng.normal(size=out.shape), rng.normal(size=state.shape)
    layer.zero_grad()
    dx, d_h0 = layer.backward(d_out, d_state)

    def loss() -> float:
        o, s = layer(x, lengths, h0)
        return float((o * d_out).sum() + (s * d_state).sum())

    for name, value in layer.params.items():
        assert relative_error(numerical_gradient(loss, value), layer.grads[name]) < 1e-7
    assert relative_error(numerical_gradient(loss, x), dx) < 1e-7
    assert relative_error(numerical_gradient(loss, h0), d_h0) < 1e-7


@pytest.mark.parametrize("fused", [None, False], ids=["scan", "step"])
def test_mingru_matches_rnnkit_nn_both_directions(fused: bool | None) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(B, T, F))
    lengths = np.array([T, 4, 0])
    forward = MinGRULayer(F, H, dtype=np.float64, rng=5)
    backward = MinGRULayer(F, H, reverse=True, dtype=np.float64, rng=6)
    layer = rnn_nn.MinGRU(F, H, bidirectional=True, fused=fused, dtype=torch.float64)
    weights = {**forward.state_dict(), **backward.state_dict()}
    layer.load_state_dict({name: torch.from_numpy(value) for name, value in weights.items()})
    xt = torch.from_numpy(x).requires_grad_()
    out, h = layer(xt, lengths=torch.from_numpy(lengths))
    d_out = rng.normal(size=tuple(out.shape))
    d_state = rng.normal(size=tuple(h.shape))
    ((out * torch.from_numpy(d_out)).sum() + (h * torch.from_numpy(d_state)).sum()).backward()

    out_f, h_f = forward(x, lengths)
    out_b, h_b = backward(x, lengths)
    np.testing.assert_allclose(np.concatenate([out_f, out_b], -1), out.detach(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(np.concatenate([h_f, h_b]), h.detach(), rtol=0, atol=ATOL)
    dx_f, _ = forward.backward(d_out[..., :H], d_state[:1])
    dx_b, _ = backward.backward(d_out[..., H:], d_state[1:])
    np.testing.assert_allclose(dx_f + dx_b, xt.grad, rtol=0, atol=ATOL)
    grads = {**forward.gradients(), **backward.gradients()}
    for name, param in layer.named_parameters():
        np.testing.assert_allclose(grads[name], param.grad, rtol=0, atol=ATOL)
