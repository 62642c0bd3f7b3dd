"""``Translator``: sentence pairs in, a translation model out (encoder-decoder with attention).

Pipeline: per-side tokenization (:mod:`rnnkit.data.pairs`: words and punctuation, lowercased, or
characters for CJK / symbol tasks; ``auto`` detects it) -> vocabularies (``<bos>`` = 2,
``<eos>`` = 3) -> length-bucketed pair batches -> :class:`Seq2Seq` (bidirectional GRU encoder,
Bahdanau attention decoder by default) trained with teacher forcing by the
:class:`rnnkit.train.Trainer` (token-level cross entropy, optional label smoothing, early stopping
on validation loss) -> greedy or beam-search decoding that also returns the attention weights.

Verbs: ``fit(X, y)`` (sources, targets), ``translate(texts, beam_size=)``,
``translate_with_attention``, ``score(X, y)`` (corpus BLEU via sacrebleu, a float),
``evaluate(X, y)`` (BLEU with its signature, plus exact match, loss and token accuracy),
``save``/``load`` (and ``rnnkit.load``).

Example:
    >>> from rnnkit.tasks import Translator
    >>> src = ["a b c", "b c a", "c a b", "a c b", "b a c", "c b a"] * 40
    >>> tgt = [" ".join(reversed(s.split())) for s in src]
    >>> model = Translator(hidden_size=32, embedding_dim=16, epochs=15, lr=1e-2, min_freq=1,
    ...                    valid_fraction=0, verbose=0).fit(src, tgt)
    >>> model.translate(["a b c", "c a b"])
    ['c b a', 'b a c']
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.pairs import (
    LEVELS,
    PairLoader,
    cjk_share,
    detect_level,
    detokenize,
    tokenize,
)
from rnnkit.data.vocabulary import Vocabulary
from rnnkit.errors import BundleError, ConfigError, DataError
from rnnkit.io import register_task
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.base import Estimator
from rnnkit.tasks.decoding import Hypothesis, beam_search, greedy_search
from rnnkit.tasks.defaults import TRANSLATE_DEFAULTS, TRANSLATE_TASK
from rnnkit.tasks.translation_model import ATTENTIONS, Seq2Seq
from rnnkit.train import Callback, EarlyStopping, History, Trainer, distributed
from rnnkit.train.callbacks import TimeDecay

BOS, EOS = "<bos>", "<eos>"
RESERVED = (BOS, EOS)

NETWORK_PARAMS = (
    "attention", "cell", "hidden_size", "embedding_dim", "num_layers", "bidirectional",
    "dropout", "teacher_forcing",
)


@dataclass
class Translation:
    """One translated text with its alignment.

    ``weights`` is ``(len(target_tokens) + 1, len(source_tokens))``: row i is the attention over
    the source while generating ``target_tokens[i]`` (the last row: ``<eos>``); empty (0 rows)
    for ``attention="none"``. ``score`` is the summed log-probability.
    """

    source: str
    text: str
    source_tokens: list[str]
    target_tokens: list[str]
    weights: np.ndarray
    score: float
    finished: bool = True


class Translator(Estimator):
    """An encoder-decoder translation model with the verbs of a scikit-learn estimator.

    Args (all keyword; defaults in ``TRANSLATE_DEFAULTS``):
        attention: ``bahdanau`` (additive, context fed to the decoder), ``luong`` (general score
            after the decoder; parallel training) or ``none`` (fixed-vector bottleneck).
        attention_score: override the attention score (``additive``, ``general``, ``dot``);
            called ``score`` in bundles written before the estimator contract (read as before).
        cell (a name of :data:`rnnkit.cells.CELLS`), hidden_size, embedding_dim, num_layers,
            bidirectional, dropout.
        teacher_forcing: probability of feeding the gold previous token in training (1.0 = always).
        label_smoothing: cross-entropy label smoothing (0 = off).
        source_level, target_level: ``auto``, ``word`` or ``char`` (see :mod:`rnnkit.data.pairs`).
        lowercase: lowercase both sides before tokenizing. min_freq, max_tokens: vocabularies.
        max_source_length, max_target_length: tokens kept per text in training.
        batch_size, epochs, optimizer, lr, weight_decay, clip_norm: training. lr_decay: ``time``
            (linear to 0.1 x lr over the time budget or the epochs) or None.
        valid_fraction: pairs held out for validation loss and early stopping (``patience``).
        time_budget: seconds; training stops after the batch that crosses it.
        beam_size, length_penalty: decoding defaults (1 = greedy). max_output_ratio: outputs stop
            after ``ratio * source length + 10`` tokens.
        seed, verbose.

    Attributes after ``fit``: ``source_vocab_``, ``target_vocab_``, ``source_level_``,
    ``target_level_``, ``model_``, ``history_``, ``metrics_``.
    """

    task = TRANSLATE_TASK

    choices = {"attention": ATTENTIONS, "source_level": LEVELS, "target_level": LEVELS,
               "lr_decay": ("time", None)}
    requires_y = True
    source_vocab_: Vocabulary | None = None
    target_vocab_: Vocabulary | None = None
    source_level_: str | None = None
    target_level_: str | None = None
    model_: Seq2Seq | None = None
    history_: History | None = None

    def __init__(
        self, *, attention: Any = "bahdanau", attention_score: Any = None, cell: Any = "gru",
        hidden_size: Any = 256, embedding_dim: Any = 256, num_layers: Any = 1,
        bidirectional: Any = True, dropout: Any = 0.3, teacher_forcing: Any = 1.0,
        label_smoothing: Any = 0.0, source_level: Any = "auto", target_level: Any = "auto",
        lowercase: Any = True, min_freq: Any = 2, max_tokens: Any = None,
        max_source_length: Any = 100, max_target_length: Any = 100, batch_size: Any = 64,
        epochs: Any = 20, optimizer: Any = "adam", lr: Any = 0.001, weight_decay: Any = 0.0,
        clip_norm: Any = 1.0, lr_decay: Any = "time", valid_fraction: Any = 0.05, patience: Any = 3,
        time_budget: Any = None, beam_size: Any = 5, length_penalty: Any = 1.0,
        max_output_ratio: Any = 2.0, seed: Any = 0, verbose: Any = 1,
    ) -> None:
        self._store_params(locals())

    def _input_tags(self, input_tags: Any) -> Any:
        return input_tags(two_d_array=False, string=True)

    # ------------------------------------------------------------------ text <-> ids
    def _tokens(self, texts: Sequence[str], side: str) -> list[list[str]]:
        level = self.source_level_ if side == "source" else self.target_level_
        assert level is not None
        lower = bool(self.params["lowercase"])
        return [tokenize(t, level, lower) for t in texts]

    def _ids(self, token_lists: list[list[str]], vocab: Vocabulary) -> list[np.ndarray]:
        return [vocab.encode(tokens) for tokens in token_lists]

    def _fit_vocab(self, token_lists: list[list[str]]) -> Vocabulary:
        p = self.params
        counts = Counter(t for tokens in token_lists for t in tokens)
        return Vocabulary.from_counts(counts, max_tokens=p["max_tokens"], min_freq=p["min_freq"],
                                      reserved=RESERVED)

    def _loader(self, sources: Sequence[str], targets: Sequence[str], shuffle: bool) -> PairLoader:
        p = self.params
        src_vocab, tgt_vocab = self._require_vocabs()
        return PairLoader(
            self._ids(self._tokens(sources, "source"), src_vocab),
            self._ids(self._tokens(targets, "target"), tgt_vocab),
            bos_id=tgt_vocab.id_of(BOS), eos_id=tgt_vocab.id_of(EOS), batch_size=p["batch_size"],
            shuffle=shuffle, seed=p["seed"], max_source_length=p["max_source_length"],
            max_target_length=p["max_target_length"],
        )

    # ------------------------------------------------------------------ training
    def fit(
        self,
        X: Sequence[str],
        y: Sequence[str],
        validation_data: tuple[Sequence[str], Sequence[str]] | None = None,
        epochs: int | None = None,
        time_budget: float | None = None,
        *,
        workers: int | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        checkpoint_every: int | None = None,
    ) -> Translator:
        """Learn tokenization levels, vocabularies and the network from the source texts ``X``
        and their translations ``y``; returns self.

        Without ``validation_data`` a random ``valid_fraction`` of the pairs is held out for
        validation loss and early stopping (none when ``valid_fraction`` is 0). ``workers``:
        data-parallel processes on this machine (DDP); ``checkpoint_dir``: checkpoint after every
        epoch (and every ``checkpoint_every`` batches); ``resume``: continue from it.
        """
        p = self._validate_params()
        run = self._start_run(
            (X, y),
            {"validation_data": validation_data, "epochs": epochs, "time_budget": time_budget},
            workers, checkpoint_dir, resume, checkpoint_every,
        )
        if run is None:
            return self
        started = time.perf_counter()
        sources, targets = _check_pairs(X, y, "X", "y")
        if validation_data is not None:
            valid_src, valid_tgt = _check_pairs(
                *validation_data, "validation sources", "validation targets"
            )
        elif p["valid_fraction"] and len(sources) >= 20:
            rng = np.random.default_rng(p["seed"])
            perm = rng.permutation(len(sources))
            n_valid = max(1, int(round(len(sources) * p["valid_fraction"])))
            valid_idx, train_idx = perm[:n_valid], perm[n_valid:]
            valid_src, valid_tgt = [sources[i] for i in valid_idx], [targets[i] for i in valid_idx]
            sources, targets = [sources[i] for i in train_idx], [targets[i] for i in train_idx]
        else:
            valid_src, valid_tgt = [], []
        self.source_level_ = (
            detect_level(sources) if p["source_level"] == "auto" else p["source_level"]
        )
        self.target_level_ = (
            detect_level(targets) if p["target_level"] == "auto" else p["target_level"]
        )
        self.source_vocab_ = self._fit_vocab(self._tokens(sources, "source"))
        self.target_vocab_ = self._fit_vocab(self._tokens(targets, "target"))
        train_loader = self._loader(sources, targets, shuffle=True)
        valid_loader = self._loader(valid_src, valid_tgt, shuffle=False) if valid_src else None
        torch.manual_seed(p["seed"])
        self.model_ = self._checked_network()
        budget = time_budget if time_budget is not None else p["time_budget"]
        n_epochs = epochs or p["epochs"]
        counter = _StepCounter()
        callbacks: list[Callback] = [counter]
        if valid_loader is not None and p["patience"]:
            callbacks.append(EarlyStopping("val_loss", patience=p["patience"],
                                           restore_best_weights=True))
        if p["lr_decay"] == "time":
            callbacks.append(TimeDecay(budget, n_epochs, len(train_loader)))
        trainer = Trainer(
            loss=_make_loss(p["label_smoothing"]), optimizer=p["optimizer"], lr=p["lr"],
            weight_decay=p["weight_decay"], clip_norm=p["clip_norm"], metrics=("accuracy",),
            callbacks=callbacks, seed=p["seed"], verbose=p["verbose"], **run,
        )
        self.history_ = trainer.fit(
            self.model_, train_loader, validation_data=valid_loader, epochs=n_epochs,
            time_budget=budget, final_validation=valid_loader is not None, budget_start=started,
        )
        self.model_.eval()
        self.metrics_ = {
            "epochs_run": len(self.history_),
            "steps": counter.steps,
            "stopped_reason": self.history_.stopped_reason,
            "train_pairs": len(sources),
            "source_level": self.source_level_,
            "target_level": self.target_level_,
            "source_vocabulary_size": len(self.source_vocab_),
            "target_vocabulary_size": len(self.target_vocab_),
        }
        if valid_loader is not None and distributed.is_main_process():
            self.metrics_["validation"] = self._teacher_forced(valid_loader)
        # the training phase: data preparation, training and the validation report
        self.metrics_["train_seconds"] = time.perf_counter() - started
        return self

    def _build_network(self) -> Seq2Seq:
        p = self.params
        src_vocab, tgt_vocab = self._require_vocabs()
        return Seq2Seq(
            len(src_vocab), len(tgt_vocab), bos_id=tgt_vocab.id_of(BOS),
            eos_id=tgt_vocab.id_of(EOS), score=p["attention_score"],
            **{k: p[k] for k in NETWORK_PARAMS},
        )

    def _teacher_forced(self, loader: PairLoader) -> dict[str, float]:
        model = self._require_fitted()
        report = Trainer(
            loss="cross_entropy", metrics=("accuracy",), seed=None, verbose=0
        ).evaluate(model, loader)
        return {"loss": float(report["loss"]), "token_accuracy": float(report["accuracy"])}

    # ------------------------------------------------------------------ inference
    def _require_vocabs(self) -> tuple[Vocabulary, Vocabulary]:
        if self.source_vocab_ is None or self.target_vocab_ is None:
            raise ConfigError("this Translator is not fitted yet; call fit() or load() first")
        return self.source_vocab_, self.target_vocab_

    def translate_with_attention(
        self, texts: Sequence[str], beam_size: int | None = None, max_length: int | None = None,
    ) -> list[Translation]:
        """Translate ``texts``; each result carries tokens, score and attention weights."""
        model = self._require_fitted()
        src_vocab, tgt_vocab = self._require_vocabs()
        p = self.params
        if isinstance(texts, str):
            raise DataError("texts: expected a list of texts, got one string; wrap it in a list")
        texts = list(texts)
        beam = p["beam_size"] if beam_size is None else int(beam_size)
        if beam < 1:
            raise ConfigError(f"beam_size={beam} must be >= 1")
        token_lists = [tokens[: p["max_source_length"]] for tokens in self._tokens(texts, "source")]
        ids = self._ids(token_lists, src_vocab)
        order = np.argsort([len(i) for i in ids], kind="stable")
        results: list[Translation | None] = [None] * len(texts)
        model.eval()
        step = max(1, p["batch_size"] // max(1, beam))
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            x, lengths = _pad([ids[i] for i in chunk])
            limit = max_length or min(
                p["max_target_length"] + 1,
                int(math.ceil(p["max_output_ratio"] * int(lengths.max()))) + 10
            )
            if beam == 1:
                hyps = greedy_search(model, x, lengths, max_length=limit)
            else:
                hyps = beam_search(model, x, lengths, beam_size=beam, max_length=limit,
                                   length_penalty=p["length_penalty"])
            for i, hyp in zip(chunk, hyps, strict=True):
                results[int(i)] = self._translation(texts[int(i)], token_lists[int(i)], hyp,
                                                    tgt_vocab)
        return [r for r in results if r is not None]

    def _translation(
        self, text: str, source_tokens: list[str], hyp: Hypothesis, vocab: Vocabulary
    ) -> Translation:
        tokens = vocab.decode(hyp.tokens)
        assert self.target_level_ is not None
        return Translation(
            source=text, text=detokenize(tokens, self.target_level_), source_tokens=source_tokens,
            target_tokens=tokens, weights=hyp.weights, score=hyp.score, finished=hyp.finished,
        )

    def translate(self, texts: Sequence[str], beam_size: int | None = None) -> list[str]:
        """Translations of ``texts`` (``beam_size`` 1 = greedy; default from the params)."""
        return [t.text for t in self.translate_with_attention(texts, beam_size=beam_size)]

    def score(self, X: Sequence[str], y: Sequence[str], beam_size: int | None = None) -> float:
        """Corpus BLEU (sacrebleu, 0..100) of the translations of ``X`` against the references
        ``y``: higher is better; :meth:`evaluate` gives it with the other numbers."""
        return float(self.evaluate(X, y, beam_size)["bleu"])

    def evaluate(
        self, X: Sequence[str], y: Sequence[str], beam_size: int | None = None,
    ) -> dict[str, Any]:
        """Corpus BLEU (sacrebleu) of the translations of the sources ``X`` against the
        references ``y``.

        Returns ``{"bleu", "signature", "exact_match", "loss", "token_accuracy", "count"}``:
        BLEU is sacrebleu's (``13a`` tokenization, or ``zh`` for a CJK target; case-insensitive
        when the model lowercases); exact match compares the tokenized texts; loss (nats per
        token) and token accuracy are teacher-forced on the references.
        """
        import sacrebleu

        sources, references = _check_pairs(X, y, "X", "y")
        started = time.perf_counter()
        hypotheses = self.translate(sources, beam_size=beam_size)
        decode_seconds = time.perf_counter() - started
        cjk = cjk_share(references) >= 0.3
        bleu = sacrebleu.metrics.BLEU(lowercase=bool(self.params["lowercase"]),
                                      tokenize="zh" if cjk else "13a")
        result = bleu.corpus_score(hypotheses, [list(references)])
        assert self.target_level_ is not None
        ref_tokens = self._tokens(references, "target")
        hyp_tokens = self._tokens(hypotheses, "target")
        exact = float(np.mean([h == r for h, r in zip(hyp_tokens, ref_tokens, strict=True)]))
        forced = self._teacher_forced(self._loader(sources, references, shuffle=False))
        return {
            "bleu": float(result.score),
            "signature": str(bleu.get_signature()),
            "exact_match": exact,
            "loss": forced["loss"],
            "token_accuracy": forced["token_accuracy"],
            "count": len(sources),
            "beam_size": self.params["beam_size"] if beam_size is None else int(beam_size),
            "decode_seconds": decode_seconds,
        }

    # ------------------------------------------------------------------ bundles
    def _bundle_config(self) -> dict[str, Any]:
        src_vocab, tgt_vocab = self._require_vocabs()
        return {
            "network": {"source_vocab": len(src_vocab), "target_vocab": len(tgt_vocab)},
            "levels": {"source": self.source_level_, "target": self.target_level_},
        }

    def _bundle_state(self) -> dict[str, Any]:
        src_vocab, tgt_vocab = self._require_vocabs()
        return {"source_vocabulary": src_vocab.to_dict(), "target_vocabulary": tgt_vocab.to_dict()}

    def _figures(self, metrics: dict[str, Any], example: str | None = None) -> dict[str, Any]:
        """The training curves and, for an ``example`` source text, its attention map."""
        plots = super()._figures(metrics)
        if example is not None and self.params["attention"] != "none":
            from rnnkit.viz.attention import plot_attention

            t = self.translate_with_attention([example])[0]
            plots["attention"] = plot_attention(t.weights, t.source_tokens, t.target_tokens)
        return plots

    @classmethod
    def _params_from(cls, parts: BundleParts) -> dict[str, Any]:
        params = super()._params_from(parts)
        if "score" in params:  # bundles written before the option was renamed
            params["attention_score"] = params.pop("score")
        return params

    @classmethod
    def _from_parts(cls, parts: BundleParts) -> Translator:
        obj = cls._from_bundle_params(parts)
        levels = parts.section("levels", dict)
        obj.source_level_, obj.target_level_ = levels.get("source"), levels.get("target")
        if not {obj.source_level_, obj.target_level_} <= {"word", "char"}:
            raise BundleError(f"bundle {parts.path}: config.json 'levels' must give 'word' or "
                              "'char' for source and target; re-save the model")
        obj.source_vocab_ = Vocabulary.from_dict(parts.json("source_vocabulary"))
        obj.target_vocab_ = Vocabulary.from_dict(parts.json("target_vocabulary"))
        obj._restore_network(parts)
        return obj


class _StepCounter(Callback):
    """Counts optimizer steps (batches), also across a time-budget stop in mid-epoch."""

    def __init__(self) -> None:
        self.steps = 0

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.steps += 1


def _check_pairs(
    sources: Any, targets: Any, s_name: str, t_name: str
) -> tuple[list[str], list[str]]:
    for name, value in ((s_name, sources), (t_name, targets)):
        if isinstance(value, str):
            raise DataError(f"{name}: expected a list of texts, got one string; wrap it in a list")
    sources, targets = list(sources), list(targets)
    if len(sources) != len(targets):
        raise DataError(f"{len(sources)} {s_name} but {len(targets)} {t_name}; give one per pair")
    if not sources:
        raise DataError(f"{s_name}: no pairs given")
    for name, texts in ((s_name, sources), (t_name, targets)):
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"{name}[{i}] is {type(text).__name__}, not a text string")
    return sources, targets


def _pad(ids: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(i) for i in ids], dtype=torch.int64)
    x = torch.zeros(len(ids), max(1, int(lengths.max())), dtype=torch.int64)
    for row, seq in enumerate(ids):
        x[row, : len(seq)] = torch.from_numpy(seq)
    return x, lengths


def _make_loss(label_smoothing: float) -> Any:
    if not label_smoothing:
        return "cross_entropy"
    if not 0.0 < label_smoothing < 1.0:
        raise ConfigError(f"label_smoothing={label_smoothing} must be in [0, 1)")

    def cross_entropy(output: Tensor, target: Tensor) -> Tensor:
        return torch.nn.functional.cross_entropy(
            output.reshape(-1, output.shape[-1]), target.reshape(-1), ignore_index=-100,
            label_smoothing=label_smoothing,
        )

    return cross_entropy


register_task(Translator.task, Translator._from_parts)

__all__ = ["Translator", "Translation", "TRANSLATE_DEFAULTS"]
