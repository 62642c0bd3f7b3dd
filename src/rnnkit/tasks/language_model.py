"""``LanguageModel``: learn a character- or word-level model of a text and generate from it.

The char-rnn recipe with the verbs of a scikit-learn estimator:

    text --TextVectorizer--> ids (N,) --StreamLoader--> B streams x bptt-step windows
    ids (B, T) --Embedding (or one-hot)--> stacked LSTM/GRU/RNN --dropout--> Linear
        --> logits (B, T, V)

Training is truncated BPTT: the network keeps its hidden state between calls (detached, so
gradients stop at the window boundary) and the loader's ``reset`` flags zero it at the start of
every pass, so the stateless :class:`rnnkit.train.Trainer` runs it unchanged (time budget,
progress, checkpoints, seed). The loss is cross entropy over ``(B, T, V)`` against the next token;
validation reports nats per token, perplexity and, at character level, bits per character.

Tokens come from :class:`rnnkit.data.TextVectorizer`, by default with ``standardize=None`` (text is
modelled as is, case and punctuation included; ``standardize="lower_and_split_punctuation"``
lower-cases it and makes every punctuation mark a word, the recipe for a model a classifier builds
on):

- ``level="char"``: ``split="character"``; every character, spaces and newlines included, is a
  token. Works for any script (Chinese, Japanese, ...).
- ``level="word"``: ``split="auto"`` (whitespace, plus one token per CJK character) applied line
  by line, with the line break kept as the reserved token ``"\\n"``. Punctuation stays attached to
  its word (``"lord,"`` and ``"lord"`` are different tokens) unless ``standardize`` separates it.
  Generated words are joined by single spaces (none around CJK characters).

Generation runs one step at a time with the carried state (the prime is read once):
:meth:`LanguageModel.stream` yields text pieces as they are sampled, :meth:`LanguageModel.generate`
returns the whole string.

Example:
    >>> from rnnkit.tasks import LanguageModel
    >>> lm = LanguageModel(hidden_size=16, num_layers=1, embedding_dim=None, epochs=150, lr=0.05,
    ...                    valid_fraction=0, verbose=0).fit("hello")
    >>> lm.generate("h", length=4, temperature=0)
    'hello'
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from rnnkit.data.lm_streams import StreamLoader, normalize_newlines, read_corpus, split_tail

# CJK_CHAR: the CJK ranges the "auto" split uses (one definition)
from rnnkit.data.text import CJK_CHAR, STANDARDIZE_MODES, get_standardizer
from rnnkit.data.vectorizer import TextVectorizer
from rnnkit.data.vocabulary import OOV_ID, PAD_ID
from rnnkit.errors import BundleError, ConfigError, DataError
from rnnkit.io import register_task
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.base import Estimator
from rnnkit.tasks.defaults import LM_DEFAULT_EPOCHS, LM_DEFAULTS, LM_TASK
from rnnkit.tasks.lm_model import (
    BLOCKS,
    RecurrentLanguageModel,
    check_block_options,
    check_cutoffs,
    frequency_cutoffs,
)
from rnnkit.tasks.sampling import check_sampling, make_generator, sample_next, until_stop
from rnnkit.train import Callback, EarlyStopping, History, Trainer, distributed
from rnnkit.train.callbacks import TimeDecay
from rnnkit.train.metrics import bits_per_character, perplexity

NEWLINE = "\n"
#: What the language model reads: a text, a file, or a list of texts and files.
Corpus = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
LEVELS = ("char", "word")
OUTPUTS = ("full", "adaptive")
#: The document separator ``rnnkit lm train`` puts between the texts of a table or class folders
#: (U+241E SYMBOL FOR RECORD SEPARATOR: one visible character, one token at both levels).
DOCUMENT_SEPARATOR = "\u241e"

#: Epochs when neither ``epochs`` nor a time budget is given (see LM_DEFAULT_EPOCHS).
DEFAULT_EPOCHS = LM_DEFAULT_EPOCHS
#: What the learning-rate decay is told under a budget (it decays by the clock then).
EPOCHS_UNDER_BUDGET = 1000

class LanguageModel(Estimator):
    """A recurrent language model with ``fit`` / ``generate`` / ``stream`` / ``score`` / ``save``.

    ``X`` is text: a ``str``, a file (``os.PathLike``) or a list of them (joined in order; so
    scikit-learn's splitters see a list of texts); ``y`` is unused. ``score(X)`` is minus the
    loss in nats per token (higher is better); ``evaluate(X)`` adds perplexity and bits per
    character.

    Args (all keyword; defaults in ``LM_DEFAULTS``):
        level: ``char`` or ``word`` (see the module docstring for how text is split).
        cell, hidden_size, num_layers, embedding_dim (None = one-hot), dropout, tie_weights: the
            network (:class:`RecurrentLanguageModel`).
        max_tokens, min_freq: vocabulary limits (rarer tokens become ``[UNK]``).
        bptt: steps per window (truncated BPTT). batch_size: parallel streams.
        windows: ``stateful`` (carry the state across windows) or ``random`` (shuffled windows,
            state reset every batch).
        epochs: passes over the text; None = 20, or until ``time_budget`` runs out when one is set.
        optimizer, lr, weight_decay, clip_norm: training. lr_decay: ``time`` (linear decay to
            0.1 x lr over the time budget, or over the epochs) or None.
        schedule, layer_lr_decay: the fine-tuning schedule of ULMFiT's second stage (with
            ``init``), as ``TextClassifier``'s (off by default): ``"stlr"`` or ``"one-cycle"``
            learning rates stepped every batch (or a per-epoch ``"cosine"``, ...), and lr /
            ``layer_lr_decay`` ** depth per layer group (2.6 in the paper; groups:
            :meth:`RecurrentLanguageModel.layer_groups`). A ``schedule`` replaces ``lr_decay``
            (the model records ``lr_decay=None`` then); ``layer_lr_decay`` works with either.
        valid_fraction: the contiguous tail of the text held out for validation (0 = none).
        valid_batch_size: streams used for validation and :meth:`score`.
        patience: early stopping on validation loss (best weights kept); None/0 disables it.
        time_budget: seconds; training stops after the batch that crosses it.
        seed: makes training repeatable on the same machine. verbose: 0, 1 or 2.
        locked_dropout, embedding_dropout, weight_drop, ar, tar: the AWD-LSTM regularisers
            (Merity et al. 2017; :mod:`rnnkit.nn.regularizers`): ``dropout`` drawn once per
            sequence instead of per step, whole words dropped, DropConnect on the recurrent
            weights (one mask per batch), and the activation (``ar``) and temporal activation
            (``tar``) penalties added to the training loss. All off by default.
        output: ``full`` (softmax over the vocabulary) or ``adaptive`` (an adaptive softmax:
            training does not cost the whole vocabulary per token; for word level). cutoffs: its
            cluster bounds (increasing ids); None = by frequency, the head holding the words of
            80% of the training tokens and the first tail those up to 95%.
        block: ``plain`` (the recurrent layers stacked) or ``residual`` (pre-norm residual
            blocks, each a causal convolution of width ``conv_kernel`` before the recurrence:
            :class:`rnnkit.nn.blocks.ResidualBlocks`; the better stack for the scan cells such
            as ``mingru``, see docs/lm.md "Results"). ``dropout`` then also drops each
            block's recurrence output.
        document_separator: None (the texts of a list are joined with line breaks), or one token
            (no whitespace; one character at char level) put between the items of a list, each
            then a document. ``rnnkit lm train`` uses ``DOCUMENT_SEPARATOR`` for tables and class
            folders.
        standardize: how text is cleaned before it is split into tokens: None (as it is: case
            kept, punctuation attached to its word, so ``"film."`` and ``"film"`` differ),
            ``"lower_and_split_punctuation"`` (lower case, HTML tags removed, every punctuation
            mark its own word: the word-level recipe for classifiers built on the model), or
            another :data:`rnnkit.data.text.STANDARDIZE_MODES` name. Generation prints the cleaned
            tokens, and a classifier built on the model (``pretrained=``) cleans its texts alike.
        init: a fitted ``LanguageModel`` or the path of its bundle to continue training from
            (fine-tuning on a target text, ULMFiT's second stage): its vocabulary (new words read
            as ``[UNK]``, counted in ``metrics_["init"]``), tokenisation, network options and
            weights are kept; a conflicting explicit option is a ConfigError.

    Attributes after ``fit``: ``vectorizer_``, ``model_``, ``history_``, ``metrics_``, and with
    ``output="adaptive"`` ``cutoffs_``.
    """

    task = LM_TASK
    network_params = ("embedding_dim", "cell", "hidden_size", "num_layers", "dropout",
                      "tie_weights", "locked_dropout", "embedding_dropout", "weight_drop", "ar",
                      "tar", "output", "block", "conv_kernel")

    choices = {"level": LEVELS, "lr_decay": ("time", None), "windows": ("stateful", "random"),
               "locked_dropout": (False, True), "output": OUTPUTS, "block": BLOCKS,
               "standardize": STANDARDIZE_MODES}
    level: Any  # the option (set by __init__)
    vectorizer_: TextVectorizer | None = None
    cutoffs_: list[int] | None = None
    init_report_: dict[str, Any] | None = None  # the vocabulary hand-over of ``init``
    _initial: Any = None  # the model of ``init`` during fit
    model_: RecurrentLanguageModel | None = None
    history_: History | None = None

    def __init__(
        self, *, level: Any = "char", cell: Any = "lstm", hidden_size: Any = 256,
        num_layers: Any = 2, embedding_dim: Any = 64, dropout: Any = 0.1, tie_weights: Any = False,
        max_tokens: Any = None, min_freq: Any = 1, bptt: Any = 64, batch_size: Any = 32,
        windows: Any = "stateful", epochs: Any = None, optimizer: Any = "adam", lr: Any = 0.003,
        weight_decay: Any = 0.0, clip_norm: Any = 1.0, lr_decay: Any = "time",
        valid_fraction: Any = 0.1, valid_batch_size: Any = 32, patience: Any = 3,
        time_budget: Any = None, seed: Any = 0, verbose: Any = 1, locked_dropout: Any = False,
        embedding_dropout: Any = 0.0, weight_drop: Any = 0.0, ar: Any = 0.0, tar: Any = 0.0,
        output: Any = "full", cutoffs: Any = None, block: Any = "plain", conv_kernel: Any = 4,
        document_separator: Any = None,
        standardize: Any = None, init: Any = None, schedule: Any = None,
        layer_lr_decay: Any = None,
    ) -> None:
        self._store_params(locals())

    def _input_tags(self, input_tags: Any) -> Any:
        return input_tags(two_d_array=False, string=True)

    @property
    def _level(self) -> str:
        return str(self.params["level"])

    def _resolve_init(self) -> None:
        """With ``init``: take the options it fixes (checked against the given ones) and keep the
        model for its vectorizer and weights until ``fit`` has copied them."""
        from rnnkit.tasks.transfer import LM_OPTIONS, fixed_options, load_language_model

        self._resolved_params = {}
        self.init_report_: dict[str, Any] | None = None
        self._initial = None
        given = self.get_params(deep=False)
        if given["init"] is None:
            return
        lm, path = load_language_model(given["init"], "init")
        fixed = {name: lm.params[name] for name in LM_OPTIONS}
        fixed_options(given, fixed, LM_DEFAULTS, "LanguageModel", "language model of init")
        for name in ("max_tokens", "min_freq"):
            if given[name] != LM_DEFAULTS[name]:
                raise ConfigError(f"LanguageModel: {name}={given[name]!r} cannot apply: init keeps "
                                  f"the vocabulary of its model; leave {name} unset")
        self._resolved_params = {**fixed, "init": path}
        self._initial = lm

    def _validate_params(self) -> dict[str, Any]:
        p = super()._validate_params()
        if p["cutoffs"] is not None:
            if p["output"] != "adaptive":
                raise ConfigError("LanguageModel: cutoffs are for output='adaptive'; "
                                  "drop them or set output='adaptive'")
            check_cutoffs(p["cutoffs"], 1 << 62)  # types and order; the range at fit
        check_block_options(p["block"], p["cell"], p["conv_kernel"], p["locked_dropout"],
                            p["weight_drop"], "LanguageModel: ")
        if p["output"] == "adaptive" and p["tie_weights"]:
            raise ConfigError("LanguageModel: tie_weights works with output='full' only; "
                              "drop one of them")
        separator = p["document_separator"]
        if separator is not None and (
            not isinstance(separator, str) or not separator or _has_space(separator)
            or (p["level"] == "char" and len(separator) != 1)
        ):
            raise ConfigError(
                f"LanguageModel: document_separator={separator!r} must be one token without "
                f"whitespace (one character at level='char'), e.g. {DOCUMENT_SEPARATOR!r}, or None"
            )
        clean = get_standardizer(p["standardize"])
        if separator is not None and clean is not None and clean(separator).split() != [separator]:
            raise ConfigError(
                f"LanguageModel: document_separator={separator!r} does not survive "
                f"standardize={p['standardize']!r} as one token; choose a separator it keeps, "
                f"e.g. {DOCUMENT_SEPARATOR!r}"
            )
        return p

    # ------------------------------------------------------------------ text <-> ids
    def _new_vectorizer(self) -> TextVectorizer:
        p = self.params
        if self._level == "char":
            return TextVectorizer(
                max_tokens=p["max_tokens"], min_freq=p["min_freq"], standardize=p["standardize"],
                split="character"
            )
        separator = p["document_separator"]
        return TextVectorizer(
            max_tokens=p["max_tokens"], min_freq=p["min_freq"], standardize=p["standardize"],
            split="auto",
            reserved=(NEWLINE,) if separator is None else (NEWLINE, separator),
        )

    def _take_vectorizer(self, text: str) -> None:
        """``init``: a copy of its model's vectorizer; count the words of ``text`` it lacks."""
        from rnnkit.tasks.transfer import copied_vectorizer, oov_report

        assert self._initial is not None
        self.vectorizer_ = vec = copied_vectorizer(self._initial)
        tokens = vec.tokenize(text) if self._level == "char" else _word_tokens(vec, text)
        self.init_report_ = oov_report(Counter(tokens), vec.vocabulary, self.params["init"])

    def _fit_vectorizer(self, text: str) -> None:
        self.vectorizer_ = self._new_vectorizer()
        self.vectorizer_.fit([text] if self._level == "char" else text.split(NEWLINE))

    def _encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (N,); unknown tokens become OOV (id 1)."""
        vec = self._require_vectorizer()
        if self._level == "char":
            ids = vec.transform([text])[0]
            return np.asarray(ids, dtype=np.int64)
        lines = text.split(NEWLINE)
        newline = np.array([vec.vocab.id_of(NEWLINE)], dtype=np.int64)  # type: ignore[union-attr]
        parts: list[np.ndarray] = []
        for i, ids in enumerate(vec.transform(lines)):
            if i:
                parts.append(newline)
            parts.append(np.asarray(ids, dtype=np.int64))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _encode_prime(self, prime: str, unknown: str) -> np.ndarray:
        if unknown not in ("error", "oov"):
            raise ConfigError(f"unknown={unknown!r} is unknown; use 'error' or 'oov'")
        prime = normalize_newlines(prime)
        ids = self._encode(prime)
        if unknown == "error" and bool((ids == OOV_ID).any()):
            vec = self._require_vectorizer()
            tokens = vec.tokenize(prime) if self._level == "char" else _word_tokens(vec, prime)
            missing = sorted({t for t in tokens if t not in vec.vocab.token_to_id})  # type: ignore[union-attr]
            shown = ", ".join(repr(t) for t in missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise DataError(
                f"prime: {len(missing)} {'character' if self._level == 'char' else 'word'}(s) not "
                f"in the model's vocabulary ({shown}); remove them, or read them as [UNK] with "
                "unknown='oov' (CLI: --oov)"
            )
        return ids

    def _start_id(self) -> int:
        """What the network reads first when there is no prime: a line break, as at a text's start.
        """
        vocab = self._require_vectorizer().vocab
        assert vocab is not None
        separator = self.params["document_separator"]
        if separator is not None and separator in vocab:  # a document's start
            return vocab.id_of(separator)
        if NEWLINE in vocab:
            return vocab.id_of(NEWLINE)
        return 2 + len(vocab.reserved)  # the most frequent token

    # ------------------------------------------------------------------ training
    def fit(
        self,
        X: Corpus,
        y: None = None,
        validation_data: Corpus | None = None,
        epochs: int | None = None,
        time_budget: float | None = None,
        *,
        workers: int | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        checkpoint_every: int | None = None,
    ) -> LanguageModel:
        """Learn the vocabulary and the network from the text ``X``; returns self (``y``: unused).

        ``X`` (and ``validation_data``): a text (``str``), a file (``pathlib.Path`` or any
        ``os.PathLike``; gzip/bzip2/xz and BOMs handled), or a list of texts and files, joined in
        order (each followed by a line break). A ``str`` is always text, never a file name. Without
        ``validation_data`` the last ``valid_fraction`` of the text is held out (contiguous; at word
        level the cut moves to the next whitespace).

        ``workers``: data-parallel processes on this machine (PyTorch DDP; the B parallel streams
        of every batch are split between them). ``checkpoint_dir``: checkpoint after every epoch
        (and every ``checkpoint_every`` batches); ``resume``: continue from it.
        """
        self._check_y_unused(y)
        self._resolve_init()
        if self.params["schedule"] is not None:
            # one learning-rate schedule at a time: the named one replaces the default decay
            self._resolved_params["lr_decay"] = None
        try:
            return self._fit(X, validation_data, epochs, time_budget, workers, checkpoint_dir,
                             resume, checkpoint_every)
        finally:
            self._initial = None  # its weights are in model_ now

    def _fit(
        self, X: Corpus, validation_data: Corpus | None, epochs: int | None,
        time_budget: float | None, workers: int | None,
        checkpoint_dir: str | os.PathLike[str] | None, resume: bool, checkpoint_every: int | None,
    ) -> LanguageModel:
        p = self._validate_params()
        run = self._start_run(
            (X,),
            {"validation_data": validation_data, "epochs": epochs, "time_budget": time_budget},
            workers, checkpoint_dir, resume, checkpoint_every,
        )
        if run is None:
            return self
        started = time.perf_counter()
        separator = self._joiner_of_documents()
        text = gather_text(X, "X", separator)
        if validation_data is not None:
            train_text = text
            valid_text = gather_text(validation_data, "validation_data", separator)
        else:
            train_text, valid_text = split_tail(
                text, p["valid_fraction"], at_whitespace=self._level == "word"
            )
        if self._initial is None:
            self._fit_vectorizer(train_text)
        else:
            self._take_vectorizer(train_text)
        train_ids = self._encode(train_text)
        if len(train_ids) < 2:
            raise DataError(
                f"the training text has {len(train_ids)} token(s); give a longer text "
                "(or a smaller valid_fraction)"
            )
        valid_loader = None
        if valid_text:
            valid_ids = self._encode(valid_text)
            if len(valid_ids) < 2:
                raise DataError(
                    f"the validation part has {len(valid_ids)} token(s); give more text, a larger "
                    "valid_fraction, or valid_fraction=0"
                )
            valid_loader = StreamLoader(valid_ids, p["valid_batch_size"], p["bptt"])
        train_loader = StreamLoader(train_ids, p["batch_size"], p["bptt"], mode=p["windows"],
                                    seed=p["seed"])
        if p["output"] == "adaptive":
            self.cutoffs_ = (self._cutoffs(train_ids) if self._initial is None
                             else self._initial.cutoffs_)
        torch.manual_seed(p["seed"])
        self.model_ = self._checked_network()
        if self._initial is not None:
            self.model_.load_state_dict(self._initial.model_.state_dict())
        budget = time_budget if time_budget is not None else p["time_budget"]
        # no epoch count under a budget: train until it runs out
        n_epochs = epochs or p["epochs"] or (None if budget else DEFAULT_EPOCHS)
        callbacks: list[Callback] = []
        if valid_loader is not None and p["patience"]:
            callbacks.append(EarlyStopping("val_loss", patience=p["patience"],
                                           restore_best_weights=True))
        if p["lr_decay"] == "time":
            callbacks.append(
                TimeDecay(budget, n_epochs or EPOCHS_UNDER_BUDGET, len(train_loader))
            )
        trainer = Trainer(
            loss=self.model_.loss_function(), optimizer=p["optimizer"], lr=p["lr"],
            weight_decay=p["weight_decay"], clip_norm=p["clip_norm"], metrics=(),
            callbacks=callbacks, seed=p["seed"], verbose=p["verbose"],
            fingerprint=self._fingerprint(), **self._schedule_options(), **run,
        )
        self.history_ = trainer.fit(
            self.model_, train_loader, validation_data=valid_loader, epochs=n_epochs,
            time_budget=budget, final_validation=valid_loader is not None, budget_start=started,
        )
        self.model_.eval()
        self.model_.reset_state()
        self.metrics_ = {
            "epochs_run": len(self.history_),
            "stopped_reason": self.history_.stopped_reason,
            "train_tokens": int(len(train_ids)),
            "vocabulary_size": self._require_vectorizer().vocabulary_size,
        }
        if self.init_report_ is not None:
            self.metrics_["init"] = self.init_report_
        if valid_loader is not None and distributed.is_main_process():
            self.metrics_["validation"] = self._evaluate(valid_loader)
        # the training phase: data preparation, training and the validation report
        self.metrics_["train_seconds"] = time.perf_counter() - started
        return self

    def _build_network(self) -> RecurrentLanguageModel:
        p = self.params
        kwargs = {k: p[k] for k in self.network_params}
        if p["output"] == "adaptive":
            kwargs["cutoffs"] = self.cutoffs_
        return RecurrentLanguageModel(self._require_vectorizer().vocabulary_size, **kwargs)

    def _cutoffs(self, train_ids: np.ndarray) -> list[int]:
        """The adaptive softmax's cluster bounds: the option, checked against the vocabulary, or
        chosen from the training tokens' frequencies."""
        size = self._require_vectorizer().vocabulary_size
        if self.params["cutoffs"] is not None:
            return check_cutoffs(self.params["cutoffs"], size)
        return frequency_cutoffs(np.bincount(train_ids, minlength=size))

    def _joiner_of_documents(self) -> str | None:
        """What goes between the documents of a list: None (line breaks: not documents)."""
        separator = self.params["document_separator"]
        if separator is None:
            return None
        return f" {separator} " if self._level == "word" else separator

    def _evaluate(self, loader: StreamLoader) -> dict[str, Any]:
        model = self._require_fitted()
        loss = Trainer(loss=model.loss_function(), metrics=(), seed=None, verbose=0).evaluate(
            model, loader
        )["loss"]
        model.reset_state()
        report: dict[str, Any] = {"loss": float(loss), "perplexity": perplexity(loss),
                                  "tokens": loader.tokens}
        report["bpc"] = bits_per_character(loss) if self._level == "char" else None
        return report

    # ------------------------------------------------------------------ inference
    def _require_vectorizer(self) -> TextVectorizer:
        if self.vectorizer_ is None:
            raise ConfigError("this LanguageModel is not fitted yet; call fit() or load() first")
        return self.vectorizer_

    def evaluate(self, X: Corpus, y: None = None) -> dict[str, Any]:
        """Cross entropy of the text ``X`` under the model: ``{"loss" (nats per token),
        "perplexity", "bpc" (char level, else None), "tokens"}`` (``y``: unused).

        The text is read as ``valid_batch_size`` parallel streams, exactly like validation during
        ``fit``; tokens outside the vocabulary count as ``[UNK]``.
        """
        self._require_fitted()
        self._check_y_unused(y)
        ids = self._encode(gather_text(X, "X", self._joiner_of_documents()))
        if len(ids) < 2:
            raise DataError("X: the text needs at least 2 tokens to be scored")
        return self._evaluate(StreamLoader(ids, self.params["valid_batch_size"],
                                           self.params["bptt"]))

    def score(self, X: Corpus, y: None = None) -> float:
        """Minus the loss (nats per token) of the text ``X``: higher is better, as scikit-learn's
        ``GridSearchCV`` expects (perplexity is ``exp(-score)``); :meth:`evaluate` gives the
        report."""
        return -float(self.evaluate(X, y)["loss"])

    def stream(
        self,
        prime: str = "",
        length: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stop: str | None = None,
        seed: int | None = None,
        unknown: str = "error",
    ) -> Iterator[str]:
        """Yield the continuation of ``prime`` piece by piece as it is sampled (prime not included).

        Args:
            prime: the text to continue. An empty prime starts as if at a line start. Characters
                (words) not in the vocabulary raise :class:`DataError`, or with ``unknown="oov"``
                are read as ``[UNK]``.
            length: tokens to generate (characters, or words and line breaks).
            temperature: 0 = greedy (arg-max); < 1 sharper, > 1 more random.
            top_k, top_p: sample only among the k most likely tokens / the nucleus of mass p.
            stop: end before the first occurrence of this string (not emitted).
            seed: makes the sample repeatable.

        Padding and ``[UNK]`` are never generated.
        """
        model = self._require_fitted()
        check_sampling(temperature, top_k, top_p)
        if length < 0:
            raise ConfigError(f"length={length} must be >= 0")
        ids = self._encode_prime(prime, unknown)
        pieces = self._pieces(model, ids, prime, length, temperature, top_k, top_p,
                              make_generator(seed))
        return until_stop(pieces, stop)

    def _pieces(
        self, model: RecurrentLanguageModel, ids: np.ndarray, prime: str, length: int,
        temperature: float, top_k: int | None, top_p: float | None, generator: torch.Generator,
    ) -> Iterator[str]:
        vocab = self._require_vectorizer().vocabulary
        if len(ids) == 0:
            ids = np.array([self._start_id()], dtype=np.int64)
        joiner = _Joiner(self._level, prime)
        model.eval()
        with torch.inference_mode():
            logits, state = model.run(torch.from_numpy(ids)[None, :])
            for i in range(length):
                token_id = int(sample_next(
                    logits[0, -1], temperature, top_k, top_p, generator, banned=(PAD_ID, OOV_ID)
                ))
                yield joiner.piece(vocab[token_id])
                if i + 1 < length:
                    logits, state = model.run(torch.tensor([[token_id]]), state)

    def generate(
        self,
        prime: str = "",
        length: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stop: str | None = None,
        seed: int | None = None,
        unknown: str = "error",
        include_prime: bool = True,
    ) -> str:
        """The prime followed by its sampled continuation (see :meth:`stream` for the options)."""
        text = "".join(self.stream(prime, length, temperature, top_k, top_p, stop, seed, unknown))
        return prime + text if include_prime else text

    # ------------------------------------------------------------------ bundles
    def _bundle_config(self) -> dict[str, Any]:
        network: dict[str, Any] = {"vocab_size": self._require_vectorizer().vocabulary_size}
        if self.cutoffs_ is not None:
            network["cutoffs"] = list(self.cutoffs_)
        return {"network": network}

    def _bundle_state(self) -> dict[str, Any]:
        return {"vectorizer": json.loads(self._require_vectorizer().to_json())}

    @classmethod
    def _from_parts(cls, parts: BundleParts) -> LanguageModel:
        obj = cls._from_bundle_params(parts)
        obj.vectorizer_ = TextVectorizer.from_json(json.dumps(parts.json("vectorizer")))
        if obj.params["output"] == "adaptive":
            cutoffs = parts.section("network", dict).get("cutoffs")
            try:
                obj.cutoffs_ = check_cutoffs(cutoffs, obj.vectorizer_.vocabulary_size)
            except ConfigError as error:
                raise BundleError(
                    f"bundle {parts.path}: network {error}; re-save the model"
                ) from None
        obj._restore_network(parts)
        return obj


class _Joiner:
    """Turns generated tokens into text: characters as they are; words with single spaces
    between them, none after a line break or around CJK characters."""

    def __init__(self, level: str, prime: str) -> None:
        self.level = level
        self.last = prime[-1] if prime else NEWLINE

    def piece(self, token: str) -> str:
        if self.level == "char" or token == NEWLINE:
            text = token
        elif self.last.isspace() or _is_cjk(self.last) or _is_cjk(token[0]):
            text = token
        else:
            text = " " + token
        if text:
            self.last = text[-1]
        return text


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)


def _is_cjk(char: str) -> bool:
    return bool(CJK_CHAR.match(char))


def _word_tokens(vec: TextVectorizer, text: str) -> list[str]:
    return [t for line in text.split(NEWLINE) for t in vec.tokenize(line)]


def gather_text(data: Any, name: str, separator: str | None = None) -> str:
    """One text from a ``str`` (text), an ``os.PathLike`` (file) or a list of them, in order:
    each followed by a line break, or with ``separator`` each a document (its surrounding
    whitespace stripped) and the separator between them."""
    items = [data] if isinstance(data, (str, os.PathLike)) else data
    try:
        items = list(items)
    except TypeError:
        raise DataError(f"{name}: expected a text, a file path or a list of them, "
                        f"got {type(data).__name__}") from None
    if not items:
        raise DataError(f"{name}: nothing given; pass a text or a file path")
    parts = []
    for i, item in enumerate(items):
        if isinstance(item, os.PathLike):
            text = read_corpus([item])
        elif isinstance(item, str):
            text = normalize_newlines(item)
        else:
            raise DataError(f"{name}[{i}] is {type(item).__name__}; give texts (str) or paths "
                            "(pathlib.Path)")
        if separator is not None:
            text = text.strip()
        elif isinstance(item, str) and len(items) > 1 and not text.endswith(NEWLINE):
            text += NEWLINE
        parts.append(text)
    text = "".join(parts) if separator is None else separator.join(p for p in parts if p)
    if not text.strip():
        raise DataError(f"{name}: the text is empty; give a non-empty text or file")
    return text


register_task(LanguageModel.task, LanguageModel._from_parts)

__all__ = ["LanguageModel", "RecurrentLanguageModel", "TimeDecay", "LM_DEFAULTS", "gather_text"]
