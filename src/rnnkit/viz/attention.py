"""Attention heat maps: which source token each generated token looked at.

:func:`plot_attention` draws the weights ``(T_out, S)`` of one translation as a heat map, source
tokens along the x axis (top), generated tokens down the y axis, as in the TensorFlow NMT tutorial.

Chinese/Japanese/Korean labels use a CJK font when one is installed (:mod:`rnnkit.viz.fonts`, as
every rnnkit plot does); without one, one warning says what to install and the characters render
as empty boxes; the plot is still written.

Example:
    >>> import numpy as np
    >>> fig = plot_attention(np.eye(3), ["a", "b", "c"], ["x", "y"])
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['x', 'y', '<eos>']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from rnnkit.errors import ShapeError
from rnnkit.viz.figures import new_figure
from rnnkit.viz.fonts import CJK_FONTS, cjk_font, label_fonts


def plot_attention(
    weights: np.ndarray,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    title: str | None = None,
    eos: str = "<eos>",
) -> Figure:
    """Heat map of attention ``weights`` (T_out, S): rows = generated tokens, columns = source.

    ``target_tokens`` may omit the final ``<eos>``: when ``weights`` has one more row, the
    ``eos`` label is added. Spaces (character-level tokens) are shown as ``␣``.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2:
        raise ShapeError(f"weights: expected (T_out, S), got shape {w.shape}")
    rows = list(target_tokens)
    if w.shape[0] == len(rows) + 1:
        rows.append(eos)
    cols = list(source_tokens)
    if w.shape != (len(rows), len(cols)):
        raise ShapeError(
            f"weights: shape {w.shape} does not match {len(rows)} target and {len(cols)} source "
            "tokens"
        )
    show = (
        [t if t.strip() else "\u2423" for t in cols],
        [t if t.strip() else "\u2423" for t in rows],
    )
    families = label_fonts(show[0] + show[1])
    width = min(16.0, max(3.5, 1.2 + 0.42 * len(cols)))
    height = min(16.0, max(2.8, 1.2 + 0.36 * len(rows)))
    fig, axes = new_figure(1, 1, (width, height))
    ax = axes[0, 0]
    image = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(1e-9, float(w.max(initial=0.0))),
                      aspect="auto")
    ax.set_xticks(range(len(cols)))
    ax.set_yticks(range(len(rows)))
    if max(len(t) for t in show[0]) > 2:
        ax.set_xticklabels(show[0], rotation=60, ha="left", rotation_mode="anchor",
                           fontfamily=families)
    else:
        ax.set_xticklabels(show[0], fontfamily=families)
    ax.set_yticklabels(show[1], fontfamily=families)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("source")
    ax.set_ylabel("generated")
    if title:
        fig.suptitle(title, fontfamily=families, fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8, label="attention weight")
    return fig


__all__ = ["plot_attention", "cjk_font", "label_fonts", "CJK_FONTS"]
