"""Fonts for labels, shared by every plot: a CJK font when a label needs one, and quiet drawing.

Chinese/Japanese/Korean labels need a font that has those glyphs; matplotlib's default (DejaVu
Sans) does not. :func:`cjk_font` looks for one among the installed fonts (Noto Sans CJK, Source Han,
WenQuanYi, Droid Sans Fallback, ...; also the usual files under ``/usr/share/fonts`` that
matplotlib's font cache may predate). :func:`label_fonts` gives the family list a text should use,
with DejaVu Sans as a fallback for Latin glyphs. When no CJK font is installed, one friendly
warning (a single line, :class:`rnnkit.errors.RnnkitWarning`) says what to install and the CJK
characters render as empty boxes; matplotlib's own per-glyph warnings are silenced while a figure
is drawn (:func:`quiet_glyphs`, used by :func:`rnnkit.viz.figures.figure_png`).

Example:
    >>> label_fonts(["a", "dog"])
    ['DejaVu Sans']
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from matplotlib import font_manager

from rnnkit.charsets import CJK_CHAR
from rnnkit.errors import warn_user

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
    "AR PL UKai CN",
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
HANGUL = re.compile("[\uac00-\ud7af]")
MISSING_FONT = (
    "no font with CJK glyphs found; Chinese/Japanese/Korean labels will show as boxes. "
    "Install one, e.g. `apt-get install fonts-noto-cjk` or fonts-wqy-microhei"
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


def has_cjk(labels: Sequence[str]) -> bool:
    """Whether any label has a Chinese, Japanese or Korean character."""
    return any(CJK_CHAR.search(str(label)) or HANGUL.search(str(label)) for label in labels)


def label_fonts(labels: Sequence[str]) -> list[str]:
    """The font family list for ``labels``: a CJK font first when a label needs one.

    Without a CJK font for CJK labels, warns once (boxes will show) and returns DejaVu Sans.
    """
    global _warned
    if not has_cjk(labels):
        return ["DejaVu Sans"]
    font = cjk_font()
    if font is not None:
        return [font, "DejaVu Sans"]
    if not _warned:
        _warned = True
        warn_user(MISSING_FONT)
    return ["DejaVu Sans"]


def font_kwargs(labels: Sequence[str]) -> dict[str, Any]:
    """Text keyword arguments (``fontfamily``) for ``labels``, see :func:`label_fonts`."""
    return {"fontfamily": label_fonts(labels)}


@contextmanager
def quiet_glyphs() -> Iterator[None]:
    """Silence matplotlib's per-glyph "Glyph ... missing from font" warnings (the one friendly
    warning of :func:`label_fonts` has said it already)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
        yield


__all__ = ["CJK_FONTS", "cjk_font", "font_kwargs", "has_cjk", "label_fonts", "quiet_glyphs"]
