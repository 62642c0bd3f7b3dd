"""Helpers for the series tests: small synthetic series whose answer is known, CSV writing."""

from __future__ import annotations

import numpy as np


def seasonal_series(
    n: int = 120, season: int = 12, seed: int = 0, noise: float = 0.5
) -> np.ndarray:
    """Trend + sine season + a little noise, all positive."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 50 + 0.3 * t + 8 * np.sin(2 * np.pi * t / season) + noise * rng.standard_normal(n)


def write_csv(path, header: str, rows: list[str], newline: str = "\n", bom: bool = False) -> str:
    """Write a header and rows with the given line ending (and a UTF-8 BOM); return the path."""
    text = newline.join([header, *rows]) + newline
    path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))
    return str(path)
