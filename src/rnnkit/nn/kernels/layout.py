"""The batch-first layout the kernels share: flat views, a block's set-up and its final states.

Every kernel works on one direction and a block of batch rows ``[row_start, row_stop)`` of
arrays laid out (B, T, D*C) (both directions side by side in the last dimension):

- :func:`flat` gives the (B*T, D*C) view the step loops index with unsigned ints (a signed
  index costs a per-element negative-index fix-up that stops LLVM from vectorizing the gate
  loops: 2x slower), row ``b*T + t``;
- :func:`load_block` / :func:`store_block` copy the block's rows of a (D, B, H) state in and out;
- :func:`longest` is the number of steps the block runs;
- :func:`row_at` is the flat row of a sequence's s-th step in a direction (the one definition of
  "direction 1 runs each sequence from its last real step");
- :func:`zero_padding` writes the zeros of the padded steps (t >= length) in one direction's
  columns, which the step loops never visit.

Direct indexing only inside the step loops, no row views: a view updates the parent array's
reference count, an atomic that threads sharing the big arrays would fight over at every row
and step. These helpers run once per call, outside the loops.

Example:
    >>> import numpy as np
    >>> from rnnkit.nn.kernels.layout import flat, zero_padding
    >>> out = np.ones((2, 3, 4))
    >>> zero_padding(flat(out), np.array([3, 1]), 3, 0, 2, 2, 2)
    >>> out[1].tolist()
    [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
"""

from __future__ import annotations

import numpy as np

from rnnkit.nn.kernels.linalg import kernel


@kernel
def flat(a: np.ndarray) -> np.ndarray:
    """(B, T, C) -> (B*T, C) view."""
    return a.reshape(a.shape[0] * a.shape[1], a.shape[2])


@kernel
def load_block(state: np.ndarray, direction: int, row_start: int, rows: int) -> np.ndarray:
    """A new (rows, H) copy of ``state[direction, row_start : row_start + rows]``."""
    block = np.empty((rows, state.shape[2]), state.dtype)
    for r in range(rows):
        for k in range(state.shape[2]):
            block[r, k] = state[direction, row_start + r, k]
    return block


@kernel
def store_block(block: np.ndarray, state: np.ndarray, direction: int, row_start: int) -> None:
    """``state[direction, row_start : row_start + rows] = block``."""
    for r in range(block.shape[0]):
        for k in range(block.shape[1]):
            state[direction, row_start + r, k] = block[r, k]


@kernel
def longest(lengths: np.ndarray, row_start: int, row_stop: int) -> int:
    """The longest length in the block (0 for an empty block)."""
    steps = 0
    for b in range(row_start, row_stop):
        steps = max(steps, lengths[b])
    return steps


@kernel
def zero_padding(
    a2: np.ndarray, lengths: np.ndarray, steps: int, row_start: int, row_stop: int,
    offset: int, width: int,
) -> None:
    """Zero columns ``[offset, offset + width)`` of every padded step of the block's rows."""
    zero = a2.dtype.type(0.0)
    for b in range(row_start, row_stop):
        for t in range(lengths[b], steps):
            row = np.uint64(b * steps + t)
            for k in range(width):
                a2[row, np.uint64(offset + k)] = zero


@kernel
def row_at(b: int, steps: int, length: int, s: int, direction: int) -> int:
    """Flat row ``b*steps + t`` of the step sequence ``b`` (``length`` real steps) processes
    ``s``-th: ``t = s``, or ``t = length - 1 - s`` for direction 1; -1 outside ``0 <= s < length``
    (prefetching past either end asks for nothing)."""
    if s < 0 or s >= length:
        return -1
    t = length - 1 - s if direction == 1 else s
    return b * steps + t


@kernel
def previous_state(out2, h0, hp, b, steps, length, s, direction, off):  # type: ignore[no-untyped-def]
    """hp = the state before step s of row b: the state stored one step back in ``out2`` (the
    flat (B*T, C) outputs, state units from column ``off``), or ``h0[direction, b]``."""
    if s > 0:
        before = np.uint64(row_at(b, steps, length, s - 1, direction))
        for k in range(hp.shape[0]):
            hp[k] = out2[before, np.uint64(off + k)]
    else:
        for k in range(hp.shape[0]):
            hp[k] = h0[direction, b, k]
