"""Figure creation and saving without pyplot.

rnnkit's plots are built on :class:`matplotlib.figure.Figure` with an Agg canvas attached directly:
no pyplot state machine, no GUI backend, nothing ever opens a window (also on machines without a
display), and figures are freed as soon as they are unreferenced. The global backend is left alone,
so a notebook user's inline backend keeps working. Drawing is quiet: matplotlib's per-glyph
warnings for a missing CJK font are silenced (:mod:`rnnkit.viz.fonts` warns once instead).

Example:
    >>> fig, axes = new_figure(1, 1, (4, 3))
    >>> len(figure_png(fig)) > 1000
    True
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnkit.viz.fonts import quiet_glyphs

DPI = 110


def new_figure(rows: int, cols: int, size: tuple[float, float]) -> tuple[Figure, Any]:
    """A Figure with an Agg canvas and a (rows, cols) grid of axes (``squeeze=False`` array)."""
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def figure_png(fig: Figure, dpi: int | None = None) -> bytes:
    """The figure rendered as PNG bytes."""
    buffer = io.BytesIO()
    with quiet_glyphs():  # a missing CJK font was announced once by viz.fonts.label_fonts
        fig.savefig(buffer, format="png", dpi=dpi or fig.dpi)
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int | None = None) -> Path:
    """Write the figure as PNG to ``path`` (parent directories are created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(figure_png(fig, dpi))
    return target


__all__ = ["new_figure", "figure_png", "save_figure"]
