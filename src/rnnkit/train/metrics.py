"""Evaluation metrics: pure NumPy functions plus the streaming accumulators the Trainer uses.

Pure functions take array-likes. Classification functions accept either predicted labels (same
shape as ``y_true``) or scores with one extra trailing axis (the arg-max is taken). Every function
is mask-aware: positions where ``y_true == ignore_index`` (default -100, the padding label of token
tasks) or where an explicit boolean ``mask`` is False are left out.

Example:
    >>> accuracy([1, 0, 1, -100], [1, 1, 1, 0])
    0.6666666666666666
    >>> round(roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.75
    >>> round(perplexity(np.log(4.0)), 6)
    4.0

Streaming accumulators (``make_metric("f1")``) take model outputs and targets batch by batch as
torch tensors and give the same numbers as the pure functions on the concatenated data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from rnnkit.errors import ConfigError, ShapeError

IGNORE_INDEX = -100

# ------------------------------------------------------------------------------ pure functions


def _valid(
    y_true: Any, y_pred: Any, mask: Any = None, ignore_index: int | None = IGNORE_INDEX
) -> tuple[np.ndarray, np.ndarray]:
    """Flatten to 1-D (labels) after arg-max of scores and dropping masked / ignored positions."""
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if p.ndim == t.ndim + 1:
        p = p.argmax(axis=-1)
    if p.shape != t.shape:
        raise ShapeError(f"y_pred: shape {p.shape} does not match y_true {t.shape} "
                         "(or y_true + classes)")
    keep = np.ones(t.shape, dtype=bool)
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool)
    if ignore_index is not None and np.issubdtype(t.dtype, np.integer):
        keep &= t != ignore_index
    return t[keep].ravel(), p[keep].ravel()


def accuracy(
    y_true: Any, y_pred: Any, *, mask: Any = None, ignore_index: int | None = IGNORE_INDEX
) -> float:
    """Fraction of positions where the predicted label equals the true one (nan when none count)."""
    t, p = _valid(y_true, y_pred, mask, ignore_index)
    return float(np.mean(t == p)) if t.size else float("nan")


def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    num_classes: int | None = None,
    mask: Any = None,
    ignore_index: int | None = IGNORE_INDEX,
) -> np.ndarray:
    """Counts ``(C, C)`` int64: row = true class, column = predicted class.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 0, 1]).tolist()
        [[1, 0], [1, 1]]
    """
    t, p = _valid(y_true, y_pred, mask, ignore_index)
    t = t.astype(np.int64)
    p = p.astype(np.int64)
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= num_classes):
        raise ShapeError(f"labels must lie in [0, {num_classes}); got a value outside")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def precision_recall_f1_from_confusion(
    cm: np.ndarray, average: str | None = "macro", zero_division: float = 0.0
) -> dict[str, Any]:
    """Precision, recall and F1 from a confusion matrix.

    ``average="macro"`` gives floats (unweighted mean over classes), ``"micro"`` the pooled
    version, ``None`` arrays per class. A 0/0 ratio counts as ``zero_division``.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    if average == "micro":
        tp, predicted, actual = (
            tp.sum(keepdims=True),
            predicted.sum(keepdims=True),
            actual.sum(keepdims=True),
        )
    precision = _ratio(tp, predicted, zero_division)
    recall = _ratio(tp, actual, zero_division)
    f1 = _ratio(2 * precision * recall, precision + recall, zero_division)
    if average is None:
        return {"precision": precision, "recall": recall, "f1": f1,
                "support": actual.astype(np.int64)}
    if average not in ("macro", "micro"):
        raise ConfigError(f"average: expected 'macro', 'micro' or None, got {average!r}")
    return {"precision": float(precision.mean()), "recall": float(recall.mean()),
            "f1": float(f1.mean())}


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(np.shape(num), float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    *,
    num_classes: int | None = None,
    average: str | None = "macro",
    mask: Any = None,
    ignore_index: int | None = IGNORE_INDEX,
    zero_division: float = 0.0,
) -> dict[str, Any]:
    """``{"precision", "recall", "f1"}`` macro-averaged (floats) or per class (``average=None``).

    Example:
        >>> r = precision_recall_f1([0, 0, 1, 1], [0, 1, 1, 1], average=None)
        >>> r["precision"].tolist(), r["recall"].tolist()
        ([1.0, 0.6666666666666666], [0.5, 1.0])
    """
    cm = confusion_matrix(y_true, y_pred, num_classes=num_classes, mask=mask,
                          ignore_index=ignore_index)
    return precision_recall_f1_from_confusion(cm, average, zero_division)


def f1_score(y_true: Any, y_pred: Any, **kwargs: Any) -> Any:
    """Macro F1 (``average=None`` for per class); see :func:`precision_recall_f1`."""
    return precision_recall_f1(y_true, y_pred, **kwargs)["f1"]


def precision(y_true: Any, y_pred: Any, **kwargs: Any) -> Any:
    """Macro precision; see :func:`precision_recall_f1`."""
    return precision_recall_f1(y_true, y_pred, **kwargs)["precision"]


def recall(y_true: Any, y_pred: Any, **kwargs: Any) -> Any:
    """Macro recall; see :func:`precision_recall_f1`."""
    return precision_recall_f1(y_true, y_pred, **kwargs)["recall"]


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(values)]))
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + 1 + end) / 2.0
    return ranks


def roc_auc(y_true: Any, scores: Any, *, mask: Any = None) -> float:
    """Area under the ROC curve for binary labels {0, 1}, from ranks (Mann-Whitney U); ties count
    1/2.

    Returns nan when only one class is present.
    """
    t = np.asarray(y_true).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if t.shape != s.shape:
        raise ShapeError(f"scores: shape {s.shape} does not match y_true {t.shape}")
    if mask is not None:
        keep = np.asarray(mask, dtype=bool).ravel()
        t, s = t[keep], s[keep]
    positive = t == 1
    n_pos = int(positive.sum())
    n_neg = int(t.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(s)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _regression_pair(y_true: Any, y_pred: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if p.shape != t.shape:
        if p.size == t.size:
            p = p.reshape(t.shape)
        else:
            raise ShapeError(f"y_pred: shape {p.shape} does not match y_true {t.shape}")
    if mask is not None:
        keep = np.asarray(mask, dtype=bool)
        return t[keep], p[keep]
    return t.ravel(), p.ravel()


def rmse(y_true: Any, y_pred: Any, *, mask: Any = None) -> float:
    """Root mean squared error."""
    t, p = _regression_pair(y_true, y_pred, mask)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true: Any, y_pred: Any, *, mask: Any = None) -> float:
    """Mean absolute error."""
    t, p = _regression_pair(y_true, y_pred, mask)
    return float(np.mean(np.abs(t - p)))


def mape(y_true: Any, y_pred: Any, *, mask: Any = None, eps: float = 1e-8) -> float:
    """Mean absolute percentage error, in percent: ``100 * mean(|y - ŷ| / max(|y|, eps))``."""
    t, p = _regression_pair(y_true, y_pred, mask)
    return float(100.0 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), eps)))


def smape(y_true: Any, y_pred: Any, *, mask: Any = None) -> float:
    """Symmetric MAPE in percent: ``100 * mean(2|y - ŷ| / (|y| + |ŷ|))``, 0/0 counted as 0."""
    t, p = _regression_pair(y_true, y_pred, mask)
    return float(100.0 * np.mean(_ratio(2.0 * np.abs(t - p), np.abs(t) + np.abs(p), 0.0)))


def mase(y_true: Any, y_pred: Any, y_train: Any, *, season: int = 1, mask: Any = None) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive forecast.

    ``y_train`` is the training series; ``season`` the seasonal period (1 = previous value).
    """
    train = np.asarray(y_train, dtype=np.float64).ravel()
    if train.size <= season:
        raise ShapeError(f"y_train: needs more than season={season} values, got {train.size}")
    scale = float(np.mean(np.abs(train[season:] - train[:-season])))
    if scale == 0.0:
        return float("inf")
    return mae(y_true, y_pred, mask=mask) / scale


def perplexity(mean_nats: float) -> float:
    """``exp(mean cross-entropy in nats per token)``."""
    return float(math.exp(min(mean_nats, 700.0)))


def bits_per_character(mean_nats: float) -> float:
    """Mean cross-entropy per character converted from nats to bits: ``nats / ln 2``."""
    return float(mean_nats / math.log(2.0))


def bleu(hypotheses: Sequence[Any], references: Sequence[Any], **options: Any) -> float:
    """Corpus BLEU (0-100) with sacrebleu's standard tokenization.

    ``hypotheses``: one string (or token list) per sentence. ``references``: per hypothesis, one
    reference string or a list of references (each a string or a token list); a single token-list
    reference must therefore be wrapped: ``[["the", "cat"]]``. ``options`` go to
    ``sacrebleu.corpus_bleu``.

    Example:
        >>> round(bleu(["the cat sat on the mat"], ["the cat sat on the mat"]), 6)
        100.0
    """
    try:
        import sacrebleu
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "bleu: needs the sacrebleu package; pip install 'sacrebleu>=2.4'"
        ) from err
    hyps = [_as_text(h) for h in hypotheses]
    if len(references) != len(hyps):
        raise ShapeError(f"references: {len(references)} entries for {len(hyps)} hypotheses")
    multi = [[r] if isinstance(r, str) else list(r) for r in references]
    if any(not refs for refs in multi):
        raise ShapeError("references: every hypothesis needs at least one reference")
    width = max((len(r) for r in multi), default=1)
    # sacrebleu wants one stream per reference position; "" pads hypotheses with fewer references
    streams = [[_as_text(r[i]) if i < len(r) else "" for r in multi] for i in range(width)]
    return float(sacrebleu.corpus_bleu(hyps, streams, **options).score)


def _as_text(item: Any) -> str:
    return item if isinstance(item, str) else " ".join(str(tok) for tok in item)


# ------------------------------------------------------------------------ streaming accumulators


class StreamingMetric:
    """Accumulates a metric over batches: ``reset()``, ``update(output, target)``, ``result()``.

    ``state()`` / ``load_state()`` expose the accumulator as plain NumPy arrays so a checkpoint
    taken in the middle of an epoch resumes with the same numbers.
    """

    name = "metric"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def state(self) -> dict[str, np.ndarray]:
        return {
            k: np.asarray(v) for k, v in vars(self).items() if not k.startswith("_") and k != "name"
        }

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        for key, value in state.items():
            current = getattr(self, key)
            setattr(self, key, value.copy() if isinstance(current, np.ndarray) else value.item())


def _labels(output: torch.Tensor, target: torch.Tensor) -> tuple[np.ndarray, np.ndarray, int]:
    """Predicted and true labels as flat NumPy arrays without ignored positions, and class count.

    ``output`` is logits with a class axis ``(..., C)`` or binary logits shaped like the target
    (threshold 0).
    """
    output = output.detach()
    if output.dim() == target.dim() + 1 and output.shape[-1] > 1:
        pred = output.argmax(dim=-1)
        classes = int(output.shape[-1])
    else:
        pred = (output.reshape(target.shape) > 0).long()
        classes = 2
    t = target.reshape(-1).cpu().numpy()
    p = pred.reshape(-1).cpu().numpy()
    if np.issubdtype(t.dtype, np.floating):
        t = np.rint(t).astype(np.int64)
    keep = t != IGNORE_INDEX
    return t[keep], p[keep], classes


class Accuracy(StreamingMetric):
    name = "accuracy"

    def reset(self) -> None:
        self.correct = 0
        self.total = 0

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        t, p, _ = _labels(output, target)
        self.correct += int((t == p).sum())
        self.total += int(t.size)

    def result(self) -> float:
        return self.correct / self.total if self.total else float("nan")


class ConfusionMetric(StreamingMetric):
    """Precision / recall / F1 (macro) from a growing confusion matrix."""

    def __init__(self, key: str) -> None:
        self._key = key
        self.name = key
        super().__init__()

    def reset(self) -> None:
        self.matrix = np.zeros((0, 0), dtype=np.int64)

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        t, p, classes = _labels(output, target)
        n = max(classes, self.matrix.shape[0], int(t.max(initial=-1)) + 1)
        cm = confusion_matrix(t, p, num_classes=n, ignore_index=None)
        if self.matrix.shape[0] < n:
            grown = np.zeros((n, n), dtype=np.int64)
            k = self.matrix.shape[0]
            grown[:k, :k] = self.matrix
            self.matrix = grown
        self.matrix += cm

    def result(self) -> float:
        if self.matrix.sum() == 0:
            return float("nan")
        return float(precision_recall_f1_from_confusion(self.matrix)[self._key])


class RocAuc(StreamingMetric):
    """Binary ROC-AUC over all batches; binary logits ``(B,)`` or two-class logits ``(B, 2)``."""

    name = "auc"

    def reset(self) -> None:
        self.scores = np.zeros(0)
        self.labels = np.zeros(0, dtype=np.int64)

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        out = output.detach().float()
        if out.dim() == target.dim() + 1:
            if out.shape[-1] != 2:
                raise ShapeError("auc: needs binary outputs (B,) or two-class logits (B, 2)")
            out = out[..., 1] - out[..., 0]
        s = out.reshape(-1).cpu().numpy().astype(np.float64)
        t = target.reshape(-1).cpu().numpy()
        keep = t != IGNORE_INDEX
        self.scores = np.concatenate([self.scores, s[keep]])
        self.labels = np.concatenate([self.labels, np.rint(t[keep]).astype(np.int64)])

    def result(self) -> float:
        return roc_auc(self.labels, self.scores)


class ErrorSums(StreamingMetric):
    """RMSE, MAE, MAPE or sMAPE from running sums (no stored predictions)."""

    def __init__(self, key: str, eps: float = 1e-8) -> None:
        self.name = key
        self._key = key
        self._eps = eps
        super().__init__()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        t = target.detach().reshape(-1).double()
        p = output.detach().reshape(-1).double()
        if p.numel() != t.numel():
            raise ShapeError(f"{self._key}: output has {p.numel()} values for {t.numel()} targets")
        err = (t - p).abs()
        if self._key == "rmse":
            terms = err**2
        elif self._key == "mae":
            terms = err
        elif self._key == "mape":
            terms = 100.0 * err / t.abs().clamp_min(self._eps)
        else:  # smape
            den = t.abs() + p.abs()
            terms = torch.where(den > 0, 200.0 * err / den.clamp_min(1e-300), torch.zeros_like(den))
        self.total += float(terms.sum())
        self.count += int(t.numel())

    def result(self) -> float:
        if not self.count:
            return float("nan")
        mean = self.total / self.count
        return math.sqrt(mean) if self._key == "rmse" else mean


class TokenCrossEntropy(StreamingMetric):
    """Perplexity or bits per character from the mean cross-entropy (nats) of non-ignored tokens."""

    def __init__(self, key: str) -> None:
        self.name = key
        self._key = key
        super().__init__()

    def reset(self) -> None:
        self.nats = 0.0
        self.tokens = 0

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        logits = output.detach().float().reshape(-1, output.shape[-1])
        flat = target.reshape(-1)
        self.nats += float(
            torch.nn.functional.cross_entropy(logits, flat, ignore_index=IGNORE_INDEX,
                                              reduction="sum")
        )
        self.tokens += int((flat != IGNORE_INDEX).sum())

    def result(self) -> float:
        if not self.tokens:
            return float("nan")
        mean = self.nats / self.tokens
        return perplexity(mean) if self._key == "perplexity" else bits_per_character(mean)


_ALIASES = {
    "acc": "accuracy",
    "macro_f1": "f1",
    "f1_macro": "f1",
    "roc_auc": "auc",
    "ppl": "perplexity",
    "bits_per_character": "bpc",
}

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "auc", "rmse", "mae", "mape", "smape",
                "perplexity", "bpc")


def make_metric(name: str | StreamingMetric) -> StreamingMetric:
    """A fresh accumulator for a metric name (or the given accumulator, reset).

    Names: accuracy, precision, recall, f1 (all macro), auc, rmse, mae, mape, smape, perplexity,
    bpc.
    """
    if isinstance(name, StreamingMetric):
        name.reset()
        return name
    key = _ALIASES.get(name.lower(), name.lower()) if isinstance(name, str) else None
    if key == "accuracy":
        return Accuracy()
    if key in ("precision", "recall", "f1"):
        return ConfusionMetric(key)
    if key == "auc":
        return RocAuc()
    if key in ("rmse", "mae", "mape", "smape"):
        return ErrorSums(key)
    if key in ("perplexity", "bpc"):
        return TokenCrossEntropy(key)
    raise ConfigError(f"metrics: unknown metric {name!r}; choose from {', '.join(METRIC_NAMES)}")


__all__ = [
    "IGNORE_INDEX",
    "METRIC_NAMES",
    "accuracy",
    "confusion_matrix",
    "precision_recall_f1",
    "precision_recall_f1_from_confusion",
    "precision",
    "recall",
    "f1_score",
    "roc_auc",
    "rmse",
    "mae",
    "mape",
    "smape",
    "mase",
    "perplexity",
    "bits_per_character",
    "bleu",
    "StreamingMetric",
    "Accuracy",
    "ConfusionMetric",
    "RocAuc",
    "ErrorSums",
    "TokenCrossEntropy",
    "make_metric",
]
