"""Small dense products for the per-step recurrence, written as loops LLVM vectorizes.

numba's ``np.dot`` needs SciPy's BLAS, which rnnkit does not depend on. Two loop orders for
``acc += rows @ M`` (acc (R, N), rows (R, K)), both measured on the benchmark shapes:

- :func:`add_product_axpy` (M given as (K, N)): N innermost and contiguous, unrolled four ways
  over K; best for small K (H < 64), e.g. 128 x 30 x 120 at ~60 GFLOP/s on one core.
- :func:`add_product_dot` (M given as (N, K)): 4 x 4 register tiles of dot products over K; best
  for K >= 64 (64 x 256 x 1024: ~180 GFLOP/s, faster than a torch.mm call on one core).

:func:`add_product` picks by the sizes alone. Each row's arithmetic depends only on its own
position modulo 4 in the block of rows passed, so callers split the batch between threads at
multiples of 8 and 1 or N threads give bit-identical results.

Example:
    >>> import numpy as np
    >>> from rnnkit.nn.kernels.linalg import add_product
    >>> m = np.arange(6.0).reshape(2, 3)
    >>> acc = np.zeros((1, 3)); add_product(acc, np.ones((1, 2)), m, np.ascontiguousarray(m.T))
    >>> acc.tolist()
    [[3.0, 5.0, 7.0]]
"""

from __future__ import annotations

import numpy as np
from numba import njit

FASTMATH = {"contract", "reassoc", "nsz"}
# Every kernel: cached to disk, releases the GIL (threads run blocks of rows), no Python-style
# ZeroDivisionError checks (they stop LLVM from vectorizing).
kernel = njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")


@kernel
def add_product_axpy(acc: np.ndarray, rows: np.ndarray, kn: np.ndarray) -> None:
    """``acc += rows @ kn`` for acc (R, N), rows (R, K), kn (K, N), all C-contiguous."""
    n_rows, n = acc.shape
    k_total = rows.shape[1]
    for r0 in range(0, n_rows, 8):
        r1 = min(r0 + 8, n_rows)
        k = 0
        while k + 4 <= k_total:
            for r in range(r0, r1):
                a0 = rows[r, k]
                a1 = rows[r, k + 1]
                a2 = rows[r, k + 2]
                a3 = rows[r, k + 3]
                for j in range(n):
                    acc[r, j] += (
                        a0 * kn[k, j] + a1 * kn[k + 1, j] + a2 * kn[k + 2, j] + a3 * kn[k + 3, j]
                    )
            k += 4
        while k < k_total:
            for r in range(r0, r1):
                a0 = rows[r, k]
                for j in range(n):
                    acc[r, j] += a0 * kn[k, j]
            k += 1


@kernel
def add_product_dot(acc: np.ndarray, rows: np.ndarray, nk: np.ndarray) -> None:
    """``acc += rows @ nk.T`` for acc (R, N), rows (R, K), nk (N, K), all C-contiguous."""
    n_rows, n = acc.shape
    k_total = rows.shape[1]
    zero = acc.dtype.type(0.0)
    r = 0
    while r + 4 <= n_rows:
        j = 0
        while j + 4 <= n:
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
            for k in range(k_total):
                a0 = rows[r, k]
                a1 = rows[r + 1, k]
                a2 = rows[r + 2, k]
                a3 = rows[r + 3, k]
                b0 = nk[j, k]
                b1 = nk[j + 1, k]
                b2 = nk[j + 2, k]
                b3 = nk[j + 3, k]
                s00 += a0 * b0
                s01 += a0 * b1
                s02 += a0 * b2
                s03 += a0 * b3
                s10 += a1 * b0
                s11 += a1 * b1
                s12 += a1 * b2
                s13 += a1 * b3
                s20 += a2 * b0
                s21 += a2 * b1
                s22 += a2 * b2
                s23 += a2 * b3
                s30 += a3 * b0
                s31 += a3 * b1
                s32 += a3 * b2
                s33 += a3 * b3
            acc[r, j] += s00
            acc[r, j + 1] += s01
            acc[r, j + 2] += s02
            acc[r, j + 3] += s03
            acc[r + 1, j] += s10
            acc[r + 1, j + 1] += s11
            acc[r + 1, j + 2] += s12
            acc[r + 1, j + 3] += s13
            acc[r + 2, j] += s20
            acc[r + 2, j + 1] += s21
            acc[r + 2, j + 2] += s22
            acc[r + 2, j + 3] += s23
            acc[r + 3, j] += s30
            acc[r + 3, j + 1] += s31
            acc[r + 3, j + 2] += s32
            acc[r + 3, j + 3] += s33
            j += 4
        while j < n:
            s0 = s1 = s2 = s3 = zero
            for k in range(k_total):
                b0 = nk[j, k]
                s0 += rows[r, k] * b0
                s1 += rows[r + 1, k] * b0
                s2 += rows[r + 2, k] * b0
                s3 += rows[r + 3, k] * b0
            acc[r, j] += s0
            acc[r + 1, j] += s1
            acc[r + 2, j] += s2
            acc[r + 3, j] += s3
            j += 1
        r += 4
    while r < n_rows:
        for j in range(n):
            s0 = zero
            for k in range(k_total):
                s0 += rows[r, k] * nk[j, k]
            acc[r, j] += s0
        r += 1


@kernel
def add_product(acc: np.ndarray, rows: np.ndarray, kn: np.ndarray, nk: np.ndarray) -> None:
    """``acc += rows @ kn`` with the same matrix also given transposed as ``nk`` (N, K)."""
    k_total = rows.shape[1]
    if k_total >= 64 or acc.shape[1] <= 32:
        add_product_dot(acc, rows, nk)
    else:
        add_product_axpy(acc, rows, kn)
