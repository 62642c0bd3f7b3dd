"""Character classes shared by layers that must not import each other (``data`` and ``viz``).

Imports nothing from rnnkit, so any package may use it.

Example:
    >>> from rnnkit.charsets import CJK_CHAR
    >>> CJK_CHAR.sub(r" \\1 ", "我爱 NLP").split()
    ['我', '爱', 'NLP']
"""

from __future__ import annotations

import re

# CJK ideographs (incl. extensions and compatibility), kana, CJK symbols, half-width katakana.
_CJK_RANGES = (
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3190-\u31ff"  # kanbun, bopomofo ext, strokes, katakana ext
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width katakana
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
#: One CJK character (ideographs, kana, CJK punctuation; the ranges above) as group 1. Splitting
#: (``split="auto"``), translation tokenizers and attention plots use it to tell CJK text, which
#: has no spaces between words, from space-separated text.
CJK_CHAR = re.compile(f"([{_CJK_RANGES}])")

__all__ = ["CJK_CHAR"]
