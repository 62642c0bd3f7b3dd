"""Training curves: loss and each metric per epoch, training vs validation, side by side.

Example:
    >>> fig = plot_history({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7],
    ...                     "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.5, 0.6, 0.7]})
    >>> [ax.get_title() for ax in fig.axes]
    ['Loss', 'Accuracy']
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rnnkit.errors import ConfigError
from rnnkit.viz.figures import new_figure, save_figure
from rnnkit.viz.fonts import label_fonts

TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
_NOT_CURVES = {"epoch", "seconds", "lr", "samples_per_second"}
_TITLES = {
    "loss": "Loss",
    "accuracy": "Accuracy",
    "f1": "Macro F1",
    "precision": "Macro precision",
    "recall": "Macro recall",
    "auc": "ROC AUC",
    "rmse": "RMSE",
    "mae": "MAE",
    "mape": "MAPE (%)",
    "smape": "sMAPE (%)",
    "perplexity": "Perplexity",
    "bpc": "Bits per character",
}


def _columns(history: Any) -> dict[str, list[float]]:
    """Column dict from a History (``.history``), a mapping of lists, or a list of records."""
    if hasattr(history, "history"):
        return dict(history.history)
    if isinstance(history, Mapping):
        return {k: list(v) for k, v in history.items()}
    if isinstance(history, Sequence):
        keys: dict[str, None] = {}
        for record in history:
            keys.update(dict.fromkeys(record))
        return {k: [r.get(k, math.nan) for r in history] for k in keys}
    raise ConfigError("history: expected a History, dict of lists or list of records, "
                      f"got {type(history).__name__}")


def plot_history(
    history: Any,
    metrics: Sequence[str] | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """One panel per quantity (loss first, then metrics), training vs validation per epoch.

    Args:
        history: ``rnnkit.train.History``, ``{"loss": [...], "val_loss": [...]}`` or records.
        metrics: which quantities to draw (default: loss and every logged metric).
        path: also save the figure as PNG there.
        title: figure title.
    """
    columns = _columns(history)
    names = list(metrics) if metrics is not None else _default_names(columns)
    names = [n for n in names if n in columns or f"val_{n}" in columns]
    if not names:
        raise ConfigError("metrics: nothing to plot; "
                          f"history has {', '.join(columns) or 'no columns'}")
    n_epochs = max(len(v) for v in columns.values())
    epochs = columns.get("epoch") or list(range(1, n_epochs + 1))
    fig, axes = new_figure(1, len(names), (4.2 * len(names) + 0.6, 3.6))
    for ax, name in zip(axes[0], names, strict=True):
        for key, label, color, style in (
            (name, "train", TRAIN_COLOR, "-"),
            (f"val_{name}", "validation", VAL_COLOR, "--"),
        ):
            if key in columns:
                values = [float(v) for v in columns[key]]
                marker = "o" if len(values) <= 30 else None
                ax.plot(epochs[: len(values)], values, style, color=color, label=label,
                        marker=marker, markersize=4, linewidth=1.8)
        ax.set_title(_TITLES.get(name, name.replace("_", " ").capitalize()))
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(frameon=False)
    if title:
        fig.suptitle(title, fontfamily=label_fonts([title]))  # a CJK title needs a CJK font
    if path is not None:
        save_figure(fig, path)
    return fig


def _default_names(columns: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for key in columns:
        base = key.removeprefix("val_")
        if base not in _NOT_CURVES and base not in names:
            names.append(base)
    names.sort(key=lambda n: (n != "loss",))
    return names


__all__ = ["plot_history"]
