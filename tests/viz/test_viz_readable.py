"""Plots read well: long series zoomed with the legend off the data, CJK labels in a CJK font in
every plot, one friendly line (never matplotlib's per-glyph warnings) when no such font exists,
one saliency scale (green supports, red against) with a legend."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from rnnkit.viz import figure_png, fonts, plot_confusion_matrix
from rnnkit.viz.forecast import plot_forecast
from rnnkit.viz.inside import AGAINST_COLOR, SUPPORTS_COLOR, plot_saliency_bars


def _outside(fig, ax) -> bool:
    """Whether the legend of ``ax`` is drawn to the right of the axes, off the data."""
    fig.canvas.draw()
    return ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1


def test_long_daily_series_is_zoomed_with_the_legend_outside() -> None:
    n = 3650
    dates = pd.date_range("1981-01-01", periods=n, freq="D")
    y = (10 + 5 * np.sin(np.arange(n) * 2 * np.pi / 365))[:, None]
    split = 2445
    rows = np.arange(split, n)
    fig = plot_forecast(dates, y, ["temp"], split=split, train_fit=(np.arange(30, split),
                        y[30:split, 0]), test=(rows, y[split:, 0] + 0.5),
                        baseline=(rows, y[split - 1:-1, 0], "persistence"),
                        title="temp: LSTM forecaster")
    ax, err_ax = fig.axes
    series = ax.get_lines()[0]
    assert len(series.get_xdata()) == 365  # the last 365 days, not a smear of 3650
    assert all(len(line.get_xdata()) <= 365 for line in ax.get_lines())
    assert err_ax.get_xlabel() == "date (zoom: the last 365 of 3650 values)"
    assert _outside(fig, ax) and _outside(fig, err_ax)
    short = plot_forecast(np.arange(40), y[:40], ["temp"], split=30,
                          test=(np.arange(30, 40), y[30:40, 0]))
    assert short.axes[-1].get_xlabel() == "step"
    assert len(short.axes[0].get_lines()[0].get_xdata()) == 40
    assert _outside(short, short.axes[0])


def test_confusion_matrix_uses_the_cjk_font_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "cjk_font", lambda: "WenQuanYi Micro Hei")
    fig = plot_confusion_matrix([[3, 1], [0, 4]], class_names=["正面", "负面"])
    ax = fig.axes[0]
    assert ax.get_xticklabels()[0].get_fontfamily()[0] == "WenQuanYi Micro Hei"
    assert ax.get_yticklabels()[1].get_fontfamily()[0] == "WenQuanYi Micro Hei"
    latin = plot_confusion_matrix([[3, 1], [0, 4]], class_names=["pos", "neg"])
    assert latin.axes[0].get_xticklabels()[0].get_fontfamily() == ["DejaVu Sans"]
    from rnnkit.viz import plot_history

    curves = plot_history({"loss": [1.0, 0.5]}, title="情感分类")
    assert curves._suptitle.get_fontfamily()[0] == "WenQuanYi Micro Hei"


def test_missing_cjk_font_is_one_friendly_line_in_every_plot(monkeypatch) -> None:
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    monkeypatch.setattr(fonts, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figs = [plot_confusion_matrix([[3, 1], [0, 4]], class_names=["正面", "负面"]),
                plot_saliency_bars(["好", "电影"], np.array([0.3, -0.1])),
                plot_forecast(np.arange(20), np.arange(20.0), ["销量"])]
        for fig in figs:
            figure_png(fig)
    assert [str(w.message) for w in caught] == [fonts.MISSING_FONT]


def test_missing_font_warning_is_one_stderr_line_without_source() -> None:
    code = (
        "from rnnkit.viz import fonts, plot_confusion_matrix, figure_png\n"
        "fonts.cjk_font = lambda: None\n"
        "figure_png(plot_confusion_matrix([[1, 2], [3, 4]], class_names=['是', '否']))\n"
        "figure_png(plot_confusion_matrix([[1, 2], [3, 4]], class_names=['是', '否']))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "fonts-noto-cjk" in lines[0], run.stderr
    assert "Glyph" not in run.stderr


def test_saliency_bars_use_the_one_scale_with_a_legend() -> None:
    fig = plot_saliency_bars(["a", "great", "film"], np.array([0.0, 0.8, -0.3]), "t")
    ax = fig.axes[0]
    colours = [tuple(np.round(p.get_facecolor()[:3], 3)) for p in ax.patches]
    green, red = (tuple(np.round(np.array(list(bytes.fromhex(c[1:]))) / 255, 3))
                  for c in (SUPPORTS_COLOR, AGAINST_COLOR))
    assert colours == [red, green, red]  # 0 is not support
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["supports the label",
                                                                  "against it"]
