"""examples/nn_order_task.py: its task needs order, and a tiny run prints both paths and an
accuracy.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nn_order_task.py"
_spec = importlib.util.spec_from_file_location("nn_order_task", _EXAMPLE)
assert _spec is not None and _spec.loader is not None
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)
make_order_task, run_demo = example.make_order_task, example.run_demo


def test_order_task_labels_say_whether_a_comes_first() -> None:
    x, lengths, y = make_order_task(50, 5, 9, torch.Generator().manual_seed(0))
    assert x.shape == (50, 9, 4) and 0.2 < y.mean().item() < 0.8
    for n in range(50):
        real = x[n, : lengths[n]]
        assert (x[n, lengths[n] :] == 0).all()
        assert y[n] == float(real[:, 2].argmax() < real[:, 3].argmax())


def test_tiny_demo_run_reports_paths_and_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    threads = torch.get_num_threads()
    run_demo(epochs=2, train_size=128, test_size=64)
    text = capsys.readouterr().out
    assert "path: fused" in text and "path: cell loop" in text
    accuracies = [float(a) for a in re.findall(r"final test accuracy .*: ([0-9.]+)", text)]
    assert len(accuracies) == 2 and all(0.0 <= a <= 1.0 for a in accuracies)
    assert torch.get_num_threads() == threads
