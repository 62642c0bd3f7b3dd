"""Transfer from a word-level language model (ULMFiT, Howard & Ruder 2018).

``TextClassifier(pretrained=LM)`` and ``LanguageModel(init=LM)`` start from a trained
:class:`LanguageModel` (the object, or the path of its bundle): this module loads and checks it,
says which options it fixes, hands over its vocabulary (words it lacks become ``[UNK]``,
counted by :func:`oov_report`) and copies its weights.

The classifier takes the LM's vectorizer as it is (no lower-casing, punctuation kept on words,
as the LM read its text), its embedding and its recurrent layers; the head is new. Options the
LM fixes (cell, sizes, vocabulary) may be left at their defaults; a different explicit value is a
:class:`ConfigError`.

Example:
    >>> from rnnkit.tasks import LanguageModel, TextClassifier
    >>> lm = LanguageModel(level="word", hidden_size=8, num_layers=1, embedding_dim=8, bptt=4,
    ...                    batch_size=2, epochs=1, valid_fraction=0, verbose=0)
    >>> lm = lm.fit("a good film . a bad film .")
    >>> clf = TextClassifier(pretrained=lm, epochs=1, verbose=0)
    >>> clf = clf.fit(["a good film", "a bad film", "good", "bad"] * 3, [1, 0, 1, 0] * 3)
    >>> clf.params["hidden_size"], clf.params["pooling"], clf.metrics_["pretrained"]["oov_words"]
    (8, 'concat', 0)
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rnnkit.errors import BundleError, ConfigError
from rnnkit.tasks.defaults import LM_TASK

if TYPE_CHECKING:
    from torch import nn

    from rnnkit.data.vectorizer import TextVectorizer
    from rnnkit.tasks.language_model import LanguageModel

#: The classifier's encoder options a language model fixes.
ENCODER_OPTIONS = ("cell", "hidden_size", "num_layers", "embedding_dim")
#: The classifier's vocabulary options (the vocabulary comes from the language model).
VOCABULARY_OPTIONS = ("max_tokens", "min_freq", "split", "ngrams")
#: The LM options ``LanguageModel(init=...)`` takes from the model it continues.
LM_OPTIONS = ("level", "cell", "hidden_size", "num_layers", "embedding_dim", "tie_weights",
              "output", "cutoffs", "block", "conv_kernel", "document_separator", "standardize")
#: How many of the most frequent unknown words a report lists.
SHOWN_OOV_WORDS = 10


def load_language_model(source: Any, option: str) -> tuple[LanguageModel, str | None]:
    """The fitted :class:`LanguageModel` of ``source`` (the object, or a bundle path) and the
    path as text (None for an object). BundleError for a missing bundle or one of another task.
    """
    from rnnkit.io.bundle import load_bundle_parts, restore_from_parts
    from rnnkit.tasks.language_model import LanguageModel

    if isinstance(source, LanguageModel):
        if source.model_ is None:
            raise ConfigError(f"{option}: the LanguageModel is not fitted; fit it or give the "
                              "path of a bundle written by `rnnkit lm train`")
        return source, None
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(f"{option}: expected a LanguageModel or the path of its bundle, got "
                          f"{type(source).__name__}")
    parts = load_bundle_parts(source)
    if parts.task != LM_TASK:
        raise BundleError(
            f"{option}: {os.fspath(source)} holds a {parts.task!r} model, not a language model; "
            "give a bundle written by `rnnkit lm train --level word`"
        )
    return restore_from_parts(LanguageModel._from_parts, parts), os.fspath(source)


def check_word_level(lm: LanguageModel, shown: str) -> None:
    """ConfigError unless ``lm`` reads words through an embedding (what a classifier can take)."""
    p = lm.params
    if p["level"] != "word":
        raise ConfigError(f"pretrained: {shown} is a {p['level']}-level language model; a text "
                          "classifier reads words: train one with `rnnkit lm train --level word`")
    if not p["embedding_dim"]:
        raise ConfigError(f"pretrained: {shown} has no embedding (one-hot input); train it with "
                          "--embedding-dim N")
    if p.get("block", "plain") != "plain":
        raise ConfigError(f"pretrained: {shown} stacks its layers in {p['block']} blocks, and a "
                          "classifier's encoder is a plain stack: train it with --block plain")


def fixed_options(
    given: Mapping[str, Any], fixed: Mapping[str, Any], defaults: Mapping[str, Any],
    estimator: str, source: str,
) -> None:
    """ConfigError for an option of ``given`` set (not its default) to another value than the
    one ``fixed`` by the pretrained model."""
    for name, value in fixed.items():
        mine = given.get(name)
        if _same(mine, defaults.get(name)) or _same(mine, value):
            continue
        raise ConfigError(f"{estimator}: {name}={mine!r} conflicts with the {source} ({value!r}); "
                          f"leave {name} unset, it comes from there")


def classifier_options(lm: LanguageModel, given: Mapping[str, Any],
                       defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The TextClassifier options the language model fixes (checked against ``given``)."""
    p = lm.params
    fixed: dict[str, Any] = {name: p[name] for name in ENCODER_OPTIONS}
    fixed.update({"bidirectional": False, "recurrent_activation": None})
    fixed_options(given, fixed, defaults, "TextClassifier", "pretrained language model")
    for name in VOCABULARY_OPTIONS:
        if not _same(given.get(name), defaults.get(name)):
            raise ConfigError(f"TextClassifier: {name}={given.get(name)!r} cannot apply: the "
                              "vocabulary comes from the pretrained language model; leave "
                              f"{name} unset")
    return fixed


def copied_vectorizer(lm: LanguageModel) -> TextVectorizer:
    """A copy of the language model's vectorizer (its vocabulary and tokenisation)."""
    import json

    from rnnkit.data.vectorizer import TextVectorizer

    vectorizer = lm.vectorizer_
    assert vectorizer is not None  # fitted
    return TextVectorizer.from_json(json.dumps(json.loads(vectorizer.to_json())))


def oov_report(counts: Mapping[str, int], vocabulary: Iterable[str], source: str | None
               ) -> dict[str, Any]:
    """How much of the data the language model's vocabulary misses: distinct words, tokens,
    their share of all tokens and the most frequent of them (JSON-ready).

    Example:
        >>> r = oov_report({"good": 3, "zany": 1}, ["", "[UNK]", "good"], "lm")
        >>> r["oov_words"], r["oov_tokens"], r["oov_share"], r["oov_examples"]
        (1, 1, 0.25, ['zany'])
    """
    known = set(vocabulary)
    missing = Counter({word: n for word, n in counts.items() if word not in known})
    total = sum(counts.values())
    return {
        "source": source if source is not None else "LanguageModel object",
        "vocabulary_size": len(known),
        "words": len(counts),
        "tokens": int(total),
        "oov_words": len(missing),
        "oov_tokens": int(sum(missing.values())),
        "oov_share": float(sum(missing.values()) / total) if total else 0.0,
        "oov_examples": [word for word, _ in missing.most_common(SHOWN_OOV_WORDS)],
    }


def oov_line(report: Mapping[str, Any], what: str) -> str:
    """One line for the CLI: ``pretrained: 12 of 340 words of the training texts (3.1% of the
    tokens) are not in the language model's vocabulary of 5,002 -> [UNK] (e.g. ...)``."""
    shown = ", ".join(report["oov_examples"][:5])
    return (f"{what}: {report['oov_words']:,} of {report['words']:,} words "
            f"({report['oov_share']:.1%} of the tokens) are not in the language model's "
            f"vocabulary of {report['vocabulary_size']:,} and read as [UNK]"
            + (f" (e.g. {shown})" if shown else ""))


def copy_encoder(lm: LanguageModel, embedding: nn.Embedding, encoder: nn.Module) -> None:
    """Copy the LM's embedding and recurrent layers into a classifier's (same shapes); the
    padding row of the embedding is zeroed (the LM never reads padding)."""
    import torch

    network = lm.model_
    assert network is not None and network.embedding is not None  # checked by check_word_level
    with torch.no_grad():
        embedding.weight.copy_(network.embedding.weight)
        embedding.weight[0].zero_()
    encoder.load_state_dict(network.rnn.state_dict())


def _same(value: Any, other: Any) -> bool:
    return value is other or (type(value) is type(other) and value == other)


__all__ = ["ENCODER_OPTIONS", "LM_OPTIONS", "VOCABULARY_OPTIONS", "check_word_level",
           "classifier_options", "copied_vectorizer", "copy_encoder", "fixed_options",
           "load_language_model", "oov_line", "oov_report"]
