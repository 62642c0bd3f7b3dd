"""What every many-to-one classifier shares: labels, splits, training, metrics, bundles.

``TextClassifier`` and ``SequenceClassifier`` differ only in their front end (how raw inputs become
a batch loader) and pipeline state (a vocabulary, or a feature scaler). Everything else lives here:
class bookkeeping, the stratified hold-out, the :class:`RecurrentClassifier` network, the
:class:`rnnkit.train.Trainer` run, inference in the original order, the metrics report and the
bundle (config, weights, pipeline JSON, metrics, history, curves and confusion-matrix plots).

``fit(..., workers=N)`` trains data-parallel in N local processes (PyTorch DDP, gloo; see
:mod:`rnnkit.train.distributed`); under ``torchrun`` the process group comes from the environment.
``checkpoint_dir`` / ``resume`` checkpoint every epoch and continue an interrupted run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from rnnkit.errors import BundleError, ConfigError, DataError
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.base import Estimator
from rnnkit.tasks.classifier_model import RecurrentClassifier
from rnnkit.train import EarlyStopping, History, Trainer, distributed
from rnnkit.train.metrics import accuracy, confusion_matrix, precision_recall_f1_from_confusion

Label = Any


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, held_out)`` holding out about ``fraction`` of every class.

    Every class keeps at least one training example; a class with a single example stays whole in
    training.

    Example:
        >>> tr, te = stratified_split(np.array([0] * 8 + [1] * 2), 0.5, seed=0)
        >>> sorted(np.bincount(np.array([0] * 8 + [1] * 2)[te]).tolist())
        [1, 4]
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"validation fraction must be between 0 and 1, got {fraction}")
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        take = min(int(round(fraction * len(members))), len(members) - 1)
        held.append(members[:take])
    held_out = np.sort(np.concatenate(held)) if held else np.empty(0, dtype=np.int64)
    train = np.setdiff1d(np.arange(len(labels)), held_out)
    return train, held_out


def empty_hold_out_error(
    labels: np.ndarray, fraction: float, what: str,
    remedy: str = "validation data (--valid, or validation_data= in Python)",
) -> DataError:
    """Why :func:`stratified_split` held out nothing: every class too small (often one example
    per class, i.e. the wrong label column), as a one-line DataError for ``what`` ("a test
    split")."""
    counts = np.unique(labels, return_counts=True)[1]
    if counts.max(initial=0) <= 1:
        cause = "every class has a single example (is the label column right?)"
    else:
        cause = (
            f"no class is large enough to hold out {fraction:.0%} of it (largest: {counts.max()})"
        )
    return DataError(
        f"cannot hold out {what}: {len(labels)} examples in {len(counts)} classes and {cause}; "
        f"give more examples per class or {remedy}"
    )


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Label]
) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1, per-class numbers and the confusion matrix (JSON-ready).
    """
    n = len(classes)
    matrix = confusion_matrix(y_true, y_pred, num_classes=n)
    per = precision_recall_f1_from_confusion(matrix, average=None)
    p, r, f1 = per["precision"], per["recall"], per["f1"]
    per_class = {
        str(c): {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f1[i]),
                 "support": int(matrix[i].sum())}
        for i, c in enumerate(classes)
    }
    return {
        "accuracy": float(accuracy(y_true, y_pred)),
        "macro_precision": float(np.mean(p)),
        "macro_recall": float(np.mean(r)),
        "macro_f1": float(np.mean(f1)),
        "per_class": per_class,
        "confusion_matrix": matrix.astype(int).tolist(),
        "count": int(len(y_true)),
    }


class ClassifierBase(Estimator):
    """Shared estimator logic; subclasses supply the front end.

    Subclasses implement ``_fit_pipeline(X)``, ``_loader(X, y, shuffle, batch_size)``,
    ``_network_inputs()`` (the ``RecurrentClassifier`` keyword for the input: ``vocab_size`` or
    ``input_size``), ``_pipeline_state()`` / ``_restore_pipeline(parts)`` and ``_check_inputs(X)``.
    ``score`` is the accuracy; ``evaluate`` the full :func:`classification_report`.
    """

    #: Constructor arguments that define the network (saved in the bundle's config).
    network_params: ClassVar[tuple[str, ...]] = (
        "cell", "hidden_size", "num_layers", "bidirectional", "pooling", "dropout",
        "recurrent_activation", "head_hidden",
    )
    estimator_type = "classifier"
    requires_y = True

    # Fitted state (class-level defaults: ``__init__`` sets only the options).
    classes_: list[Label] = []
    model_: RecurrentClassifier | None = None
    history_: History | None = None
    metrics_: dict[str, Any] = {}
    _run_options: dict[str, Any] = {}

    # ------------------------------------------------------------------ subclass hooks
    def _fit_pipeline(self, X: Any) -> None:
        raise NotImplementedError

    def _loader(self, X: Any, y: np.ndarray | None, shuffle: bool, batch_size: int) -> Any:
        raise NotImplementedError

    def _network_inputs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _pipeline_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _restore_pipeline(self, parts: BundleParts) -> None:
        raise NotImplementedError

    def _check_inputs(self, X: Any, name: str) -> Any:
        return X

    def _initialize_network(self, model: RecurrentClassifier) -> None:
        """Set the freshly built network's starting weights (a pretrained encoder); no-op here."""

    @staticmethod
    def _subset(X: Any, index: np.ndarray) -> Any:
        return [X[i] for i in index]

    # ------------------------------------------------------------------ labels
    def _encode_labels(self, labels: Sequence[Label], name: str = "labels") -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes_)}
        ids = np.empty(len(labels), dtype=np.int64)
        for i, label in enumerate(labels):
            key = _normalize_label(label)
            if key not in index:
                raise DataError(
                    f"{name}: label {label!r} was not seen in training (classes: "
                    f"{', '.join(map(str, self.classes_))}); evaluate on data with the same classes"
                )
            ids[i] = index[key]
        return ids

    def _set_classes(self, labels: Sequence[Label]) -> None:
        values = [_normalize_label(y) for y in labels]
        classes = sorted(set(values), key=lambda v: (isinstance(v, str), v))
        if len(classes) < 2:
            found = classes[0] if classes else "nothing"
            raise DataError(
                f"labels: found a single class ({found!r}); a classifier needs at least two classes"
            )
        self.classes_ = classes

    # ------------------------------------------------------------------ training
    def _trainer(self, epochs_hint: int, has_validation: bool) -> Trainer:
        p = self.params
        callbacks = []
        if has_validation and p.get("patience"):
            monitor = p.get("monitor", "val_loss")
            callbacks.append(EarlyStopping(monitor, patience=p["patience"],
                                           restore_best_weights=True))
        return Trainer(
            loss="cross_entropy", optimizer=p.get("optimizer", "adam"), lr=p.get("lr", 1e-3),
            weight_decay=p.get("weight_decay", 0.0), clip_norm=p.get("clip_norm"),
            metrics=("accuracy",), callbacks=callbacks, **self._schedule_options(),
            seed=p.get("seed", 0), verbose=p.get("verbose", 1), fingerprint=self._fingerprint(),
            **self._run_options,
        )

    def fit(
        self,
        X: Any,
        y: Sequence[Label],
        validation_data: tuple[Any, Sequence[Label]] | None = None,
        epochs: int | None = None,
        time_budget: float | None = None,
        *,
        workers: int | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        checkpoint_every: int | None = None,
    ) -> ClassifierBase:
        """Learn the pipeline and the network from ``X`` and the labels ``y``; returns self.

        Without ``validation_data``, ``validation_split`` (default 0.1) of the data is held out,
        stratified by class, for early stopping. ``time_budget`` (seconds) stops training after
        the batch that crosses it. ``workers``: data-parallel processes on this machine (DDP);
        ``checkpoint_dir``: checkpoint after every epoch (and every ``checkpoint_every``
        batches) there; ``resume``: continue from that checkpoint.
        """
        p = self._validate_params()
        run = self._start_run(
            (X, y),
            {"validation_data": validation_data, "epochs": epochs, "time_budget": time_budget},
            workers, checkpoint_dir, resume, checkpoint_every,
        )
        if run is None:
            return self
        self._run_options = run
        started = time.perf_counter()
        X = self._check_inputs(X, "X")
        labels = list(y)
        if len(X) != len(labels):
            raise DataError(f"X has {len(X)} examples but labels has {len(labels)}; "
                            "give one label per example")
        if len(X) == 0:
            raise DataError("X is empty; give at least two examples of two classes")
        self._set_classes(labels)
        ids = self._encode_labels(labels)
        if validation_data is not None:
            X_val = self._check_inputs(validation_data[0], "validation_data")
            y_val = self._encode_labels(list(validation_data[1]), "validation labels")
            X_train, y_train = X, ids
        elif p.get("validation_split") and len(X) >= 10:
            train_idx, val_idx = stratified_split(ids, p["validation_split"], p.get("seed", 0))
            if len(val_idx) == 0:
                raise empty_hold_out_error(ids, p["validation_split"], "a validation split")
            X_train, y_train = self._subset(X, train_idx), ids[train_idx]
            X_val, y_val = self._subset(X, val_idx), ids[val_idx]
        else:
            X_train, y_train, X_val, y_val = X, ids, None, None
        self._fit_pipeline(X_train)
        torch.manual_seed(p.get("seed", 0))
        self.model_ = self._checked_network()
        self._initialize_network(self.model_)
        train_loader = self._loader(X_train, y_train, True, p.get("batch_size", 32))
        val_loader = None if X_val is None else self._loader(X_val, y_val, False, 256)
        n_epochs = epochs if epochs is not None else p.get("epochs", 10)
        trainer = self._trainer(n_epochs, val_loader is not None)
        self.history_ = trainer.fit(
            self.model_, train_loader, validation_data=val_loader, epochs=n_epochs,
            time_budget=time_budget if time_budget is not None else p.get("time_budget"),
            final_validation=val_loader is not None, budget_start=started,
        )
        self.model_.eval()
        self.metrics_ = {"epochs_run": len(self.history_),
                         "stopped_reason": self.history_.stopped_reason}
        if X_val is not None and y_val is not None and distributed.is_main_process():
            self.metrics_["validation"] = self._report(X_val, y_val)
        # the training phase: data preparation, training and the validation report
        self.metrics_["train_seconds"] = time.perf_counter() - started
        return self

    def _build_network(self) -> RecurrentClassifier:
        p = self.params
        kwargs = {k: p[k] for k in self.network_params if k in p}
        return RecurrentClassifier(len(self.classes_), **self._network_inputs(), **kwargs)

    # ------------------------------------------------------------------ inference
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, C)``, columns in the order of ``classes_``."""
        model = self._require_fitted()
        X = self._check_inputs(X, "X")
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        loader = self._loader(X, None, False, 256)
        model.eval()
        chunks = []
        with torch.inference_mode():
            for inputs, _ in loader:
                chunks.append(torch.softmax(model(**inputs).float(), dim=-1).numpy())
        return np.asarray(loader.restore_order(np.concatenate(chunks)))

    def predict(self, X: Any) -> list[Label]:
        """The most probable class of each example (labels as in ``classes_``)."""
        proba = self.predict_proba(X)
        return [self.classes_[i] for i in proba.argmax(axis=1)]

    def _report(self, X: Any, y: np.ndarray) -> dict[str, Any]:
        pred = self.predict_proba(X).argmax(axis=1)
        return classification_report(y, pred, self.classes_)

    def evaluate(self, X: Any, y: Sequence[Label]) -> dict[str, Any]:
        """Accuracy, macro precision/recall/F1, per-class numbers and the confusion matrix."""
        self._require_fitted()
        X = self._check_inputs(X, "X")
        return self._report(X, self._encode_labels(list(y)))

    def score(self, X: Any, y: Sequence[Label]) -> float:
        """Accuracy on ``X`` against the labels ``y`` (scikit-learn's ``score``)."""
        return float(self.evaluate(X, y)["accuracy"])

    # ------------------------------------------------------------------ bundles
    def _bundle_config(self) -> dict[str, Any]:
        return {"classes": self.classes_,
                "network": {**self._network_inputs(), "num_classes": len(self.classes_)}}

    def _bundle_state(self) -> dict[str, Any]:
        return self._pipeline_state()

    def _figures(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """The training curves and the confusion matrix of the test (else validation) report."""
        from rnnkit.viz import plot_confusion_matrix

        plots = super()._figures(metrics)
        report = metrics.get("test") or metrics.get("validation")
        if report and "confusion_matrix" in report:
            plots["confusion_matrix"] = plot_confusion_matrix(
                np.asarray(report["confusion_matrix"]),
                [str(c) for c in self.classes_],
                title="Confusion matrix (test)"
                if "test" in metrics
                else "Confusion matrix (validation)",
            )
        return plots

    @classmethod
    def _from_parts(cls, parts: BundleParts) -> ClassifierBase:
        obj = cls._from_bundle_params(parts)
        obj.classes_ = _bundle_classes(parts)
        obj._restore_pipeline(parts)
        obj._restore_network(parts)
        return obj


def _bundle_classes(parts: BundleParts) -> list[Label]:
    """The saved ``classes``: at least two distinct texts or integers."""
    classes = parts.section("classes", list)
    plain = all(isinstance(c, str | int) and not isinstance(c, bool) for c in classes)
    if not plain or len(classes) < 2 or len(set(classes)) != len(classes):
        raise BundleError(
            f"bundle {parts.path}: config.json 'classes' must list two or more distinct labels "
            "(texts or integers); re-save the model"
        )
    return list(classes)


def _normalize_label(label: Label) -> Label:
    if isinstance(label, (np.integer,)):
        return int(label)
    if isinstance(label, (bool, np.bool_)):
        return int(label)
    if isinstance(label, float) and label.is_integer():
        return int(label)
    return label
