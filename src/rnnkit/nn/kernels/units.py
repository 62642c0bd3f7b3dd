"""How a kernel call is split into work units: (direction, first row, stop row) blocks.

Blocks start at multiples of 8 rows (the products' row tiling), so results do not depend on the
thread count; each block has at least :data:`MIN_ROWS_PER_THREAD` rows (smaller ones cost more
in thread hand-off than they save).

Example:
    >>> from rnnkit.nn.kernels.units import work_units
    >>> work_units(128, 1, 2)
    [(0, 0, 64), (0, 64, 128)]
"""

from __future__ import annotations

import math

MIN_ROWS_PER_THREAD = 16


def work_units(batch: int, directions: int, threads: int) -> list[tuple[int, int, int]]:
    """(direction, first row, stop row) blocks: directions first, then rows split at multiples
    of 8 into at most ``threads`` parts per direction, each of at least 16 rows."""
    per_direction = max(1, min(math.ceil(threads / directions), batch // MIN_ROWS_PER_THREAD))
    step = max(8, math.ceil(batch / per_direction / 8) * 8)
    return [
        (d, start, min(start + step, batch))
        for d in range(directions)
        for start in range(0, batch, step)
    ]
