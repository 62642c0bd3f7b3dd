"""The kernels' activations: float32 rational tanh within a few ulp, exact saturation, NaN kept;
float64 exact."""

from __future__ import annotations

import math

import numpy as np
import torch

from rnnkit.nn.kernels.activations import (
    SIGMOID_MAX_ABS,
    SIGMOID_MAX_REL,
    TANH_MAX_REL,
    TANH_MAX_ULP,
    sigmoid_array,
    tanh_array,
)


def _grid() -> np.ndarray:
    dense = np.linspace(-12.0, 12.0, 2_000_001, dtype=np.float32)
    tiny = np.geomspace(1e-30, 1e-2, 20_000).astype(np.float32)
    return np.concatenate([dense, tiny, -tiny, np.float32([0.0, -0.0, 7.9053, 8.99, 9.0])])


def test_float32_tanh_is_within_a_few_ulp_of_exact_and_of_torch() -> None:
    x = _grid()
    ours = tanh_array(x).astype(np.float64)
    exact = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert (np.abs(ours - exact) / ulp).max() <= TANH_MAX_ULP
    nonzero = exact != 0
    assert (np.abs(ours - exact)[nonzero] / np.abs(exact[nonzero])).max() <= TANH_MAX_REL
    reference = torch.tanh(torch.from_numpy(x)).numpy().astype(np.float64)
    assert (np.abs(ours - reference) / ulp).max() <= TANH_MAX_ULP + 1


def test_float32_tanh_saturates_exactly_keeps_nan_and_sign() -> None:
    x = np.float32([9.0, 20.0, 1e30, np.inf, -9.0, -np.inf, np.nan, -0.0, 1e-20])
    y = tanh_array(x)
    assert y[:4].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert y[4:6].tolist() == [-1.0, -1.0]
    assert np.isnan(y[6])
    assert y[7] == 0.0 and np.signbit(y[7])
    assert y[8] == np.float32(1e-20)  # tiny inputs come back unchanged, like exact tanh
    grid = _grid()
    assert np.array_equal(tanh_array(-grid), -tanh_array(grid))  # odd


def test_float32_sigmoid_error_bounds() -> None:
    x = _grid()
    ours = sigmoid_array(x).astype(np.float64)
    exact = 1.0 / (1.0 + np.exp(-x.astype(np.float64)))
    assert np.abs(ours - exact).max() <= SIGMOID_MAX_ABS
    keep = x >= -4
    assert (np.abs(ours - exact)[keep] / exact[keep]).max() <= SIGMOID_MAX_REL
    assert sigmoid_array(np.float32([20.0, -20.0, np.nan]))[:2].tolist() == [1.0, 0.0]
    assert np.isnan(sigmoid_array(np.float32([np.nan]))[0])


def test_float64_activations_are_exact() -> None:
    x = np.linspace(-30.0, 30.0, 100_001)
    assert tanh_array(x).tolist() == [math.tanh(v) for v in x]  # libm's tanh, as torch's
    exact = np.tanh(x)  # NumPy's own SIMD tanh may differ from libm by an ulp or two
    assert (np.abs(tanh_array(x) - exact) <= 2 * np.spacing(np.abs(exact))).all()
    exact = 1.0 / (1.0 + np.exp(-x))
    assert np.abs(sigmoid_array(x) - exact).max() <= 1e-15
