"""Confusion-matrix plot: class names on both axes, counts (or row fractions) in the cells.

Example:
    >>> fig = plot_confusion_matrix([[5, 1], [2, 7]], class_names=["neg", "pos"])
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('predicted', 'true')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from rnnkit.errors import ShapeError
from rnnkit.viz.figures import new_figure, save_figure
from rnnkit.viz.fonts import label_fonts


def plot_confusion_matrix(
    matrix: Any,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    cmap: str = "Blues",
) -> Figure:
    """Heat map of a ``(C, C)`` confusion matrix (rows = true class, columns = predicted).

    ``normalize=True`` divides each row by its total (recall per class on the diagonal); cells
    then show fractions, and the colour bar runs from 0 to 1. Cell numbers are written when
    C <= 30. Class names in Chinese/Japanese/Korean use a CJK font (:mod:`rnnkit.viz.fonts`).
    """
    cm = np.asarray(matrix, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ShapeError(f"matrix: expected a square (C, C) array, got shape {cm.shape}")
    n = cm.shape[0]
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise ShapeError(f"class_names: {len(names)} names for a {n}x{n} matrix")
    shown = cm
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        shown = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    families = label_fonts([*names, title or ""])  # CJK class names need a CJK font
    side = min(max(3.8, 0.55 * n + 2.4), 14.0)
    fig, axes = new_figure(1, 1, (side + 1.0, side))
    ax = axes[0, 0]
    image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1.0 if normalize else max(shown.max(), 1.0))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                 label="fraction of true class" if normalize else "count")
    ax.set_xticks(range(n), labels=names, rotation=45 if max(map(len, names)) > 3 else 0,
                  ha="right" if max(map(len, names)) > 3 else "center", fontfamily=families)
    ax.set_yticks(range(n), labels=names, fontfamily=families)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or ("Confusion matrix (normalized)" if normalize else "Confusion matrix"),
                 fontfamily=families)
    if n <= 30:
        threshold = (shown.max() + shown.min()) / 2.0
        for i in range(n):
            for j in range(n):
                text = f"{shown[i, j]:.2f}" if normalize else f"{int(round(cm[i, j]))}"
                ax.text(j, i, text, ha="center", va="center", fontsize=9 if n <= 12 else 7,
                        color="white" if shown[i, j] > threshold else "black")
    if path is not None:
        save_figure(fig, path)
    return fig


__all__ = ["plot_confusion_matrix"]
