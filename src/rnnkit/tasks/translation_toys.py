"""The toy translation tasks, kept here for the examples and tutorials that import them from
``rnnkit.tasks``; they live in :mod:`rnnkit.data.toy_pairs` (``rnnkit data get dates`` writes
the date pairs as files).

Example:
    >>> date_pairs(1, seed=3)[1][0][4]
    '-'
"""

from __future__ import annotations

from rnnkit.data.toy_pairs import addition_pairs, date_pairs, reversal_pairs

__all__ = ["reversal_pairs", "addition_pairs", "date_pairs"]
