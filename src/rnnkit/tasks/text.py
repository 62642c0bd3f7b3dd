"""``TextClassifier``: raw texts in, labels out (sentiment, topics), scikit-learn style.

Pipeline: :class:`rnnkit.data.TextVectorizer` (standardize, split — whitespace words plus one token
per CJK character by default — vocabulary) -> length-bucketed batches -> embedding ->
bidirectional LSTM -> max pooling over time -> dense softmax head.

Example:
    >>> from rnnkit.tasks import TextClassifier
    >>> texts = ["good film", "bad film", "not good", "not bad", "great", "awful"] * 20
    >>> labels = ["pos", "neg", "neg", "pos", "pos", "neg"] * 20
    >>> clf = TextClassifier(epochs=15, hidden_size=16, embedding_dim=16, verbose=0)
    >>> clf = clf.fit(texts, labels)
    >>> clf.predict(["not bad", "good film"])
    ['pos', 'pos']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.data import BucketLoader, TextVectorizer
from rnnkit.errors import DataError
from rnnkit.io import register_task
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.classification import ClassifierBase

#: Defaults chosen so that a user who sets nothing gets a strong model in minutes on a laptop CPU
#: (IMDB: see benchmarks/RESULTS.md). LSTM because torch runs it through oneDNN's fused kernel.
TEXT_DEFAULTS: dict[str, Any] = {
    "cell": "lstm",
    "bidirectional": True,
    "num_layers": 1,
    "hidden_size": 64,
    "embedding_dim": 128,
    "pooling": "max",
    "dropout": 0.5,
    "recurrent_activation": None,
    "head_hidden": None,
    "max_tokens": 20000,
    "min_freq": 2,
    "split": "auto",
    "ngrams": None,
    "max_length": 400,
    "truncation": "post",
    "batch_size": 64,
    "epochs": 15,
    "optimizer": "adam",
    "lr": 2e-3,
    "weight_decay": 0.0,
    "clip_norm": 1.0,
    "validation_split": 0.1,
    "patience": 3,
    "monitor": "val_accuracy",
    "time_budget": None,
    "seed": 0,
    "verbose": 1,
}


class TextClassifier(ClassifierBase):
    """A recurrent text classifier with the verbs of a scikit-learn estimator.

    Args (all keyword, defaults in ``TEXT_DEFAULTS``):
        cell: ``lstm``, ``gru`` or ``rnn``. bidirectional, num_layers, hidden_size: the encoder.
        embedding_dim: E. pooling: ``max``, ``mean``, ``last`` or ``attention``. dropout.
        max_tokens, min_freq, split, ngrams: the vocabulary (see ``TextVectorizer``).
        max_length: tokens kept per text; truncation ``post`` keeps the start, ``pre`` the end.
        batch_size, epochs, optimizer, lr, weight_decay, clip_norm: training.
        validation_split: held-out fraction (stratified) for early stopping: training stops when
            ``monitor`` (``val_accuracy`` or ``val_loss``) has not improved for ``patience`` epochs
            and the best epoch's weights are kept.
        time_budget: seconds; training stops after the batch that crosses it.
        seed: makes a run repeatable on the same machine. verbose: 0, 1 or 2.

    Attributes after ``fit``: ``classes_``, ``vectorizer_``, ``model_``, ``history_``, ``metrics_``.
    """

    task = "text_classifier"
    network_params = (*ClassifierBase.network_params, "embedding_dim")

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(TEXT_DEFAULTS)
        if unknown:
            from rnnkit.errors import ConfigError

            raise ConfigError(
                f"TextClassifier: unknown option(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(TEXT_DEFAULTS)}"
            )
        super().__init__(**{**TEXT_DEFAULTS, **params})
        self.vectorizer_: TextVectorizer | None = None

    def _check_inputs(self, X: Any, name: str) -> list[str]:
        if isinstance(X, str):
            raise DataError(f"{name}: expected a list of texts, got one string; wrap it in a list")
        texts = list(X)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"{name}[{i}] is {type(text).__name__}, not a text string")
        return texts

    def _fit_pipeline(self, X: Sequence[str]) -> None:
        p = self.params
        self.vectorizer_ = TextVectorizer(
            max_tokens=p["max_tokens"], min_freq=p["min_freq"], split=p["split"], ngrams=p["ngrams"]
        ).fit(X)

    def _loader(self, X: Sequence[str], y: np.ndarray | None, shuffle: bool, batch_size: int) -> BucketLoader:
        assert self.vectorizer_ is not None
        p = self.params
        sequences: list[np.ndarray] = list(self.vectorizer_.transform(X))
        return BucketLoader(
            sequences, targets=y, batch_size=batch_size, shuffle=shuffle,
            seed=p["seed"], max_length=p["max_length"], truncation=p["truncation"],
        )

    def _network_inputs(self) -> dict[str, Any]:
        assert self.vectorizer_ is not None
        return {"vocab_size": self.vectorizer_.vocabulary_size}

    def _pipeline_state(self) -> dict[str, Any]:
        assert self.vectorizer_ is not None
        import json

        return {"vectorizer": json.loads(self.vectorizer_.to_json())}

    def _restore_pipeline(self, parts: BundleParts) -> None:
        import json

        self.vectorizer_ = TextVectorizer.from_json(json.dumps(parts.json("vectorizer")))

    def explain(self, text: str, target: Any = None, method: str = "integrated_gradients") -> Any:
        """Per-token importance for the prediction on one ``text`` (see :mod:`rnnkit.inspect.saliency`).

        Returns an ``Explanation`` with ``tokens``, ``scores`` (positive = for the class),
        ``label``, ``probability``, ``pairs()``, ``top(k)`` and ``to_html()``. ``method``:
        ``integrated_gradients`` (default) or ``occlusion``.
        """
        from rnnkit.inspect.saliency import explain_text

        return explain_text(self, text, target=target, method=method)


register_task(TextClassifier.task, TextClassifier._from_parts)
