"""Pictures of what happens inside a recurrent network (Figures without pyplot).

- :func:`plot_state_heatmaps`: hidden state and gates, units x time steps, one panel each, with
  the input tokens on the time axis (CJK tokens use a CJK font when one is installed).
- :func:`plot_gradient_flow`: ``||dL/dh_t||`` against t for several cells, log scale.
- :func:`plot_memory`: memory-task score against sequence length, one line per cell.

Example:
    >>> import numpy as np
    >>> fig = plot_state_heatmaps({"hidden": np.zeros((3, 4))}, tokens=["a", "b", "c"])
    >>> fig.axes[0].get_xlabel()
    'time step (token)'
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure

from rnnkit.viz.figures import new_figure

#: Font family names known to carry CJK glyphs, most preferred first.
CJK_FONT_NAMES = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans SC",
    "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",
    "AR PL UMing CN", "AR PL UKai CN", "Microsoft YaHei", "SimHei", "PingFang SC",
    "Hiragino Sans GB", "Arial Unicode MS", "Unifont",
)

PANEL_TITLES = {
    "hidden": "hidden state h_t",
    "cell": "cell state c_t",
    "input_gate": "input gate i_t",
    "forget_gate": "forget gate f_t",
    "output_gate": "output gate o_t",
    "candidate": "candidate g_t / n_t",
    "reset_gate": "reset gate r_t",
    "update_gate": "update gate z_t",
}
_GATES = {"input_gate", "forget_gate", "output_gate", "reset_gate", "update_gate"}


def _has_cjk(text: str) -> bool:
    return any(
        "\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"
        for ch in text
    )


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed font with CJK glyphs, or None (warns once)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONT_NAMES:
        if name in installed:
            return name
    for entry in font_manager.fontManager.ttflist:  # any other font whose name says CJK
        if any(key in entry.name for key in ("CJK", "Hei", "Ming", "Gothic", "Song")):
            return entry.name
    warnings.warn(
        "no font with CJK glyphs found; Chinese/Japanese/Korean tokens will show as boxes "
        "(install e.g. fonts-noto-cjk)",
        stacklevel=2,
    )
    return None


def token_font(tokens: Sequence[str]) -> dict[str, object]:
    """Text keyword arguments for tick labels: a CJK family when any token needs it."""
    if any(_has_cjk(t) for t in tokens):
        family = cjk_font()
        if family is not None:
            return {"fontfamily": [family, "DejaVu Sans"]}
    return {}


def plot_state_heatmaps(
    panels: Mapping[str, np.ndarray],
    tokens: Sequence[str] | None = None,
    title: str | None = None,
    max_units: int = 64,
    xlabel: str = "time step (token)",
) -> Figure:
    """One heat map per panel; each array is (T, H) for one sequence, drawn units x time.

    Gates use a fixed 0..1 colour scale (viridis); hidden/cell states a symmetric diverging one.
    ``tokens`` label the time axis (at most ~60 labels are drawn); at most ``max_units`` rows.
    """
    names = list(panels)
    if not names:
        raise ValueError("panels: give at least one (T, H) array")
    steps = np.asarray(panels[names[0]]).shape[0]
    width = min(18.0, 3.0 + 0.22 * max(steps, 10))
    fig, axes = new_figure(len(names), 1, (width, 1.0 + 2.1 * len(names)))
    labels = list(tokens) if tokens is not None else [str(t) for t in range(steps)]
    font = token_font(labels)
    stride = max(1, int(np.ceil(steps / 60)))
    for ax, name in zip(axes[:, 0], names, strict=True):
        data = np.asarray(panels[name], dtype=float)[:, :max_units].T  # (H, T)
        if name in _GATES:
            image = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0,
                              interpolation="nearest")
        else:
            bound = float(np.abs(data).max()) or 1.0
            image = ax.imshow(data, aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound,
                              interpolation="nearest")
        ax.set_title(PANEL_TITLES.get(name, name), fontsize=10)
        ax.set_ylabel("unit")
        ticks = list(range(0, steps, stride))
        ax.set_xticks(ticks)
        ax.set_xticklabels([labels[t] for t in ticks], rotation=60, ha="right", fontsize=8,
                           **font)  # type: ignore[arg-type]
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    axes[-1, 0].set_xlabel(xlabel)
    if title:
        fig.suptitle(title, **token_font([title]))  # type: ignore[arg-type]
    return fig


def plot_gradient_flow(
    norms: Mapping[str, np.ndarray],
    title: str = "Gradient flow: ||dL/dh_t|| (loss at the last step)"
) -> Figure:
    """``norms[name]`` (T,) per curve: the gradient norm reaching h_t, log scale."""
    fig, axes = new_figure(1, 1, (7.5, 4.2))
    ax = axes[0, 0]
    for name, values in norms.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), np.maximum(values, 1e-30), label=name, lw=1.8)
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("||dL/dh_t||  (log scale)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return fig


def plot_memory(results: Sequence[Any], title: str | None = None) -> Figure:
    """Score against sequence length per cell, one panel per task (MemoryResult-like objects)."""
    tasks = sorted({r.task for r in results})  # type: ignore[attr-defined]
    fig, axes = new_figure(1, len(tasks), (5.2 * len(tasks), 4.0))
    for ax, task in zip(axes[0], tasks, strict=True):
        rows = [r for r in results if r.task == task]  # type: ignore[attr-defined]
        for cell in dict.fromkeys(r.cell for r in rows):
            mine = sorted((r for r in rows if r.cell == cell), key=lambda r: r.length)
            ax.plot([r.length for r in mine], [r.score for r in mine], marker="o", label=cell)
            for r in mine:
                if r.solved:
                    ax.scatter([r.length], [r.score], s=140, facecolors="none", edgecolors="k")
        baseline = rows[0].baseline
        if task == "adding":
            ax.axhline(baseline, ls="--", c="grey", label="predict 1 (0.167)")
            ax.axhline(0.05, ls=":", c="green", label="solved below 0.05")
            ax.set_ylabel("test MSE (lower is better)")
            ax.set_title("Adding problem")
        else:
            ax.axhline(baseline, ls="--", c="grey", label=f"chance ({baseline:.3f})")
            ax.axhline(0.9, ls=":", c="green", label="solved above 0.9")
            ax.set_ylabel("copied-symbol accuracy")
            ax.set_ylim(0, 1.02)
            ax.set_title("Copy task")
        ax.set_xscale("log")
        lengths = sorted({r.length for r in rows})
        ax.set_xticks(lengths)
        ax.set_xticklabels([str(t) for t in lengths])
        ax.minorticks_off()
        ax.set_xlabel("sequence length T (memory span)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def plot_saliency_bars(tokens: Sequence[str], scores: np.ndarray, title: str = "") -> Figure:
    """Per-token importance as a bar chart (positive = pushes towards the predicted class)."""
    scores = np.asarray(scores, dtype=float)
    fig, axes = new_figure(1, 1, (min(16.0, 2.5 + 0.35 * len(tokens)), 3.2))
    ax = axes[0, 0]
    ax.bar(range(len(tokens)), scores, color=["tab:red" if s > 0 else "tab:blue" for s in scores])
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(list(tokens), rotation=60, ha="right", fontsize=8,
                       **token_font(tokens))  # type: ignore[arg-type]
    ax.set_ylabel("attribution")
    ax.set_xlabel("token")
    ax.axhline(0, c="k", lw=0.6)
    if title:
        ax.set_title(title, fontsize=10, **token_font([title]))  # type: ignore[arg-type]
    return fig
