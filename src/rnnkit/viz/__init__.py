"""rnnkit.viz: plots as matplotlib Figures (Agg canvas, never a window), optionally saved as PNG.

Example:
    >>> from rnnkit.viz import plot_history
    >>> fig = plot_history({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]})
    >>> fig.axes[0].get_xlabel()
    'epoch'
"""

from __future__ import annotations

from rnnkit.viz.attention import plot_attention
from rnnkit.viz.confusion import plot_confusion_matrix
from rnnkit.viz.curves import plot_history
from rnnkit.viz.figures import figure_png, new_figure, save_figure

__all__ = ["plot_attention", "plot_history", "plot_confusion_matrix", "figure_png", "new_figure",
           "save_figure"]
