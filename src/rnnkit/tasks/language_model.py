"""``LanguageModel``: learn a character- or word-level model of a text and generate from it.

The char-rnn recipe with the verbs of a scikit-learn estimator:

    text --TextVectorizer--> ids (N,) --StreamLoader--> B streams x bptt-step windows
    ids (B, T) --Embedding (or one-hot)--> stacked LSTM/GRU/RNN --dropout--> Linear --> logits (B, T, V)

Training is truncated BPTT: the network keeps its hidden state between calls (detached, so
gradients stop at the window boundary) and the loader's ``reset`` flags zero it at the start of
every pass, so the stateless :class:`rnnkit.train.Trainer` runs it unchanged (time budget,
progress, checkpoints, seed). The loss is cross entropy over ``(B, T, V)`` against the next token;
validation reports nats per token, perplexity and, at character level, bits per character.

Tokens come from :class:`rnnkit.data.TextVectorizer` with ``standardize=None`` (text is modelled as
is, case and punctuation included):

- ``level="char"``: ``split="character"``; every character, spaces and newlines included, is a
  token. Works for any script (Chinese, Japanese, ...).
- ``level="word"``: ``split="auto"`` (whitespace, plus one token per CJK character) applied line
  by line, with the line break kept as the reserved token ``"\\n"``. Punctuation stays attached to
  its word (``"lord,"`` and ``"lord"`` are different tokens); separate it beforehand if you want
  otherwise. Generated words are joined by single spaces (none around CJK characters).

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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.data.lm_streams import StreamLoader, normalize_newlines, read_corpus, split_tail
from rnnkit.data.text import CJK_CHAR  # the CJK ranges the "auto" split uses; one definition
from rnnkit.data.vectorizer import TextVectorizer
from rnnkit.data.vocabulary import OOV_ID, PAD_ID
from rnnkit.errors import ConfigError, DataError, ShapeError
from rnnkit.io import check_bundle_target, register_task, save_bundle
from rnnkit.io.bundle import BundleParts, LoadableFromBundle
from rnnkit.nn import Linear
from rnnkit.tasks.classifier_model import recurrent_layer
from rnnkit.tasks.defaults import LM_DEFAULTS, LM_TASK
from rnnkit.tasks.options import check_options, with_defaults
from rnnkit.tasks.sampling import check_sampling, make_generator, sample_next, until_stop
from rnnkit.train import Callback, EarlyStopping, History, Trainer, distributed
from rnnkit.train.metrics import bits_per_character, perplexity

NEWLINE = "\n"
LEVELS = ("char", "word")

#: Epochs when neither ``epochs`` nor a time budget is given; with a budget training runs until
#: the budget is spent (or early stopping ends it).
DEFAULT_EPOCHS = 20
EPOCHS_UNDER_BUDGET = 1000

State = Tensor | tuple[Tensor, Tensor]


class RecurrentLanguageModel(nn.Module):
    """Embedding (or one-hot) -> stacked recurrent layers -> dropout -> dense over the vocabulary.

    Args:
        vocab_size: V, the number of token ids (0 = padding, 1 = OOV included).
        embedding_dim: E; ``None`` feeds one-hot vectors (fine for small character vocabularies).
        cell: ``lstm``, ``gru`` or ``rnn`` (``rnnkit.nn`` layers). hidden_size: H. num_layers: L.
        dropout: on the embeddings, between layers and before the output layer (training only).
        tie_weights: share the embedding matrix with the output layer (needs E == H).

    ``run(x, state)`` is the pure step: ``x`` (B, T) int64 ids and the state (``h`` (L, B, H), or
    ``(h, c)`` for LSTM; None = zeros) -> ``(logits (B, T, V), new state)``.

    ``forward(x, reset=None)`` is the stateful call the Trainer makes: it starts from the state the
    previous call left (detached), zeroed for the rows where ``reset`` (B,) bool is True, and
    keeps the new state for the next call. :meth:`reset_state` forgets it.

    Example:
        >>> import torch
        >>> net = RecurrentLanguageModel(10, embedding_dim=4, hidden_size=8)
        >>> x = torch.randint(2, 10, (3, 6))
        >>> full, _ = net.run(x)
        >>> first = net(x[:, :4], reset=torch.ones(3, dtype=torch.bool))
        >>> rest = net(x[:, 4:])                     # continues where the first call stopped
        >>> torch.allclose(torch.cat([first, rest], 1), full, atol=1e-6)
        True
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        embedding_dim: int | None = 64,
        cell: str = "lstm",
        hidden_size: int = 256,
        num_layers: int = 2,
        dropout: float = 0.0,
        tie_weights: bool = False,
    ) -> None:
        super().__init__()
        if vocab_size < 3:
            raise ConfigError(f"vocab_size={vocab_size}: need padding, OOV and at least one token")
        self.vocab_size = vocab_size
        if embedding_dim:
            self.embedding: nn.Embedding | None = nn.Embedding(vocab_size, embedding_dim)
            width = embedding_dim
        else:
            self.embedding = None
            width = vocab_size
        options: dict[str, Any] = {"num_layers": num_layers}
        if num_layers > 1:
            options["dropout"] = dropout
        self.rnn = recurrent_layer(cell, width, hidden_size, **options)
        self.drop = nn.Dropout(dropout)
        self.decoder = Linear(hidden_size, vocab_size)
        if tie_weights:
            if self.embedding is None or embedding_dim != hidden_size:
                raise ConfigError(
                    f"tie_weights needs embedding_dim == hidden_size (got {embedding_dim} and "
                    f"{hidden_size}); set them equal or tie_weights=False"
                )
            self.decoder.weight = self.embedding.weight
        self._carried: State | None = None

    def _inputs(self, x: Tensor) -> Tensor:
        if self.embedding is not None:
            return self.drop(self.embedding(x))
        return nn.functional.one_hot(x, self.vocab_size).to(self.decoder.weight.dtype)

    def run(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Logits ``(B, T, V)`` and the state after the last step, from ``state`` (None = zeros)."""
        if x.dim() != 2:
            raise ShapeError(f"x: expected token ids (B, T), got shape {tuple(x.shape)}")
        output, new_state = self.rnn(self._inputs(x), initial_state=state)
        return self.decoder(self.drop(output)), new_state

    def forward(self, x: Tensor, reset: Tensor | None = None) -> Tensor:
        state = self._carried
        batch = x.shape[0]
        if state is not None and _state_batch(state) != batch:
            if reset is None or not bool(reset.all()):
                raise ShapeError(
                    f"x: batch of {batch} rows, but the carried state has {_state_batch(state)}; "
                    "pass reset=True for every row (or call reset_state()) when the batch changes"
                )
            state = None
        if state is not None and reset is not None and bool(reset.any()):
            keep = (~reset.to(torch.bool)).to(self.decoder.weight.dtype)[None, :, None]
            state = _map_state(lambda s: s * keep, state)
        logits, new_state = self.run(x, state)
        self._carried = _map_state(lambda s: s.detach(), new_state)
        return logits

    def reset_state(self) -> None:
        """Forget the carried state: the next call starts from zeros."""
        self._carried = None


def _map_state(fn: Any, state: State) -> State:
    if isinstance(state, tuple):
        return tuple(fn(s) for s in state)  # type: ignore[return-value]
    return fn(state)


def _state_batch(state: State) -> int:
    return int((state[0] if isinstance(state, tuple) else state).shape[1])


class TimeDecay(Callback):
    """Linear learning-rate decay to ``floor * lr`` over the time budget (or over the epochs).

    Under a time budget the number of epochs is unknown in advance, so the per-epoch schedules of
    the Trainer cannot end on time; this one looks at the clock after every batch.
    """

    def __init__(self, time_budget: float | None, epochs: int, batches: int, floor: float = 0.1) -> None:
        self.time_budget = time_budget
        self.total = epochs * batches
        self.floor = floor
        self.done = 0
        self.started = 0.0
        self.base: list[float] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.started = time.perf_counter()
        self.done = 0
        assert self.trainer is not None and self.trainer.optimizer is not None
        self.base = [float(g["lr"]) for g in self.trainer.optimizer.param_groups]

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.done += 1
        if self.time_budget is not None:
            progress = (time.perf_counter() - self.started) / self.time_budget
        else:
            progress = self.done / max(self.total, 1)
        scale = 1.0 - (1.0 - self.floor) * min(max(progress, 0.0), 1.0)
        assert self.trainer is not None and self.trainer.optimizer is not None
        for group, base in zip(self.trainer.optimizer.param_groups, self.base, strict=True):
            group["lr"] = base * scale

    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done}


class LanguageModel(LoadableFromBundle):
    """A recurrent language model with ``fit`` / ``generate`` / ``stream`` / ``score`` / ``save``.

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
        valid_fraction: the contiguous tail of the text held out for validation (0 = none).
        valid_batch_size: streams used for validation and :meth:`score`.
        patience: early stopping on validation loss (best weights kept); None/0 disables it.
        time_budget: seconds; training stops after the batch that crosses it.
        seed: makes training repeatable on the same machine. verbose: 0, 1 or 2.

    Attributes after ``fit``: ``vectorizer_``, ``model_``, ``history_``, ``metrics_``.
    """

    task = LM_TASK
    network_params = ("embedding_dim", "cell", "hidden_size", "num_layers", "dropout", "tie_weights")

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = with_defaults("LanguageModel", params, LM_DEFAULTS)
        if self.params["level"] not in LEVELS:
            raise ConfigError(f"level={self.params['level']!r} is unknown; use 'char' or 'word'")
        if self.params["lr_decay"] not in ("time", None):
            raise ConfigError(f"lr_decay={self.params['lr_decay']!r} is unknown; use 'time' or None")
        self.vectorizer_: TextVectorizer | None = None
        self.model_: RecurrentLanguageModel | None = None
        self.history_: History | None = None
        self.metrics_: dict[str, Any] = {}

    @property
    def level(self) -> str:
        return str(self.params["level"])

    # ------------------------------------------------------------------ text <-> ids
    def _new_vectorizer(self) -> TextVectorizer:
        p = self.params
        if self.level == "char":
            return TextVectorizer(
                max_tokens=p["max_tokens"], min_freq=p["min_freq"], standardize=None, split="character"
            )
        return TextVectorizer(
            max_tokens=p["max_tokens"], min_freq=p["min_freq"], standardize=None, split="auto",
            reserved=(NEWLINE,),
        )

    def _fit_vectorizer(self, text: str) -> None:
        self.vectorizer_ = self._new_vectorizer()
        self.vectorizer_.fit([text] if self.level == "char" else text.split(NEWLINE))

    def _encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (N,); unknown tokens become OOV (id 1)."""
        vec = self._require_vectorizer()
        if self.level == "char":
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
            tokens = vec.tokenize(prime) if self.level == "char" else _word_tokens(vec, prime)
            missing = sorted({t for t in tokens if t not in vec.vocab.token_to_id})  # type: ignore[union-attr]
            shown = ", ".join(repr(t) for t in missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise DataError(
                f"prime: {len(missing)} {'character' if self.level == 'char' else 'word'}(s) not in "
                f"the model's vocabulary ({shown}); remove them, or read them as [UNK] with unknown='oov' "
                "(CLI: --oov)"
            )
        return ids

    def _start_id(self) -> int:
        """What the network reads first when there is no prime: a line break, as at a text's start."""
        vocab = self._require_vectorizer().vocab
        assert vocab is not None
        if NEWLINE in vocab:
            return vocab.id_of(NEWLINE)
        return 2 + len(vocab.reserved)  # the most frequent token

    # ------------------------------------------------------------------ training
    def fit(
        self,
        data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        validation_data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        epochs: int | None = None,
        time_budget: float | None = None,
        *,
        workers: int | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        checkpoint_every: int | None = None,
    ) -> LanguageModel:
        """Learn the vocabulary and the network from text; returns self.

        ``data`` (and ``validation_data``): a text (``str``), a file (``pathlib.Path`` or any
        ``os.PathLike``; gzip/bzip2/xz and BOMs handled), or a list of texts and files, joined in
        order (each followed by a line break). A ``str`` is always text, never a file name. Without ``validation_data`` the last
        ``valid_fraction`` of the text is held out (contiguous; at word level the cut moves to the
        next whitespace).

        ``workers``: data-parallel processes on this machine (PyTorch DDP; the B parallel streams
        of every batch are split between them). ``checkpoint_dir``: checkpoint after every epoch
        (and every ``checkpoint_every`` batches); ``resume``: continue from it.
        """
        check_options(type(self).__name__, self.params)
        n_workers = distributed.check_workers(workers)
        run: dict[str, Any] = {
            "checkpoint_dir": checkpoint_dir, "resume": resume, "checkpoint_every": checkpoint_every
        }
        if n_workers > 1 and distributed.context() is None and not distributed.launched_by_torchrun():
            kwargs = {"validation_data": validation_data, "epochs": epochs, "time_budget": time_budget, **run}
            fitted = distributed.fit_in_workers(self, (data,), kwargs, n_workers)
            params = self.params
            self.__dict__.update(fitted.__dict__)
            self.params = params
            return self
        distributed.init_from_env()
        started = time.perf_counter()
        p = self.params
        text = gather_text(data, "data")
        if validation_data is not None:
            train_text, valid_text = text, gather_text(validation_data, "validation_data")
        else:
            train_text, valid_text = split_tail(text, p["valid_fraction"], at_whitespace=self.level == "word")
        self._fit_vectorizer(train_text)
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
        train_loader = StreamLoader(train_ids, p["batch_size"], p["bptt"], mode=p["windows"], seed=p["seed"])
        torch.manual_seed(p["seed"])
        self.model_ = self._checked_network()
        budget = time_budget if time_budget is not None else p["time_budget"]
        n_epochs = epochs or p["epochs"] or (EPOCHS_UNDER_BUDGET if budget else DEFAULT_EPOCHS)
        callbacks: list[Callback] = []
        if valid_loader is not None and p["patience"]:
            callbacks.append(EarlyStopping("val_loss", patience=p["patience"], restore_best_weights=True))
        if p["lr_decay"] == "time":
            callbacks.append(TimeDecay(budget, n_epochs, len(train_loader)))
        trainer = Trainer(
            loss="cross_entropy", optimizer=p["optimizer"], lr=p["lr"], weight_decay=p["weight_decay"],
            clip_norm=p["clip_norm"], metrics=(), callbacks=callbacks, seed=p["seed"], verbose=p["verbose"],
            **run,
        )
        self.history_ = trainer.fit(
            self.model_, train_loader, validation_data=valid_loader, epochs=n_epochs, time_budget=budget
        )
        self.model_.eval()
        self.model_.reset_state()
        self.metrics_ = {
            "train_seconds": time.perf_counter() - started,
            "epochs_run": len(self.history_),
            "stopped_reason": self.history_.stopped_reason,
            "train_tokens": int(len(train_ids)),
            "vocabulary_size": self._require_vectorizer().vocabulary_size,
        }
        if valid_loader is not None and distributed.is_main_process():
            self.metrics_["validation"] = self._evaluate(valid_loader)
        return self

    def _build_network(self) -> RecurrentLanguageModel:
        p = self.params
        kwargs = {k: p[k] for k in self.network_params}
        return RecurrentLanguageModel(self._require_vectorizer().vocabulary_size, **kwargs)

    def _evaluate(self, loader: StreamLoader) -> dict[str, Any]:
        model = self._require_fitted()
        loss = Trainer(loss="cross_entropy", metrics=(), seed=None, verbose=0).evaluate(model, loader)["loss"]
        model.reset_state()
        report: dict[str, Any] = {"loss": float(loss), "perplexity": perplexity(loss), "tokens": loader.tokens}
        report["bpc"] = bits_per_character(loss) if self.level == "char" else None
        return report

    # ------------------------------------------------------------------ inference
    def _require_vectorizer(self) -> TextVectorizer:
        if self.vectorizer_ is None:
            raise ConfigError("this LanguageModel is not fitted yet; call fit() or load() first")
        return self.vectorizer_

    def _require_fitted(self) -> RecurrentLanguageModel:
        if self.model_ is None:
            raise ConfigError("this LanguageModel is not fitted yet; call fit() or load() first")
        return self.model_

    def score(self, data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> dict[str, Any]:
        """Cross entropy of a text under the model: ``{"loss" (nats per token), "perplexity",
        "bpc" (char level, else None), "tokens"}``.

        The text is read as ``valid_batch_size`` parallel streams, exactly like validation during
        ``fit``; tokens outside the vocabulary count as ``[UNK]``.
        """
        self._require_fitted()
        ids = self._encode(gather_text(data, "data"))
        if len(ids) < 2:
            raise DataError("score: the text needs at least 2 tokens")
        return self._evaluate(StreamLoader(ids, self.params["valid_batch_size"], self.params["bptt"]))

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
        pieces = self._pieces(model, ids, prime, length, temperature, top_k, top_p, make_generator(seed))
        return until_stop(pieces, stop)

    def _pieces(
        self, model: RecurrentLanguageModel, ids: np.ndarray, prime: str, length: int,
        temperature: float, top_k: int | None, top_p: float | None, generator: torch.Generator,
    ) -> Iterator[str]:
        vocab = self._require_vectorizer().vocabulary
        if len(ids) == 0:
            ids = np.array([self._start_id()], dtype=np.int64)
        joiner = _Joiner(self.level, prime)
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
    def get_params(self) -> dict[str, Any]:
        return dict(self.params)

    def save(
        self, path: str | Path, extra_metrics: dict[str, Any] | None = None, *, plots: bool = True,
        force: bool = False,
    ) -> Path:
        """Write the model bundle directory atomically (config, weights, vectorizer.json, ...);
        ``plots=False`` leaves out the training-curve PNG. ``force``: replace a bundle of another
        task (anything that is not a bundle is never replaced)."""
        model = self._require_fitted()
        vec = self._require_vectorizer()
        check_bundle_target(path, self.task, force)  # before the figures are drawn
        figures: dict[str, Any] = {}
        if plots and self.history_ is not None and len(self.history_):
            from rnnkit.viz import plot_history

            figures["curves"] = plot_history(self.history_, title="LanguageModel training")
        config = {
            "task": self.task,
            "params": dict(self.params),
            "network": {"vocab_size": vec.vocabulary_size},
        }
        return save_bundle(
            path, config, model.state_dict(), extra_json={"vectorizer": json.loads(vec.to_json())},
            history=self.history_, metrics={**self.metrics_, **(extra_metrics or {})}, plots=figures,
            force=force,
        )

    @classmethod
    def _from_parts(cls, parts: BundleParts) -> LanguageModel:
        parts.require_task(cls.task)
        obj = cls(**cls._params_from(parts))
        obj.vectorizer_ = TextVectorizer.from_json(json.dumps(parts.json("vectorizer")))
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


def _is_cjk(char: str) -> bool:
    return bool(CJK_CHAR.match(char))


def _word_tokens(vec: TextVectorizer, text: str) -> list[str]:
    return [t for line in text.split(NEWLINE) for t in vec.tokenize(line)]


def gather_text(data: Any, name: str) -> str:
    """One text from a ``str`` (text), an ``os.PathLike`` (file) or a list of them, in order."""
    items = [data] if isinstance(data, (str, os.PathLike)) else data
    try:
        items = list(items)
    except TypeError:
        raise DataError(f"{name}: expected a text, a file path or a list of them, got {type(data).__name__}") from None
    if not items:
        raise DataError(f"{name}: nothing given; pass a text or a file path")
    parts = []
    for i, item in enumerate(items):
        if isinstance(item, os.PathLike):
            parts.append(read_corpus([item]))
        elif isinstance(item, str):
            text = normalize_newlines(item)
            parts.append(text if len(items) == 1 or text.endswith(NEWLINE) else text + NEWLINE)
        else:
            raise DataError(f"{name}[{i}] is {type(item).__name__}; give texts (str) or paths (pathlib.Path)")
    text = "".join(parts)
    if not text.strip():
        raise DataError(f"{name}: the text is empty; give a non-empty text or file")
    return text


register_task(LanguageModel.task, LanguageModel._from_parts)

__all__ = ["LanguageModel", "RecurrentLanguageModel", "TimeDecay", "LM_DEFAULTS", "gather_text"]
