"""Attention heat maps: which source token each generated token looked at.

:func:`plot_attention` draws the weights ``(T_out, S)`` of one translation as a heat map, source
tokens along the x axis (top), generated tokens down the y axis, as in the TensorFlow NMT tutorial.

Chinese/Japanese/Korean labels need a font that has those glyphs; matplotlib's default (DejaVu
Sans) does not. :func:`cjk_font` looks for one among the installed fonts (Noto Sans CJK, Source Han,
WenQuanYi, Droid Sans Fallback, ...; also the usual files under ``/usr/share/fonts`` that
matplotlib's font cache may predate) and the plot uses it, with DejaVu Sans as a fallback for
Latin glyphs. When none is installed, one warning says what to install and the CJK characters
render as empty boxes; the plot is still written.

Example:
    >>> import numpy as np
    >>> fig = plot_attention(np.eye(3), ["a", "b", "c"], ["x", "y"])
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['x', 'y', '<eos>']
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure

from rnnkit.charsets import CJK_CHAR
from rnnkit.errors import ShapeError
from rnnkit.viz.figures import new_figure

#: Font families with CJK glyphs, best first.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Arial Unicode MS",
)
#: Font files added to matplotlib's font list when its cache predates their installation.
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


def _installed_families() -> set[str]:
    return {f.name for f in font_manager.fontManager.ttflist}


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font family with CJK glyphs, or None."""
    families = _installed_families()
    for name in CJK_FONTS:
        if name in families:
            return name
    for file in CJK_FONT_FILES:
        if Path(file).is_file():
            try:
                font_manager.fontManager.addfont(file)
            except (OSError, RuntimeError, ValueError):
                continue
    families = _installed_families()
    return next((name for name in CJK_FONTS if name in families), None)


_warned = False


def _has_cjk(labels: Sequence[str]) -> bool:
    return any(CJK_CHAR.search(label) for label in labels)


def label_fonts(labels: Sequence[str]) -> list[str]:
    """The font family list for tick labels: a CJK font first when a label needs one.

    Without a CJK font for CJK labels, warns once (boxes will show) and returns DejaVu Sans.
    """
    global _warned
    if not _has_cjk(labels):
        return ["DejaVu Sans"]
    font = cjk_font()
    if font is not None:
        return [font, "DejaVu Sans"]
    if not _warned:
        _warned = True
        warnings.warn(
            "no font with CJK glyphs found; Chinese/Japanese labels will show as boxes. "
            "Install one, e.g. `apt-get install fonts-noto-cjk` or fonts-wqy-microhei",
            stacklevel=3,
        )
    return ["DejaVu Sans"]


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
