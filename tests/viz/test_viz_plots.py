"""Plots: valid PNG files of plausible size and dimensions, labelled axes, legends, cell values."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.train import History
from rnnkit.viz import figure_png, plot_confusion_matrix, plot_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which must directly follow the signature."""
    assert data[:8] == PNG_MAGIC
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def history():
    h = History()
    for e in range(1, 9):
        h.append({"epoch": e, "loss": 1 / e, "accuracy": 1 - 0.4 / e,
                  "val_loss": 1.2 / e + 0.02 * e,
                  "val_accuracy": 0.9 - 0.4 / e, "seconds": 0.5, "lr": 1e-3})
    return h


def test_training_curves_png(tmp_path):
    path = tmp_path / "plots" / "curves.png"
    fig = plot_history(history(), path=path, title="demo")
    data = path.read_bytes()
    assert len(data) > 5_000
    width, height = png_size(data)
    assert width > 2 * height  # two panels side by side
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Loss", "Accuracy"]
    for ax in fig.axes:
        assert ax.get_xlabel() == "epoch"
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["train", "validation"]
        train_line = ax.get_lines()[0]
        assert list(train_line.get_xdata()) == list(range(1, 9))
    assert fig.get_suptitle() == "demo"


def test_training_curves_from_dict_and_metric_selection():
    fig = plot_history({"loss": [0.5, 0.4], "rmse": [2.0, 1.0], "val_rmse": [2.5, 1.5]},
                       metrics=["rmse"])
    assert [ax.get_title() for ax in fig.axes] == ["RMSE"]
    with pytest.raises(ConfigError, match="nothing to plot"):
        plot_history({"loss": [1.0]}, metrics=["accuracy"])


def test_confusion_matrix_png_counts_and_normalized(tmp_path):
    cm = np.array([[50, 3, 2], [4, 40, 6], [1, 9, 35]])
    fig = plot_confusion_matrix(cm, class_names=["World", "Sports", "Business"],
                                path=tmp_path / "cm.png")
    data = (tmp_path / "cm.png").read_bytes()
    assert len(data) > 5_000 and png_size(data)[0] > 300
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["World", "Sports", "Business"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["World", "Sports", "Business"]
    texts = [t.get_text() for t in ax.texts]
    assert texts == [str(v) for v in cm.ravel()]
    assert len(fig.axes) == 2  # the colour bar
    norm = plot_confusion_matrix(cm, normalize=True)
    cells = [float(t.get_text()) for t in norm.axes[0].texts]
    np.testing.assert_allclose(np.array(cells).reshape(3, 3), cm / cm.sum(1, keepdims=True),
                               atol=0.005)
    assert "normalized" in norm.axes[0].get_title()


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ShapeError):
        plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ShapeError):
        plot_confusion_matrix(np.zeros((2, 2)), class_names=["a"])


def test_agg_canvas_without_pyplot():
    import subprocess
    import sys

    fig = plot_history(history())
    assert figure_png(fig).startswith(PNG_MAGIC)
    assert fig.canvas.__class__.__name__ == "FigureCanvasAgg"
    # In a fresh interpreter, plotting never imports pyplot (no GUI backend, no global state).
    code = (
        "import sys; from rnnkit.viz import plot_history, plot_confusion_matrix; "
        "plot_history({'loss': [1.0, 0.5]}); plot_confusion_matrix([[1, 2], [3, 4]]); "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
