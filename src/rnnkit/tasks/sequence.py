"""``SequenceClassifier``: sequences of feature vectors in, labels out (many-to-one), sklearn style.

The numeric twin of :class:`rnnkit.tasks.TextClassifier`: the same :class:`ClassifierBase` (labels,
hold-out, training, metrics, bundles) and the same :class:`RecurrentClassifier` network, with float
features instead of an embedding in front:

    (T_i, F) floats --FeatureScaler--> length-bucketed (B, T, F) --> LSTM/GRU/RNN --> pooling
        --> head

Inputs are a float array ``(N, T, F)`` (with ``lengths=`` or ``mask=`` when padded) or a list of
``(T_i, F)`` arrays of any lengths. The scaler standardizes each feature with statistics of the real
training steps (padding never counts) and is saved in the bundle as ``scaler.json``.

Example:
    >>> from rnnkit.data.sequences import make_waveforms
    >>> from rnnkit.tasks import SequenceClassifier
    >>> train, test = make_waveforms(200, seed=0), make_waveforms(20, seed=1)
    >>> clf = SequenceClassifier(epochs=2, hidden_size=16, verbose=0)
    >>> clf = clf.fit(train.sequences, train.labels)
    >>> clf.classes_, clf.predict_proba(test.sequences).shape
    (['pulse', 'sawtooth', 'sine', 'square'], (20, 4))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data import BucketLoader
from rnnkit.data.sequences import FeatureScaler, as_sequence_list
from rnnkit.errors import ConfigError, DataError
from rnnkit.io import register_task
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.classification import ClassifierBase, Label
from rnnkit.tasks.defaults import SEQ_DEFAULTS, SEQ_TASK


class SequenceClassifier(ClassifierBase):
    """A recurrent classifier of numeric sequences with the verbs of a scikit-learn estimator.

    Args (all keyword, defaults in ``SEQ_DEFAULTS``):
        cell: ``lstm``, ``gru`` or ``rnn``. bidirectional, num_layers, hidden_size: the encoder.
        pooling: ``max``, ``mean``, ``last`` or ``attention``. dropout. recurrent_activation,
            head_hidden: as in ``TextClassifier``.
        standardize: ``"feature"`` (per-feature scaler), ``"global"`` (one mean and scale for all
            features, e.g. pixels) or ``"none"``; see :class:`rnnkit.data.sequences.FeatureScaler`.
        max_length: steps kept per sequence (None: all); truncation ``post`` keeps the start,
            ``pre`` the end.
        batch_size, epochs, optimizer, lr, weight_decay, clip_norm: training.
        schedule: learning-rate schedule: per epoch (``None``, ``"cosine"``, ``"step"``,
            ``"plateau"``) or per step (``"stlr"``, ``"one-cycle"``); see
            ``rnnkit.train.Trainer``.
        validation_split: held-out fraction (stratified) for early stopping with ``patience``.
        time_budget: seconds; training stops after the batch that crosses it.
        seed: makes a run repeatable on the same machine. verbose: 0, 1 or 2.

    Every method taking ``X`` also takes ``lengths=`` (N,) or ``mask=`` (N, T) for padded arrays.
    Attributes after ``fit``: ``classes_``, ``scaler_``, ``model_``, ``history_``, ``metrics_``.
    """

    task = SEQ_TASK

    choices = {"standardize": (*FeatureScaler.MODES, True, False, None)}
    scaler_: FeatureScaler | None = None

    def __init__(
        self, *, cell: Any = "lstm", bidirectional: Any = True, num_layers: Any = 1,
        hidden_size: Any = 128, pooling: Any = "max", dropout: Any = 0.3,
        recurrent_activation: Any = None, head_hidden: Any = None, standardize: Any = "feature",
        max_length: Any = None, truncation: Any = "post", batch_size: Any = 64, epochs: Any = 30,
        optimizer: Any = "adam", lr: Any = 0.003, weight_decay: Any = 0.0, clip_norm: Any = 1.0,
        schedule: Any = "cosine", validation_split: Any = 0.1, patience: Any = 8,
        time_budget: Any = None, seed: Any = 0, verbose: Any = 1,
    ) -> None:
        self._store_params(locals())

    def _input_tags(self, input_tags: Any) -> Any:
        return input_tags(two_d_array=False, three_d_array=True)

    # ------------------------------------------------------------------ padded-array entry points
    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Sequence[Label],
        validation_data: tuple[Any, ...] | None = None,
        epochs: int | None = None,
        time_budget: float | None = None,
        *,
        lengths: Any = None,
        mask: Any = None,
        workers: int | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        checkpoint_every: int | None = None,
    ) -> SequenceClassifier:
        """Fit on ``X`` (see the class docstring); ``validation_data`` is ``(X, labels)`` or
        ``(X, labels, lengths)``. ``workers``, ``checkpoint_dir``, ``resume``,
        ``checkpoint_every``: data-parallel processes and checkpoints, as in
        :meth:`rnnkit.tasks.classification.ClassifierBase.fit`."""
        if validation_data is not None:
            val_lengths = validation_data[2] if len(validation_data) > 2 else None
            val_x = as_sequence_list(validation_data[0], val_lengths, name="validation_data")
            validation_data = (val_x, validation_data[1])
        X = as_sequence_list(X, lengths, mask)
        self.scaler_ = None  # a refit may change the feature size
        super().fit(
            X, y, validation_data, epochs, time_budget, workers=workers,
            checkpoint_dir=checkpoint_dir, resume=resume, checkpoint_every=checkpoint_every,
        )
        return self

    def predict_proba(self, X: Any, *, lengths: Any = None, mask: Any = None) -> np.ndarray:
        """Class probabilities ``(N, C)``, columns in the order of ``classes_``."""
        return super().predict_proba(as_sequence_list(X, lengths, mask))

    def predict(self, X: Any, *, lengths: Any = None, mask: Any = None) -> list[Label]:
        """The most probable class of each sequence."""
        return super().predict(as_sequence_list(X, lengths, mask))

    def evaluate(self, X: Any, y: Sequence[Label], *, lengths: Any = None,
                 mask: Any = None) -> dict[str, Any]:
        """Accuracy, macro precision/recall/F1, per-class numbers and the confusion matrix."""
        return super().evaluate(as_sequence_list(X, lengths, mask), y)

    def score(self, X: Any, y: Sequence[Label], *, lengths: Any = None,
              mask: Any = None) -> float:
        """Accuracy on ``X`` against the labels ``y``."""
        return super().score(as_sequence_list(X, lengths, mask), y)

    # ------------------------------------------------------------------ ClassifierBase hooks
    def _check_inputs(self, X: Any, name: str) -> list[np.ndarray]:
        seqs = as_sequence_list(X, name=name)
        if self.scaler_ is not None and seqs and seqs[0].shape[1] != self.scaler_.feature_size:
            raise DataError(
                f"{name} has {seqs[0].shape[1]} features per step but the model was trained on "
                f"{self.scaler_.feature_size}; give data shaped like the training data"
            )
        return seqs

    def _fit_pipeline(self, X: list[np.ndarray]) -> None:
        self.scaler_ = FeatureScaler(_scaler_mode(self.params["standardize"])).fit(X)

    def _loader(self, X: list[np.ndarray], y: np.ndarray | None, shuffle: bool,
                batch_size: int) -> BucketLoader:
        assert self.scaler_ is not None
        p = self.params
        return BucketLoader(
            self.scaler_.transform(X), targets=y, batch_size=batch_size, shuffle=shuffle,
            seed=p["seed"], max_length=p["max_length"], truncation=p["truncation"],
        )

    def _network_inputs(self) -> dict[str, Any]:
        assert self.scaler_ is not None
        return {"input_size": self.scaler_.feature_size}

    def _pipeline_state(self) -> dict[str, Any]:
        assert self.scaler_ is not None
        return {"scaler": self.scaler_.to_dict()}

    def _restore_pipeline(self, parts: BundleParts) -> None:
        self.scaler_ = FeatureScaler.from_dict(parts.json("scaler"))

    @property
    def feature_size(self) -> int:
        """F, the features per step the fitted model expects."""
        if self.scaler_ is None:
            raise ConfigError("this SequenceClassifier is not fitted yet; "
                              "call fit() or load() first")
        return self.scaler_.feature_size


def _scaler_mode(standardize: Any) -> Any:
    """``True``/``False`` as the scaler modes ``"feature"``/``"none"``."""
    if isinstance(standardize, bool) or standardize is None:
        return "feature" if standardize else "none"
    return standardize


register_task(SequenceClassifier.task, SequenceClassifier._from_parts)

__all__ = ["SequenceClassifier", "SEQ_DEFAULTS"]
