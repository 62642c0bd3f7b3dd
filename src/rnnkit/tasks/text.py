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

Transfer from a word-level language model (ULMFiT): ``TextClassifier(pretrained=lm)`` (a
``LanguageModel`` or the path of its bundle) takes the LM's vocabulary, tokenisation, embedding and
recurrent layers (see :mod:`rnnkit.tasks.transfer`), pools with ``concat`` and may read long
documents in windows (``window=``).

Data larger than memory: ``clf.fit(TextShards(["part-000.csv.gz", ...]))`` streams the shards
(vocabulary in one pass, then one read of every shard per epoch; see :mod:`rnnkit.data.text_shards`)
and ``clf.evaluate(TextShards([...]))`` scores them chunk by chunk. ``workers=N`` trains with N
data-parallel processes (each reads its own shards when streaming).
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data import BucketLoader, TextVectorizer
from rnnkit.data.text_shards import StreamingLoader, TextShards, iter_chunks, scan_all
from rnnkit.errors import ConfigError, DataError, RnnkitWarning
from rnnkit.io import register_task
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.classification import ClassifierBase, Label, classification_report
from rnnkit.tasks.defaults import CLASSIFIER_HEADS, TEXT_DEFAULTS, TEXT_TASK
from rnnkit.train import distributed


class TextClassifier(ClassifierBase):
    """A recurrent text classifier with the verbs of a scikit-learn estimator.

    Args (all keyword, defaults in ``TEXT_DEFAULTS``):
        cell: ``lstm``, ``gru`` or ``rnn``. bidirectional, num_layers, hidden_size: the encoder.
        embedding_dim: E. pooling: ``max``, ``mean``, ``last``, ``attention`` or ``concat``
            (``[last, max, mean]``); ``auto`` = ``concat`` with ``pretrained``, else ``max``.
            dropout.
        max_tokens, min_freq, split, ngrams: the vocabulary (see ``TextVectorizer``).
        max_length: tokens kept per text; truncation ``post`` keeps the start, ``pre`` the end.
            Not applied with ``window``: every text is then read whole.
        batch_size, epochs, optimizer, lr, weight_decay, clip_norm: training.
        validation_split: held-out fraction (stratified) for early stopping: training stops when
            ``monitor`` (``val_accuracy`` or ``val_loss``) has not improved for ``patience`` epochs
            and the best epoch's weights are kept.
        time_budget: seconds; training stops after the batch that crosses it.
        seed: makes a run repeatable on the same machine. verbose: 0, 1 or 2.
        embedding_dropout: drop whole words (rows of the embedding matrix) in training.
        weight_drop: DropConnect on the recurrent weights, one mask per batch (both from
            AWD-LSTM, :mod:`rnnkit.nn.regularizers`; 0 = off, the default).
        pretrained: a word-level ``LanguageModel`` or the path of its bundle: the vocabulary,
            tokenisation, embedding and recurrent layers come from it (cell, hidden_size,
            num_layers, embedding_dim too; a conflicting explicit value is a ConfigError;
            unidirectional). Unknown words of the data read as ``[UNK]``, counted in
            ``metrics_["pretrained"]``.
        window: None reads each text whole (up to ``max_length``); ``N`` reads it in windows of
            N tokens with the state carried over and pools over all of them (BPT3C; needs a
            unidirectional encoder, e.g. ``pretrained``; same result as reading whole).
        schedule, layer_lr_decay, unfreeze: the fine-tuning schedule of ULMFiT (off by default):
            ``"stlr"`` or ``"one-cycle"`` learning rates stepped every batch (or a per-epoch
            ``"cosine"``, ...), lr / ``layer_lr_decay`` ** depth per layer group (2.6 in the
            paper) and ``"gradual"`` unfreezing, top group first (see ``rnnkit.train.Trainer``).
        head: ``linear`` (one output layer), ``batchnorm`` (ULMFiT's batch-normalised two-layer
            head, see ``RecurrentClassifier``) or ``auto`` = ``batchnorm`` with ``pretrained``,
            else ``linear``.

    Attributes after ``fit``: ``classes_``, ``vectorizer_``, ``model_``, ``history_``, ``metrics_``.
    """

    task = TEXT_TASK
    network_params = (*ClassifierBase.network_params, "embedding_dim", "embedding_dropout",
                      "weight_drop", "window", "head")

    choices = {"monitor": ("val_accuracy", "val_loss"), "unfreeze": (None, "gradual"),
               "head": ("auto", *CLASSIFIER_HEADS)}
    vectorizer_: TextVectorizer | None = None
    transfer_: dict[str, Any] | None = None  # the vocabulary hand-over of ``pretrained``
    _language_model: Any = None  # the pretrained LM during fit (its weights are copied)

    def __init__(
        self, *, cell: Any = "lstm", bidirectional: Any = True, num_layers: Any = 1,
        hidden_size: Any = 64, embedding_dim: Any = 128, pooling: Any = "auto", dropout: Any = 0.5,
        recurrent_activation: Any = None, head_hidden: Any = None, max_tokens: Any = 20000,
        min_freq: Any = 2, split: Any = "auto", ngrams: Any = None, max_length: Any = 1000,
        truncation: Any = "post", batch_size: Any = 64, epochs: Any = 15, optimizer: Any = "adam",
        lr: Any = 0.001, weight_decay: Any = 0.0, clip_norm: Any = 1.0, validation_split: Any = 0.1,
        patience: Any = 3, monitor: Any = "val_accuracy", time_budget: Any = None, seed: Any = 0,
        verbose: Any = 1, embedding_dropout: Any = 0.0, weight_drop: Any = 0.0,
        pretrained: Any = None, window: Any = None,
        schedule: Any = None, layer_lr_decay: Any = None, unfreeze: Any = None,
        head: Any = "auto",
    ) -> None:
        self._store_params(locals())

    def _input_tags(self, input_tags: Any) -> Any:
        return input_tags(two_d_array=False, string=True)

    def _check_inputs(self, X: Any, name: str) -> list[str]:
        if isinstance(X, str):
            raise DataError(f"{name}: expected a list of texts, got one string; wrap it in a list")
        texts = list(X)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"{name}[{i}] is {type(text).__name__}, not a text string")
        return texts

    # ------------------------------------------------------------------ streaming
    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Sequence[Label] | None = None,
        validation_data: Any = None,
        epochs: int | None = None,
        time_budget: float | None = None,
        *,
        workers: int | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        checkpoint_every: int | None = None,
    ) -> TextClassifier:
        """Fit on texts ``X`` and labels ``y``, or on a :class:`TextShards` stream (labels inside
        it).

        With shards, ``validation_data`` may be other shards, ``(texts, labels)`` in memory, or
        None: then ``validation_split`` of the examples is held out by hash (no loading).
        See :meth:`ClassifierBase.fit` for the other arguments.
        """
        options: dict[str, Any] = {"workers": workers, "checkpoint_dir": checkpoint_dir,
                                   "resume": resume, "checkpoint_every": checkpoint_every}
        self._resolve_options()
        try:
            if not isinstance(X, TextShards):
                if y is None:
                    raise DataError("y: give one label per text (or pass TextShards, "
                                    "which carry labels)")
                super().fit(X, y, validation_data, epochs, time_budget, **options)
            else:
                self._fit_shards(X, y, validation_data, epochs, time_budget, options)
        finally:
            self._language_model = None  # its weights are in model_ now
        if self.transfer_ is not None and self.model_ is not None:
            self.metrics_["pretrained"] = self.transfer_
        return self

    def _resolve_options(self) -> None:
        """Options that come from elsewhere: a pretrained LM's encoder, ``auto`` pooling and
        head."""
        from rnnkit.tasks.transfer import (
            check_word_level,
            classifier_options,
            load_language_model,
        )

        self._resolved_params = {}
        self.transfer_ = None
        given = self.get_params(deep=False)
        resolved: dict[str, Any] = {}
        if given["pretrained"] is not None:
            lm, path = load_language_model(given["pretrained"], "pretrained")
            check_word_level(lm, path or "the LanguageModel")
            resolved = classifier_options(lm, given, TEXT_DEFAULTS)
            resolved["pretrained"] = path  # what the bundle records (None: an object)
            self._language_model = lm
        if given["pooling"] == "auto":
            resolved["pooling"] = "concat" if given["pretrained"] is not None else "max"
        if given["head"] == "auto":
            resolved["head"] = "batchnorm" if given["pretrained"] is not None else "linear"
        self._resolved_params = resolved

    def _fit_shards(
        self, X: TextShards, y: Any, validation_data: Any, epochs: int | None,
        time_budget: float | None, options: dict[str, Any],
    ) -> None:
        workers, checkpoint_dir, resume, checkpoint_every = (
            options["workers"], options["checkpoint_dir"], options["resume"],
            options["checkpoint_every"])
        self._validate_params()
        if y is not None:
            raise ConfigError("y: TextShards carry their labels; leave y=None")
        run = self._start_run(
            (X,),
            {"validation_data": validation_data, "epochs": epochs, "time_budget": time_budget},
            workers, checkpoint_dir, resume, checkpoint_every,
        )
        if run is None:
            return
        self._run_options = run
        self._fit_stream(X, validation_data, epochs, time_budget)

    def _fit_stream(
        self, shards: TextShards, validation_data: Any, epochs: int | None,
        time_budget: float | None
    ) -> TextClassifier:
        started = time.perf_counter()
        p = self.params
        train_shards, val_shards, val_memory = shards, None, None
        if isinstance(validation_data, TextShards):
            val_shards = validation_data
        elif validation_data is not None:
            val_memory = (self._check_inputs(validation_data[0], "validation_data"),
                          list(validation_data[1]))
        elif p.get("validation_split"):
            fraction = float(p["validation_split"])
            train_shards, val_shards = shards.select(fraction, 1.0), shards.select(0.0, fraction)
        vectorizer = self._new_vectorizer()
        ctx = distributed.context()
        rank, world = (ctx.rank, ctx.world_size) if ctx is not None else (0, 1)
        # Each worker scans its share of the files; the counts are gathered, not re-read.
        scan = scan_all(train_shards, vectorizer.tokenize, rank, world, distributed.gather_objects)
        if scan.examples == 0:
            raise DataError(f"{shards.source}: no training examples found; check the files")
        self._set_classes(scan.classes())
        if self._language_model is None:
            vectorizer.vocab = scan.vocabulary(p["max_tokens"], p["min_freq"])
        else:
            self._count_unknown(scan.tokens)
        self.vectorizer_ = vectorizer
        train_loader = StreamingLoader(
            train_shards, vectorizer, scan.label_index(), batch_size=p["batch_size"],
            seed=p["seed"], max_length=self._max_length(), truncation=p["truncation"], rank=rank,
            world_size=world, examples=scan.examples_for(train_shards, rank, world),
        )
        val_loader: Any = None
        if val_shards is not None:
            val_scan = scan_all(val_shards, None, rank, world, distributed.gather_objects)
            if val_scan.examples:
                index = {
                    raw: int(self._encode_labels([self._label_from_text(raw)])[0])
                    for raw in val_scan.labels
                }
                val_loader = StreamingLoader(
                    val_shards, vectorizer, index, batch_size=256, shuffle=False,
                    max_length=self._max_length(), truncation=p["truncation"], rank=rank,
                    world_size=world, examples=val_scan.examples_for(val_shards, rank, world),
                )
        elif val_memory is not None:
            val_loader = self._loader(val_memory[0], self._encode_labels(val_memory[1]), False, 256)
        torch.manual_seed(p.get("seed", 0))
        self.model_ = self._checked_network()
        self._initialize_network(self.model_)
        n_epochs = epochs if epochs is not None else p.get("epochs", 10)
        trainer = self._trainer(n_epochs, val_loader is not None)
        self.history_ = trainer.fit(
            self.model_, train_loader, validation_data=val_loader, epochs=n_epochs,
            time_budget=time_budget if time_budget is not None else p.get("time_budget"),
            final_validation=val_loader is not None, budget_start=started,
        )
        self.model_.eval()
        self.metrics_ = {"epochs_run": len(self.history_), "train_examples": scan.examples,
                         "stopped_reason": self.history_.stopped_reason}
        if distributed.is_main_process():
            if val_shards is not None and val_loader is not None:
                self.metrics_["validation"] = self._report_stream(val_shards)
            elif val_memory is not None:
                self.metrics_["validation"] = self.evaluate(*val_memory)
        self.metrics_["train_seconds"] = time.perf_counter() - started  # with the validation
        return self

    def _label_from_text(self, raw: str | None) -> Label:
        """A label read from a file (text) as the classes hold it (int classes -> int)."""
        text = (raw or "").strip()
        if self.classes_ and isinstance(self.classes_[0], int):
            try:
                return int(text)
            except ValueError:
                return text
        return text

    def _report_stream(self, shards: TextShards, chunk: int = 4096) -> dict[str, Any]:
        truth: list[np.ndarray] = []
        guess: list[np.ndarray] = []
        for texts, raw in iter_chunks(shards, chunk):
            truth.append(self._encode_labels([self._label_from_text(r) for r in raw],
                                             shards.source))
            guess.append(self.predict_proba(texts).argmax(axis=1))
        if not truth:
            raise DataError(f"{shards.source}: no examples to evaluate")
        return classification_report(np.concatenate(truth), np.concatenate(guess), self.classes_)

    def evaluate(self, X: Any, y: Sequence[Label] | None = None) -> dict[str, Any]:
        """Accuracy, macro precision/recall/F1, per-class numbers and the confusion matrix; ``X``
        may be :class:`TextShards` (scored chunk by chunk, labels from the files)."""
        if isinstance(X, TextShards):
            self._require_fitted()
            return self._report_stream(X)
        if y is None:
            raise DataError("y: give one label per text (or pass TextShards, which carry labels)")
        return super().evaluate(X, y)

    def wordless(self, X: Any) -> list[int]:
        """The indices of the texts of ``X`` without a single token after standardization (empty,
        or only punctuation): the model would label them from no words at all. ``rnnkit text
        predict`` refuses such texts with this."""
        self._require_fitted()
        texts = self._check_inputs(X, "X")
        assert self.vectorizer_ is not None  # fitted
        return [i for i, ids in enumerate(self.vectorizer_.transform(texts)) if len(ids) == 0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, C)``, columns in the order of ``classes_``.

        A text without a single token (empty, or only punctuation: see :meth:`wordless`) gets the
        model's answer for no words at all, its prior: a :class:`rnnkit.errors.RnnkitWarning`
        says so (once per call, with the count).
        """
        texts = self._check_inputs(X, "X")
        wordless = self.wordless(texts)
        if wordless:
            warnings.warn(
                f"X: {len(wordless)} text{'s' if len(wordless) > 1 else ''} without words (first "
                f"at index {wordless[0]}: {texts[wordless[0]]!r}); the label is a guess from no "
                "words", RnnkitWarning, stacklevel=2,
            )
        return super().predict_proba(texts)

    def score(self, X: Any, y: Sequence[Label] | None = None) -> float:
        """Accuracy on texts ``X`` against labels ``y`` (or on :class:`TextShards`)."""
        return float(self.evaluate(X, y)["accuracy"])

    def _fit_pipeline(self, X: Sequence[str]) -> None:
        vectorizer = self._new_vectorizer()
        if self._language_model is None:
            self.vectorizer_ = vectorizer.fit(X)
            return
        self.vectorizer_ = vectorizer
        counts: Counter[str] = Counter()
        for text in X:
            counts.update(vectorizer.tokenize(text))
        self._count_unknown(counts)

    def _new_vectorizer(self) -> TextVectorizer:
        """The pretrained LM's vectorizer (a copy), or a new one from the options."""
        if self._language_model is not None:
            from rnnkit.tasks.transfer import copied_vectorizer

            return copied_vectorizer(self._language_model)
        p = self.params
        return TextVectorizer(max_tokens=p["max_tokens"], min_freq=p["min_freq"], split=p["split"],
                              ngrams=p["ngrams"])

    def _count_unknown(self, counts: Counter[str]) -> None:
        from rnnkit.tasks.transfer import oov_report

        vectorizer = self._language_model.vectorizer_
        self.transfer_ = oov_report(counts, vectorizer.vocabulary, self.params["pretrained"])

    def _initialize_network(self, model: Any) -> None:
        if self._language_model is not None:
            from rnnkit.tasks.transfer import copy_encoder

            copy_encoder(self._language_model, model.embedding, model.encoder)

    def _max_length(self) -> int | None:
        """Tokens kept per text: all of them when reading in windows."""
        p = self.params
        return None if p["window"] is not None else p["max_length"]

    def _loader(
        self, X: Sequence[str], y: np.ndarray | None, shuffle: bool, batch_size: int
    ) -> BucketLoader:
        assert self.vectorizer_ is not None
        p = self.params
        sequences: list[np.ndarray] = list(self.vectorizer_.transform(X))
        return BucketLoader(
            sequences, targets=y, batch_size=batch_size, shuffle=shuffle,
            seed=p["seed"], max_length=self._max_length(), truncation=p["truncation"],
        )

    def _network_inputs(self) -> dict[str, Any]:
        assert self.vectorizer_ is not None
        return {"vocab_size": self.vectorizer_.vocabulary_size}

    def _pipeline_state(self) -> dict[str, Any]:
        assert self.vectorizer_ is not None
        import json

        return {"vectorizer": json.loads(self.vectorizer_.to_json())}

    @classmethod
    def _params_from(cls, parts: BundleParts) -> dict[str, Any]:
        params = super()._params_from(parts)
        params.setdefault("head", "linear")  # bundles written before the option: one linear layer
        return params

    def _restore_pipeline(self, parts: BundleParts) -> None:
        import json

        self.vectorizer_ = TextVectorizer.from_json(json.dumps(parts.json("vectorizer")))

    def explain(self, text: str, target: Any = None, method: str = "integrated_gradients") -> Any:
        """Per-token importance for the prediction on one ``text`` (see
        :mod:`rnnkit.inspect.saliency`).

        Returns an ``Explanation`` with ``tokens``, ``scores`` (positive = for the class),
        ``label``, ``probability``, ``pairs()``, ``top(k)`` and ``to_html()``. ``method``:
        ``integrated_gradients`` (default) or ``occlusion``.
        """
        from rnnkit.inspect.saliency import explain_text

        return explain_text(self, text, target=target, method=method)


register_task(TextClassifier.task, TextClassifier._from_parts)

__all__ = ["TextClassifier", "TEXT_DEFAULTS"]
