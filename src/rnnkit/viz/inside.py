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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from rnnkit.viz.figures import new_figure
from rnnkit.viz.fonts import cjk_font, font_kwargs

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


def token_font(tokens: Sequence[str]) -> dict[str, object]:
    """Text keyword arguments for tick labels: a CJK family when any token needs it."""
    return font_kwargs(tokens)


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


#: The saliency scale of every rnnkit view (plots, HTML pages, the web page): green supports the
#: explained label, red speaks against it.
SUPPORTS_COLOR = "#2f9e5b"
AGAINST_COLOR = "#dc3c32"


def plot_saliency_bars(tokens: Sequence[str], scores: np.ndarray, title: str = "") -> Figure:
    """Per-token importance as a bar chart: green bars support the explained label (positive
    scores), red bars speak against it; a legend says so."""
    scores = np.asarray(scores, dtype=float)
    fig, axes = new_figure(1, 1, (min(16.0, 3.5 + 0.35 * len(tokens)), 3.4))
    ax = axes[0, 0]
    ax.bar(range(len(tokens)), scores,
           color=[SUPPORTS_COLOR if s > 0 else AGAINST_COLOR for s in scores])
    ax.legend(handles=[Patch(color=SUPPORTS_COLOR, label="supports the label"),
                       Patch(color=AGAINST_COLOR, label="against it")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(list(tokens), rotation=60, ha="right", fontsize=8,
                       **token_font(tokens))  # type: ignore[arg-type]
    ax.set_ylabel("attribution")
    ax.set_xlabel("token")
    ax.axhline(0, c="k", lw=0.6)
    if title:
        ax.set_title(title, fontsize=10, **token_font([title]))  # type: ignore[arg-type]
    return fig


__all__ = ["cjk_font", "token_font", "plot_state_heatmaps", "plot_gradient_flow", "plot_memory",
           "plot_saliency_bars", "SUPPORTS_COLOR", "AGAINST_COLOR"]
