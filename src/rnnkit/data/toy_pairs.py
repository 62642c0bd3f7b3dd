"""Toy translation pairs that prove the encoder-decoder machinery (and attention) works.

- :func:`reversal_pairs`: ``"d a c b"`` -> ``"b c a d"`` (space-separated symbols; word level).
  Without attention the whole input must squeeze through one state vector, so accuracy falls
  with length; with attention each output step looks at the input position it copies.
- :func:`addition_pairs`: ``"535+61"`` -> ``"596"`` (character level).
- :func:`date_pairs`: ``"March 5, 2021"`` (several human formats) -> ``"2021-03-05"``.

All are pure functions of a seed, returning ``(sources, targets)`` lists.

Example:
    >>> addition_pairs(2, seed=1)
    (['473+755', '511+950'], ['1228', '1461'])
    >>> reversal_pairs(1, min_length=3, max_length=3, seed=0)
    (['i g f'], ['f g i'])
"""

from __future__ import annotations

import datetime as dt

import numpy as np

SYMBOLS = "abcdefghijklmnopqrstuvwxyz"
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]
FIRST_DATE = dt.date(1950, 1, 1)
#: The dates of :func:`date_pairs`: 1950-01-01 to 2049-12-31.
DATE_SPAN_DAYS = dt.date(2049, 12, 31).toordinal() - FIRST_DATE.toordinal() + 1


def reversal_pairs(
    n: int, min_length: int = 5, max_length: int = 10, vocab: int = 10, seed: int = 0
) -> tuple[list[str], list[str]]:
    """``n`` random symbol sequences (lengths uniform in [min, max]) and their reversals."""
    rng = np.random.default_rng(seed)
    symbols = SYMBOLS[:vocab]
    sources, targets = [], []
    for _ in range(n):
        length = int(rng.integers(min_length, max_length + 1))
        seq = [symbols[i] for i in rng.integers(0, vocab, size=length)]
        sources.append(" ".join(seq))
        targets.append(" ".join(reversed(seq)))
    return sources, targets


def addition_pairs(n: int, digits: int = 3, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` sums ``"a+b"`` of non-negative integers with up to ``digits`` digits each."""
    rng = np.random.default_rng(seed)
    top = 10**digits
    a = rng.integers(0, top, size=n)
    b = rng.integers(0, top, size=n)
    return [f"{x}+{y}" for x, y in zip(a, b, strict=True)], [
        str(x + y) for x, y in zip(a, b, strict=True)
    ]


def _human(date: dt.date, style: int) -> str:
    month = MONTHS[date.month - 1]
    if style == 0:
        return f"{month} {date.day}, {date.year}"
    if style == 1:
        return f"{date.day} {month} {date.year}"
    if style == 2:
        return f"{month[:3]} {date.day} {date.year}"
    if style == 3:
        return f"{date.day:02d}/{date.month:02d}/{date.year}"
    if style == 4:
        return f"{date.strftime('%A')}, {month} {date.day}, {date.year}"
    return f"{date.day}.{date.month}.{date.year}"


def date_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` dates between 1950 and 2049 in human formats -> ISO ``YYYY-MM-DD`` (a date may come
    twice)."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, DATE_SPAN_DAYS, size=n)
    return _date_pairs(days, rng.integers(0, 6, size=n))


def distinct_date_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Like :func:`date_pairs`, but every date comes once (``n`` <= ``DATE_SPAN_DAYS``), so the
    first k pairs and the rest share no date: a train/test split with nothing in both.

    Example:
        >>> sources, targets = distinct_date_pairs(1000, seed=0)
        >>> len(set(targets))
        1000
    """
    rng = np.random.default_rng(seed)
    days = rng.choice(DATE_SPAN_DAYS, size=n, replace=False)
    return _date_pairs(days, rng.integers(0, 6, size=n))


def _date_pairs(days: np.ndarray, styles: np.ndarray) -> tuple[list[str], list[str]]:
    start = FIRST_DATE.toordinal()
    sources, targets = [], []
    for d, s in zip(days, styles, strict=True):
        date = dt.date.fromordinal(start + int(d))
        sources.append(_human(date, int(s)))
        targets.append(date.isoformat())
    return sources, targets


__all__ = [
    "reversal_pairs", "addition_pairs", "date_pairs", "distinct_date_pairs", "DATE_SPAN_DAYS",
]
