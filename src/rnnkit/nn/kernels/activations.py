"""Activations for the numba kernels: vectorizable tanh and exp in float32, exact in float64.

``tanh(x)``, ``sigmoid(x)`` and ``exp(x)`` are numba-overloaded on the argument's type:

- float32: tanh is the odd/even rational function of degree 13/6 used by Eigen and XLA
  (clamped at |x| = 7.9053, ``x`` itself below |x| = 0.0004, exactly +-1 from |x| = 9, NaN in ->
  NaN out). It has no libm call and no branch, so LLVM vectorizes the loops around it (1.5-1.9x
  faster kernels than ``math.tanh``). Measured against the exact function on every float32 in
  [-10, 10] (see ``tests/kernels/test_kernels_activations.py``): at most :data:`TANH_MAX_ULP` ulp
  of the exact value, relative error below :data:`TANH_MAX_REL`.
  ``sigmoid(x) = 0.5 + 0.5 * tanh(x / 2)``: absolute error below :data:`SIGMOID_MAX_ABS`
  everywhere; relative error below :data:`SIGMOID_MAX_REL` for x >= -4 (it grows for very
  negative x where sigmoid is tiny; training never notices, the absolute error is what counts).
- float32 ``exp`` (the selective scan's decays, one per state element and step): numba calls
  libm's scalar ``exp`` (no SVML here), which stops LLVM from vectorizing the loop around it;
  instead Cody-Waite range reduction (x = k ln2 + r, |r| <= ln2/2), a degree-7 Taylor polynomial
  of exp(r) and 2**k built from its bits: within 2 ulp of the exact value on [-87, 88] (inputs
  are clamped to it; below, the smallest normal number replaces 0).
- float64: exact ``math.tanh``, ``1 / (1 + exp(-x))`` (as torch) and ``math.exp``, so float64
  runs match torch.nn to 1e-10.

Example:
    >>> import numpy as np
    >>> from rnnkit.nn.kernels.activations import tanh_array
    >>> float(tanh_array(np.array([20.0], np.float32))[0])
    1.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

# Documented and tested error bounds of the float32 approximations (against float64 exact).
TANH_MAX_ULP = 5
TANH_MAX_REL = 3e-7
SIGMOID_MAX_ABS = 2e-7
SIGMOID_MAX_REL = 6e-6

_f = np.float32
_CLAMP = _f(7.90531110763549805)
_TINY = _f(0.0004)
_SATURATE = _f(9.0)
_ONE = _f(1.0)
_HALF = _f(0.5)
_A1 = _f(4.89352455891786e-03)
_A3 = _f(6.37261928875436e-04)
_A5 = _f(1.48572235717979e-05)
_A7 = _f(5.12229709037114e-08)
_A9 = _f(-8.60467152213735e-11)
_A11 = _f(2.00018790482477e-13)
_A13 = _f(-2.76076847742355e-16)
_B0 = _f(4.89352518554385e-03)
_B2 = _f(2.26843463243900e-03)
_B4 = _f(1.18534705686654e-04)
_B6 = _f(1.19825839466702e-06)
_LOW, _HIGH = _f(-87.0), _f(88.0)
_LOG2E = _f(1.4426950408889634)
_LN2_HI, _LN2_LO = _f(0.693359375), _f(-2.12194440e-4)
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7 = (_f(1.0 / math.factorial(i)) for i in range(8))


def _tanh_f32(x):  # type: ignore[no-untyped-def]
    # Comparisons are false for NaN, so a NaN passes through unclamped and stays NaN.
    c = x
    if c > _CLAMP:
        c = _CLAMP
    if c < -_CLAMP:
        c = -_CLAMP
    x2 = c * c
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    p = c * p
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    y = p / q
    ax = abs(x)
    if ax < _TINY:
        y = x
    if ax >= _SATURATE:
        y = _ONE if x > 0 else -_ONE
    return y


def _sigmoid_f32(x):  # type: ignore[no-untyped-def]
    return _HALF + _HALF * tanh(_HALF * x)


def _tanh_exact(x):  # type: ignore[no-untyped-def]
    return math.tanh(x)


def _sigmoid_exact(x):  # type: ignore[no-untyped-def]
    return 1.0 / (1.0 + math.exp(-x))


def tanh(x: float) -> float:
    """tanh for the kernels (pure-Python reference; inside numba the overload below runs)."""
    return math.tanh(x)


def sigmoid(x: float) -> float:
    """Logistic sigmoid for the kernels (pure-Python reference; numba uses the overload)."""
    return 1.0 / (1.0 + math.exp(-x))


def _by_precision(reference: Any, f32: Any, exact: Any) -> None:
    """Overload ``reference`` inside numba: ``f32`` for a float32 argument, ``exact`` otherwise."""

    def choose(x):  # type: ignore[no-untyped-def]
        return f32 if isinstance(x, types.Float) and x.bitwidth == 32 else exact

    overload(reference, jit_options={"fastmath": {"contract"}, "error_model": "numpy"})(choose)


_by_precision(tanh, _tanh_f32, _tanh_exact)
_by_precision(sigmoid, _sigmoid_f32, _sigmoid_exact)


@njit(cache=True, error_model="numpy")
def tanh_array(x: np.ndarray) -> np.ndarray:
    """The kernels' tanh applied element-wise to a 1-D array (for tests and inspection)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = tanh(x[i])
    return out


@njit(cache=True, error_model="numpy")
def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """The kernels' sigmoid applied element-wise to a 1-D array (for tests and inspection)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = sigmoid(x[i])
    return out


@intrinsic
def _float32_from_bits(typingctx, bits):  # type: ignore[no-untyped-def]
    """Reinterpret an int32 as a float32 (a bitcast, which LLVM vectorizes)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


def _exp_f32(x):  # type: ignore[no-untyped-def]
    c = x
    if c < _LOW:
        c = _LOW
    if c > _HIGH:
        c = _HIGH
    k = math.floor(c * _LOG2E + _f(0.5))
    r = (c - k * _LN2_HI) - k * _LN2_LO
    p = r * _C7 + _C6
    p = r * p + _C5
    p = r * p + _C4
    p = r * p + _C3
    p = r * p + _C2
    p = r * p + _C1
    p = r * p + _C0
    return p * _float32_from_bits((np.int32(k) + np.int32(127)) << np.int32(23))


def _exp_exact(x):  # type: ignore[no-untyped-def]
    return math.exp(x)


def exp(x: float) -> float:
    """exp for the kernels (pure-Python reference; inside numba the overload below runs)."""
    return math.exp(x)


_by_precision(exp, _exp_f32, _exp_exact)


@njit(cache=True, error_model="numpy")
def exp_array(x: np.ndarray) -> np.ndarray:
    """The kernels' exp applied element-wise to a 1-D array (for tests and inspection)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = exp(x[i])
    return out
