"""Forecast plots: the series, the training fit, test forecasts with intervals, a baseline.

Like the classic airline-passengers figure (series in blue, training predictions, test predictions),
with the start of the test part marked, the test forecasts' prediction interval shaded, and the
best baseline dashed so that the reader sees at once whether the network earns its keep. Built
on :func:`rnnkit.viz.figures.new_figure` (no pyplot).

Example:
    >>> import numpy as np
    >>> y = np.sin(np.arange(40) / 3)[:, None]
    >>> fig = plot_forecast(np.arange(40), y, ["y"], split=30,
    ...                     test=(np.arange(30, 40), y[30:, 0] + 0.1))
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:2]
    ['y', 'test forecast']

A long series (more than ``max_points`` values, e.g. ten years of daily data) is drawn zoomed in on
its last ``max_points`` values, where the test forecasts are, and the x label says so; the legends
sit to the right of the panels, off the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnkit.viz.figures import DPI
from rnnkit.viz.fonts import label_fonts

SERIES_COLOR = "#1f77b4"
FIT_COLOR = "#ff7f0e"
TEST_COLOR = "#2ca02c"
BASELINE_COLOR = "#7f7f7f"
FUTURE_COLOR = "#d62728"
#: Series longer than this are drawn zoomed in on their last MAX_POINTS values.
MAX_POINTS = 365


def plot_forecast(
    x: Any,
    values: np.ndarray,
    names: Sequence[str],
    split: int | None = None,
    train_fit: tuple[np.ndarray, np.ndarray] | None = None,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    interval: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None,
    baseline: tuple[np.ndarray, np.ndarray, str] | None = None,
    future: tuple[Any, np.ndarray, np.ndarray | None, np.ndarray | None] | None = None,
    title: str | None = None,
    target: int = 0,
    max_points: int | None = MAX_POINTS,
) -> Figure:
    """One panel for target column ``target``.

    Args:
        x: the time axis, length n (dates or row numbers). values: ``(n, C)`` actual series.
        split: first row of the test part (a vertical line).
        train_fit, test: ``(rows, predictions)`` -- one-step forecasts at those rows.
        interval: ``(rows, lower, upper, level)`` shaded around the test forecasts.
        baseline: ``(rows, predictions, label)`` dashed; ``label`` is shown as given (the caller
            names it: viz knows nothing of the tasks' baselines).
        future: ``(x_future, point, lower, upper)`` for a forecast past the end.
        max_points: a longer series is drawn from its last ``max_points`` rows only (a zoom on the
            test part; None draws everything).
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    x = np.asarray(x)
    total = len(x)
    first = total - max_points if max_points is not None and total > max_points else 0
    if first:
        train_fit, test, interval, baseline = (
            _from_row(part, first) for part in (train_fit, test, interval, baseline)
        )
    families = label_fonts([str(n) for n in names] + [title or ""])
    with_errors = test is not None and len(test[0]) > 0
    fig = Figure(figsize=(10.5, 6.0 if with_errors else 4.6), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    if with_errors:
        ax, err_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    else:
        ax, err_ax = fig.subplots(1, 1), None
    ax.plot(x[first:], values[first:, target], color=SERIES_COLOR,
            linewidth=1.6 if total - first <= 400 else 1.0, label=str(names[target]))
    if train_fit is not None and len(train_fit[0]):
        rows, pred = train_fit
        ax.plot(x[rows], _column(pred, target), color=FIT_COLOR, linewidth=1.2, alpha=0.9,
                label="training fit (one step)")
    if interval is not None and len(interval[0]):
        rows, lower, upper, level = interval
        ax.fill_between(x[rows], _column(lower, target), _column(upper, target), color=TEST_COLOR,
                        alpha=0.18, linewidth=0, label=f"{level:.0%} interval")
    if test is not None and len(test[0]):
        rows, pred = test
        ax.plot(x[rows], _column(pred, target), color=TEST_COLOR, linewidth=1.8,
                label="test forecast")
    if baseline is not None and len(baseline[0]):
        rows, pred, name = baseline
        ax.plot(x[rows], _column(pred, target), color=BASELINE_COLOR, linewidth=1.2, linestyle="--",
                label=f"baseline: {name}")
    if future is not None:
        fx, point, lower, upper = future  # type: ignore[assignment]
        fx = np.asarray(fx)
        if lower is not None and upper is not None:
            ax.fill_between(fx, _column(lower, target), _column(upper, target), color=FUTURE_COLOR,
                            alpha=0.18, linewidth=0, label="forecast interval")
        ax.plot(fx, _column(point, target), color=FUTURE_COLOR, linewidth=1.8, marker="o",
                markersize=3, label="forecast")
    if split is not None and max(first, 1) <= split < len(x):
        ax.axvline(x[split], color="black", linewidth=0.8, linestyle=":")
        ax.annotate("test", xy=(x[split], 1.0), xycoords=("data", "axes fraction"),
                    xytext=(4, -12), textcoords="offset points", fontsize=9)
    ax.set_ylabel(str(names[target]), fontfamily=families)
    ax.grid(True, alpha=0.3)
    outside: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0),
                               "frameon": False}  # to the right of the data, never over it
    legend = ax.legend(fontsize=9, **outside)
    for text in legend.get_texts():
        text.set_fontfamily(families)
    if title:
        ax.set_title(title, fontsize=10, fontfamily=families)
    bottom = ax
    if err_ax is not None and test is not None:
        rows, pred = test
        actual = values[rows, target]
        err_ax.plot(x[rows], np.abs(actual - _column(pred, target)), color=TEST_COLOR,
                    linewidth=1.4, label="model")
        if baseline is not None and len(baseline[0]):
            b_rows, b_pred, name = baseline
            err_ax.plot(x[b_rows], np.abs(values[b_rows, target] - _column(b_pred, target)),
                        color=BASELINE_COLOR, linewidth=1.2, linestyle="--", label=name)
        err_ax.set_ylabel("|error|, test")
        err_ax.grid(True, alpha=0.3)
        err_ax.legend(fontsize=8, **outside)
        err_ax.set_xlim(ax.get_xlim())
        bottom = err_ax
    xlabel = "date" if np.issubdtype(x.dtype, np.datetime64) else "step"
    if first:
        xlabel += f" (zoom: the last {total - first} of {total} values)"
    bottom.set_xlabel(xlabel)
    return fig


def _from_row(part: Any, first: int) -> Any:
    """``(rows, array, ...)`` restricted to the rows from ``first`` on (other items as given)."""
    if part is None or not len(part[0]):
        return part
    rows = np.asarray(part[0])
    keep = rows >= first
    return (rows[keep], *(
        np.asarray(item)[keep] if isinstance(item, np.ndarray) and len(item) == len(rows)
        else item
        for item in part[1:]
    ))


def _column(array: np.ndarray, target: int) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    return array[:, target] if array.ndim == 2 else array


__all__ = ["plot_forecast"]
