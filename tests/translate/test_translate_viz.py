"""Attention heat maps: labels, shapes, and the CJK font choice (present / absent), not pixels."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rnnkit.errors import ShapeError
from rnnkit.viz import attention as va
from rnnkit.viz import figure_png
from rnnkit.viz import fonts as vf


def test_plot_labels_axes_and_adds_eos_row() -> None:
    w = np.full((3, 2), 0.5)
    fig = va.plot_attention(w, ["ein", "hund"], ["a", "dog"], title="ein hund")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ein", "hund"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "dog", "<eos>"]
    assert ax.get_xlabel() == "source" and ax.get_ylabel() == "generated"
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ShapeError, match="does not match"):
        va.plot_attention(np.ones((2, 5)), ["a"], ["b"])


def test_cjk_labels_use_a_cjk_font_when_one_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vf, "cjk_font", lambda: "WenQuanYi Micro Hei")
    assert va.label_fonts(["我", "a"]) == ["WenQuanYi Micro Hei", "DejaVu Sans"]
    assert va.label_fonts(["a", "dog"]) == ["DejaVu Sans"]
    fig = va.plot_attention(np.eye(2), ["我", "爱"], ["i", "love"])
    assert fig.axes[0].get_xticklabels()[0].get_fontfamily()[0] == "WenQuanYi Micro Hei"


def test_missing_cjk_font_warns_once_and_still_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vf, "cjk_font", lambda: None)
    monkeypatch.setattr(vf, "_warned", False)
    with pytest.warns(UserWarning, match="fonts-noto-cjk"):
        fig = va.plot_attention(np.eye(2), ["你", "好"], ["hi"])
    assert fig.axes[0].get_xticklabels()[0].get_fontfamily() == ["DejaVu Sans"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        va.plot_attention(np.eye(2), ["你", "好"], ["hi"])  # no second warning


def test_cjk_font_lookup_finds_installed_family_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    vf.cjk_font.cache_clear()
    monkeypatch.setattr(vf, "_installed_families", lambda: {"DejaVu Sans", "Droid Sans Fallback"})
    assert vf.cjk_font() == "Droid Sans Fallback"
    vf.cjk_font.cache_clear()
    monkeypatch.setattr(vf, "_installed_families", lambda: {"DejaVu Sans"})
    monkeypatch.setattr(vf, "CJK_FONT_FILES", ())
    assert vf.cjk_font() is None
    vf.cjk_font.cache_clear()
