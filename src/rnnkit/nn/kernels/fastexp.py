"""exp for the selective scan's decays, vectorizable in float32 (numba).

numba calls libm's scalar ``exp`` (no SVML here), which stops LLVM from vectorizing a loop and
costs ~4 ns per element: in the selective scan (one exp per state element and step) it was most
of the time. In float32 :func:`exp` is instead Cody-Waite range reduction (x = k ln2 + r,
|r| <= ln2/2), a degree-7 Taylor polynomial of exp(r) and 2**k built from its bits: within
2 ulp of the exact value on [-87, 88] (inputs are clamped to it; below, the smallest normal
number replaces 0). float64 keeps ``math.exp``, so float64 runs match torch to 1e-10.

Example:
    >>> import numpy as np
    >>> from rnnkit.nn.kernels.fastexp import exp_array
    >>> x = np.linspace(-80, 80, 1001, dtype=np.float32)
    >>> bool(np.all(np.abs(exp_array(x) / np.exp(x.astype(np.float64)) - 1) < 3e-7))
    True
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

_f = np.float32
_LOW, _HIGH = _f(-87.0), _f(88.0)
_LOG2E = _f(1.4426950408889634)
_LN2_HI, _LN2_LO = _f(0.693359375), _f(-2.12194440e-4)
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7 = (_f(1.0 / math.factorial(i)) for i in range(8))


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


@overload(exp, jit_options={"fastmath": {"contract"}, "error_model": "numpy"})
def _exp_overload(x):  # type: ignore[no-untyped-def]
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return _exp_f32
    return _exp_exact


@njit(cache=True, error_model="numpy")
def exp_array(x: np.ndarray) -> np.ndarray:
    """The kernels' exp applied element-wise to a 1-D array (for tests and inspection)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = exp(x[i])
    return out
