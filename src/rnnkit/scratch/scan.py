"""The diagonal linear recurrence ``h_t = a_t * h_{t-1} + b_t`` as a scan, forward and backward.

Why it can run in parallel: one step is the affine map ``h -> a h + b``, written as the pair
``(a, b)``. Doing step 1 then step 2 is again such a map::

    a2 (a1 h + b1) + b2 = (a2 a1) h + (a2 b1 + b2)
    so  (a1, b1) then (a2, b2) = (a2 a1, a2 b1 + b2)

and this combination is associative: the T maps can be combined in any grouping, e.g. inside
chunks first and then across chunks (:func:`linear_scan`), or as a tree in log2(T) rounds. A
recurrence like the GRU's, ``h_t = f(W h_{t-1} + ...)`` with a nonlinear f, has no such closed
pair: composing two of its steps gives a new kind of function, so step t must wait for step t-1.

Backward, derived by hand. With ``g_t = dL/dh_t`` arriving from outside (the outputs), the
gradient reaching h_t also comes through h_{t+1} = a_{t+1} h_t + b_{t+1}::

    dh_t  = g_t + a_{t+1} dh_{t+1}        (dh_T = g_T): the same scan, run backwards in time
    db_t  = dh_t
    da_t  = dh_t h_{t-1}                  (h_0 = the initial state)
    dh0   = a_1 dh_1

so training a scan layer needs only a and the states h, and its backward is as parallel as its
forward. (For complex values, as in the LRU, every a and h on the right is conjugated.)

Shapes are time-major here, as in the scratch recurrent layers: a, b, h (T, B, S); h0 (B, S).

Example:
    >>> import numpy as np
    >>> a, b = np.full((4, 1, 1), 0.5), np.ones((4, 1, 1))
    >>> linear_scan(a, b)[:, 0, 0].tolist()
    [1.0, 1.5, 1.75, 1.875]
    >>> h0 = np.zeros((1, 1))
    >>> da, db, dh0 = linear_scan_backward(a, linear_scan(a, b), h0, np.ones((4, 1, 1)))
    >>> db[:, 0, 0].tolist()    # dL/db_t = 1 + 0.5 + 0.25 + ... down to the last step
    [1.875, 1.75, 1.5, 1.0]
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ScratchError


def linear_scan(
    a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None, chunk_size: int | None = None
) -> np.ndarray:
    """All states of ``h_t = a_t h_{t-1} + b_t``: a, b (T, B, S) -> h (T, B, S).

    The chunked scan: every chunk of C steps runs from a zero state, all chunks at once
    (giving each chunk's end state and the product of its a's); a short loop over the chunks
    carries the true state across; every chunk then runs again from its true starting state.
    3C + T/C steps on (B, T/C, S) arrays instead of T steps on (B, S) ones.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 3:
        raise ScratchError(
            f"a, b: expected two (T, B, S) arrays of one shape, got {a.shape}, {b.shape}"
        )
    steps, batch, width = a.shape
    size = chunk_size or math.isqrt(max(steps - 1, 0)) + 1
    start = np.zeros((batch, width), np.result_type(a, b)) if h0 is None else h0
    chunks = steps // size
    h = np.empty(a.shape, np.result_type(a, b, start))
    if chunks < 2:
        _steps(h, a, b, start)
        return h
    body = chunks * size
    a_c = a[:body].reshape(chunks, size, batch, width)  # (N, C, B, S): step k of every chunk
    b_c = b[:body].reshape(chunks, size, batch, width)
    h_c = h[:body].reshape(chunks, size, batch, width)  # a view: writing h_c writes h
    end, product = b_c[:, 0].copy(), a_c[:, 0].copy()  # pass 1: each chunk from a zero state
    for k in range(1, size):
        end = a_c[:, k] * end + b_c[:, k]
        product = product * a_c[:, k]
    entering = np.empty_like(end)  # pass 2: the true state entering each chunk
    state = start
    for n in range(chunks):
        entering[n] = state
        state = product[n] * state + end[n]
    previous = entering  # pass 3: every chunk from its true entering state
    for k in range(size):
        h_c[:, k] = a_c[:, k] * previous + b_c[:, k]
        previous = h_c[:, k]
    if body < steps:
        _steps(h[body:], a[body:], b[body:], h[body - 1])
    return h


def _steps(h: np.ndarray, a: np.ndarray, b: np.ndarray, start: np.ndarray) -> None:
    """The plain loop: h[t] = a[t] * h[t-1] + b[t]."""
    previous = start
    for t in range(a.shape[0]):
        h[t] = a[t] * previous + b[t]
        previous = h[t]


def linear_scan_backward(
    a: np.ndarray, h: np.ndarray, h0: np.ndarray, d_h: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(da, db, dh0)`` of a scan from its a, its states h, its initial state h0 and
    ``d_h`` = dL/dh from outside (T, B, S): ``dh_t = g_t + a_{t+1} dh_{t+1}`` is itself a
    scan, run backwards in time (reversed arrays into :func:`linear_scan`)."""
    conj = np.conj if np.iscomplexobj(a) or np.iscomplexobj(h) else (lambda v: v)
    following = np.zeros_like(a)
    following[:-1] = conj(a[1:])  # a_{t+1} at step t
    dh = linear_scan(following[::-1], d_h[::-1])[::-1]
    previous = np.concatenate([h0[None], h[:-1]])
    return dh * conj(previous), dh, conj(a[0]) * dh[0]


__all__ = ["linear_scan", "linear_scan_backward"]
