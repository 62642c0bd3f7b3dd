"""Served models: one adapter per task between a loaded bundle and the HTTP handlers.

Each adapter owns a lock (a model is never run by two threads at once), answers ``info()`` for
``GET /models`` and offers the verbs its task supports: ``predict`` (text and sequence
classifiers, through a :class:`~rnnkit.serve.batching.MicroBatcher`), ``forecast`` (forecasters)
and ``stream`` (language models).

Example:
    >>> from rnnkit.serve.models import model_name_and_path
    >>> model_name_and_path("reviews=/tmp/bundles/imdb")
    ('reviews', PosixPath('/tmp/bundles/imdb'))
    >>> model_name_and_path("/tmp/bundles/imdb")
    ('imdb', PosixPath('/tmp/bundles/imdb'))
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.errors import ConfigError, RnnkitError
from rnnkit.serve.batching import MicroBatcher

CLASSIFIER_TASKS = ("text_classifier", "sequence_classifier")


class NonFiniteOutput(ValueError):
    """A model's answer holds NaN or infinity: answered as a 422 JSON error, never as ``null``."""


def finite_floats(values: Any, what: str) -> list[float]:
    """``values`` as a list of floats, or :class:`NonFiniteOutput` naming ``what``."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(array).all():
        raise NonFiniteOutput(f"the model's {what} holds NaN or infinity; the bundle's weights or "
                              "scaler, or this input, are out of range")
    return [float(v) for v in array]


def check_finite_weights(name: str, obj: Any) -> None:
    """Refuse a task object whose networks hold NaN or infinite weights (ConfigError).

    The bundle loader checks this too; task objects handed to ``create_app`` directly are checked
    here, so a broken model is refused at start rather than answering every request with NaN."""
    for attribute, value in getattr(obj, "__dict__", {}).items():
        if not isinstance(value, torch.nn.Module):
            continue
        for key, tensor in value.state_dict().items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise ConfigError(f"model {name!r}: the weights {attribute}.{key} hold NaN or "
                                  "infinity; retrain the model or use an intact bundle")


def model_name_and_path(spec: str) -> tuple[str, Path]:
    """``NAME=PATH`` or ``PATH`` (the name is then the bundle directory's name)."""
    if "=" in spec and not Path(spec).exists():
        name, _, raw = spec.partition("=")
        if not name:
            raise ConfigError(f"bundle {spec!r}: the name before '=' is empty; write NAME=PATH")
        return name, Path(raw)
    path = Path(spec)
    return path.resolve().name, path


def json_safe(value: Any) -> Any:
    """Metrics as plain JSON: NaN and infinities become None, numpy scalars become numbers."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class ServedModel:
    """Base adapter: a name, the task object, a lock and the endpoints it answers."""

    endpoints: tuple[str, ...] = ()

    def __init__(self, name: str, obj: Any) -> None:
        self.name = name
        self.obj = obj
        self.task = str(getattr(obj, "task", type(obj).__name__))
        self.lock = threading.Lock()

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "task": self.task, "endpoints": list(self.endpoints),
                "metrics": json_safe(getattr(self.obj, "metrics_", {}) or {})}

    def close(self) -> None:
        pass


class ServedClassifier(ServedModel):
    """Text or sequence classifier: batched ``predict_proba`` and optional saliency."""

    endpoints = ("predict",)

    def __init__(self, name: str, obj: Any, batching: bool = True, max_batch: int = 64,
                 max_wait: float = 0.0) -> None:
        super().__init__(name, obj)
        self.classes = list(obj.classes_)
        self.batcher = MicroBatcher(self._predict_proba, max_batch=max_batch, max_wait=max_wait,
                                    enabled=batching)

    @property
    def is_text(self) -> bool:
        return self.task == "text_classifier"

    def _predict_proba(self, items: list[Any]) -> np.ndarray:
        with self.lock:
            return np.asarray(self.obj.predict_proba(items), dtype=np.float64)

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["classes"] = self.classes
        if self.is_text:
            out["vocabulary_size"] = int(self.obj.vectorizer_.vocabulary_size)
        return out

    def saliency(self, text: str, label_index: int, max_tokens: int) -> list[dict[str, Any]] | None:
        """Per-token weights for one text (positive = for the predicted class), or None when the
        text has no tokens or more than ``max_tokens``.

        Uses ``TextClassifier.explain`` (integrated gradients) when it exists, else occlusion: how
        much the class's probability drops without the token."""
        if not 0 < len(self.obj.vectorizer_.tokenize(text)) <= max_tokens:
            return None
        explain = getattr(self.obj, "explain", None)
        if explain is None:
            return self._occlusion(text, label_index)
        try:
            with self.lock:
                explanation = explain(text, target=self.classes[label_index])
        except RnnkitError:
            return None
        return [{"token": str(t), "weight": float(w)} for t, w in explanation.pairs()]

    def _occlusion(self, text: str, label_index: int) -> list[dict[str, Any]] | None:
        vec = self.obj.vectorizer_
        tokens = vec.tokenize(text)
        ids = vec.transform([text])[0]
        if len(tokens) != len(ids) or len(ids) == 0:
            return None  # n-grams or truncation: tokens and ids do not line up one to one
        model = self.obj.model_
        n = len(ids)
        batch = torch.zeros((n + 1, max(n, 1)), dtype=torch.int64)
        lengths = torch.full((n + 1,), max(n - 1, 1), dtype=torch.int64)
        batch[0, :n] = torch.from_numpy(ids)
        lengths[0] = n
        for i in range(n):
            rest = np.delete(ids, i)
            if len(rest) == 0:
                rest = np.array([1])  # a lone token is compared with an unknown one
            batch[i + 1, :len(rest)] = torch.from_numpy(rest)
        with self.lock, torch.inference_mode():
            model.eval()
            proba = torch.softmax(model(batch, lengths).double(), dim=-1)[:, label_index].numpy()
        return [
            {"token": tok, "weight": float(proba[0] - proba[i + 1])} for i, tok in enumerate(tokens)
        ]

    def close(self) -> None:
        self.batcher.close()


class ServedForecaster(ServedModel):
    """Forecaster: forecasts after the bundle's series or after a given history."""

    endpoints = ("forecast",)

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["targets"] = list(self.obj.data_.target_names)
        out["horizon"] = int(self.obj.horizon)
        return out

    def forecast(self, steps: int | None, history: Sequence[float] | None,
                 history_points: int = 200) -> dict[str, Any]:
        from rnnkit.data.series import SeriesData

        data = self.obj.data_
        if history is not None:
            if data.features.shape[1] or data.values.shape[1] != 1:
                raise ConfigError(
                    f"model {self.name!r} uses {data.values.shape[1]} target(s) and "
                    f"{data.features.shape[1]} feature column(s); 'history' works only for a "
                    "single target without features — leave it out to forecast the bundle's series")
            data = SeriesData.from_arrays(np.asarray(history, dtype=np.float64), None, None,
                                          target_names=list(data.target_names))
        with self.lock:
            frame = self.obj.forecast(steps, data=data)
        names = list(data.target_names)
        tail = slice(max(0, len(data) - history_points), len(data))
        if data.dates is not None:
            hist_index = [d.isoformat() for d in data.dates[tail]]
        else:
            hist_index = [str(i) for i in range(len(data))[tail]]
        out: dict[str, Any] = {
            "targets": names,
            "index": [i.isoformat() if hasattr(i, "isoformat") else str(i) for i in frame.index],
            "forecast": {n: finite_floats(frame[n], f"forecast of {n}") for n in names},
            "history_index": hist_index,
            "history": {n: finite_floats(data.values[tail, c], f"history of {n}")
                        for c, n in enumerate(names)},
        }
        if f"{names[0]}_lower" in frame.columns:
            out["lower"] = {
                n: finite_floats(frame[f"{n}_lower"], f"lower bound of {n}") for n in names
            }
            out["upper"] = {
                n: finite_floats(frame[f"{n}_upper"], f"upper bound of {n}") for n in names
            }
        return out


class ServedLanguageModel(ServedModel):
    """Language model: sampled continuations, whole or piece by piece."""

    endpoints = ("generate",)

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["vocabulary_size"] = int(self.obj.vectorizer_.vocabulary_size)
        return out

    def stream(self, prime: str, length: int, temperature: float, top_k: int | None,
               top_p: float | None, seed: int | None) -> Iterator[str]:
        """Pieces of the continuation; call from ONE thread (it holds the model lock)."""
        with self.lock:
            yield from self.obj.stream(prime, length=length, temperature=temperature, top_k=top_k,
                                       top_p=top_p, seed=seed, unknown="oov")


class ServedTranslator(ServedModel):
    """Translator: batched translation, optionally with tokens and attention weights."""

    endpoints = ("translate",)

    def translate(
        self, texts: list[str], beam_size: int | None, attention: bool
    ) -> list[dict[str, Any]]:
        with self.lock:
            results = self.obj.translate_with_attention(texts, beam_size=beam_size)
        out = []
        for r in results:
            score = finite_floats([r.score], "translation score")[0]
            item: dict[str, Any] = {"source": r.source, "translation": r.text, "score": score}
            if attention:
                item["source_tokens"] = r.source_tokens
                item["target_tokens"] = r.target_tokens
                item["attention"] = [[round(v, 5) for v in finite_floats(row, "attention weights")]
                                     for row in r.weights]
            out.append(item)
        return out


def serve_model(name: str, obj: Any, batching: bool = True, max_wait: float = 0.0) -> ServedModel:
    """The adapter for a loaded task object (see ``rnnkit.load``)."""
    task = getattr(obj, "task", None)
    if task in CLASSIFIER_TASKS:
        return ServedClassifier(name, obj, batching=batching, max_wait=max_wait)
    if task == "forecaster":
        return ServedForecaster(name, obj)
    if task == "language_model":
        return ServedLanguageModel(name, obj)
    if task == "translation":
        return ServedTranslator(name, obj)
    raise ConfigError(f"model {name!r}: task {task!r} cannot be served yet (text_classifier, "
                      "sequence_classifier, forecaster, language_model and translation can)")
