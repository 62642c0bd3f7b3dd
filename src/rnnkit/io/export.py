"""Export a classifier bundle's network to ONNX or TorchScript, with its pre-processing beside it.

The exported graph takes the output of the bundle's pipeline, not raw text:

- ``ids``: int64 ``(B, T)`` token ids, right-padded with 0 (1 = out of vocabulary), as produced by
  the vectorizer saved next to the model (text classifiers); or ``features`` float32 ``(B, T, F)``
  already standardized with the saved scaler (sequence classifiers);
- ``lengths``: int64 ``(B,)``, the true length of each row (1 <= length <= T);
- output ``probabilities``: float32 ``(B, C)`` in the order of ``classes``.

Batch size and sequence length are dynamic. ``<out stem>.preprocess.json`` holds the task, the
classes, the input description and the vectorizer (vocabulary, splitting, standardization) or the
feature scaler. Networks of the cells in :data:`rnnkit.cells.EXPORTABLE` (rnn, lstm, gru) export;
the scan cells (mingru, minlstm, lru, ssm, mlstm) are refused with a ConfigError.

Example:
    >>> from rnnkit.io.export import EXPORT_FORMATS
    >>> EXPORT_FORMATS
    ('onnx', 'torchscript')
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.cells import EXPORTABLE
from rnnkit.errors import ConfigError

EXPORT_FORMATS = ("onnx", "torchscript")
EXPORTABLE_TASKS = ("text_classifier", "sequence_classifier")


class ProbabilityHead(nn.Module):
    """``RecurrentClassifier`` followed by softmax: ``(inputs, lengths) -> (B, C)`` probabilities.
    """

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        return torch.softmax(self.network(inputs, lengths), dim=-1)


def example_inputs(estimator: Any, batch: int = 3, steps: int = 7) -> tuple[Tensor, Tensor]:
    """A padded example batch for tracing (lengths differ, so the padding path is traced)."""
    lengths = torch.tensor([steps] + [max(1, steps - 2 - i) for i in range(batch - 1)],
                           dtype=torch.int64)
    if estimator.task == "text_classifier":
        vocab = int(estimator.vectorizer_.vocabulary_size)
        inputs = torch.randint(2, max(3, vocab), (batch, steps),
                               generator=torch.Generator().manual_seed(0))
        mask = torch.arange(steps)[None, :] < lengths[:, None]
        return inputs * mask, lengths
    features = int(estimator.feature_size)
    inputs = torch.randn(batch, steps, features, generator=torch.Generator().manual_seed(0))
    return inputs, lengths


def preprocess_spec(estimator: Any) -> dict[str, Any]:
    """What a caller must do before running the exported graph (JSON-ready)."""
    spec: dict[str, Any] = {"task": estimator.task, "classes": list(estimator.classes_),
                            "output": "probabilities float32 (B, C), "
                                      "columns in the order of classes"}
    if estimator.task == "text_classifier":
        spec["inputs"] = {"ids": "int64 (B, T) token ids from the vectorizer, right-padded with 0",
                          "lengths": "int64 (B,) true lengths, >= 1"}
        windowed = estimator.params.get("window") is not None  # then texts are never cut
        spec["max_length"] = None if windowed else estimator.params.get("max_length")
        spec["vectorizer"] = json.loads(estimator.vectorizer_.to_json())
    else:
        spec["inputs"] = {"features": "float32 (B, T, F) standardized with 'scaler', right-padded",
                          "lengths": "int64 (B,) true lengths, >= 1"}
        spec["scaler"] = estimator.scaler_.to_dict()
    return spec


def export_bundle(estimator: Any, out: str | Path, fmt: str = "onnx") -> dict[str, Path]:
    """Write ``out`` (the graph) and ``<stem>.preprocess.json``; returns both paths.

    Args:
        estimator: a fitted or loaded ``TextClassifier`` / ``SequenceClassifier``.
        out: the file to write (``.onnx`` or ``.pt`` by convention).
        fmt: ``onnx`` or ``torchscript``.
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"format: expected onnx or torchscript, got {fmt!r}")
    task = getattr(estimator, "task", None)
    if task not in EXPORTABLE_TASKS:
        raise ConfigError(f"export: {task!r} bundles cannot be exported yet; "
                          f"supported: {', '.join(EXPORTABLE_TASKS)}")
    cell = getattr(estimator, "params", {}).get("cell")
    if cell not in EXPORTABLE:
        raise ConfigError(f"export: a {cell} network cannot be exported yet (its parallel scan "
                          "does not trace to a graph of any length); retrain with --cell "
                          f"{', '.join(EXPORTABLE)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    head = ProbabilityHead(estimator.model_).eval()
    inputs, lengths = example_inputs(estimator)
    input_name = "ids" if task == "text_classifier" else "features"
    # A windowed read (TextClassifier(window=N)) equals the whole read; the graph reads whole,
    # since a trace would fix the number of windows to the example's.
    window = getattr(estimator.model_, "window", None)
    estimator.model_.window = None
    with _restored(estimator.model_, "window", window), warnings.catch_warnings(), \
            torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape checks: see tests for parity
        if fmt == "onnx":
            torch.onnx.export(
                head, (inputs, lengths), str(out), input_names=[input_name, "lengths"],
                output_names=["probabilities"], opset_version=17, dynamo=False,
                dynamic_axes={input_name: {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                              "probabilities": {0: "batch"}},
            )
        else:
            traced = torch.jit.trace(head, (inputs, lengths), check_trace=False)
            torch.jit.save(traced, str(out))
    sidecar = out.with_name(out.stem + ".preprocess.json")
    sidecar.write_text(json.dumps(preprocess_spec(estimator), ensure_ascii=False, indent=1),
                       encoding="utf-8")
    return {"model": out, "preprocess": sidecar}


@contextmanager
def _restored(obj: Any, name: str, value: Any) -> Iterator[None]:
    """Set ``obj.name`` back to ``value`` on the way out."""
    try:
        yield
    finally:
        setattr(obj, name, value)


__all__ = ["EXPORT_FORMATS", "ProbabilityHead", "export_bundle", "example_inputs",
           "preprocess_spec"]

