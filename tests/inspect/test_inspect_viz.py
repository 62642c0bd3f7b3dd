"""The inside pictures: valid PNGs, labelled axes, colour bars, CJK tokens degrade gracefully."""

from __future__ import annotations

import warnings

import numpy as np

from rnnkit.inspect.memory import MemoryResult
from rnnkit.viz.figures import figure_png
from rnnkit.viz.inside import (
    cjk_font,
    plot_gradient_flow,
    plot_memory,
    plot_saliency_bars,
    plot_state_heatmaps,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_heatmaps_have_labels_and_colourbars() -> None:
    rng = np.random.default_rng(0)
    panels = {"hidden": rng.normal(size=(5, 4)), "forget_gate": rng.uniform(size=(5, 4))}
    fig = plot_state_heatmaps(panels, tokens=list("abcde"), title="t")
    heat_axes = [ax for ax in fig.axes if ax.get_ylabel() == "unit"]
    assert len(heat_axes) == 2 and len(fig.axes) == 4  # two panels + two colour bars
    assert [t.get_text() for t in heat_axes[0].get_xticklabels()] == list("abcde")
    assert heat_axes[-1].get_xlabel() == "time step (token)"
    assert figure_png(fig)[:8] == PNG_MAGIC


def test_cjk_tokens_render_with_at_most_one_font_warning(monkeypatch) -> None:
    from rnnkit.viz import fonts

    cjk_font.cache_clear()
    monkeypatch.setattr(fonts, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot_state_heatmaps({"hidden": np.zeros((3, 2))}, tokens=["我", "爱", "你"])
        plot_saliency_bars(["我", "爱", "你"], np.array([0.1, -0.2, 0.3]))
    ours = [w for w in caught if "CJK" in str(w.message)]
    assert len(ours) <= 1
    if cjk_font() is None:
        assert len(ours) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # drawing is quiet: no per-glyph matplotlib warnings
        assert figure_png(fig)[:8] == PNG_MAGIC


def test_gradient_flow_and_memory_plots() -> None:
    fig = plot_gradient_flow({"rnn": np.geomspace(1e-8, 1, 20), "lstm": np.ones(20)})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "time step t"
    assert len(ax.get_lines()) == 2
    results = [MemoryResult("adding", c, t, s, 1 / 6, s < 0.05, 10, 1.0)
               for c, t, s in [("rnn", 25, 0.01), ("rnn", 50, 0.17), ("lstm", 25, 0.001),
                               ("lstm", 50, 0.002)]]
    fig = plot_memory(results)
    assert fig.axes[0].get_xlabel().startswith("sequence length")
    assert figure_png(fig)[:8] == PNG_MAGIC
