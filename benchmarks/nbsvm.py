"""NB-SVM and NB logistic regression (Wang & Manning 2012), the classic text baseline.

Binary unigram+bigram indicators ``x̂`` are scaled by the naive-Bayes log-count ratio

    r = log( (p / |p|₁) / (q / |q|₁) ),   p = α + Σ_{y=1} x̂,   q = α + Σ_{y=0} x̂

and a linear classifier is trained on ``r ∘ x̂``: an L2-regularised squared-hinge SVM whose weights
are interpolated towards their mean magnitude, ``w' = (1 - β) w̄ + β w`` with ``w̄ = |w|₁ / |V|``
(NBSVM, β = 0.25, C = 1, as in the paper: 91.2% on IMDB with uni+bigrams), or logistic regression
(NB-LR). Two classes; scikit-learn does the counting and the fitting, so this module is for the
benchmarks only (scikit-learn is a dev dependency, never imported by rnnkit).

Example:
    >>> clf = NBSVM().fit(["good fun", "great fun", "dull plot", "bad plot"], [1, 1, 0, 0])
    >>> clf.predict(["fun", "plot"])
    [1, 0]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Words, and ! and ? (sentiment carries in them); HTML line breaks (IMDB's ``<br />``) are spaces.
TOKENS = r"(?u)\b\w+\b|[!?]"
_BREAKS = re.compile(r"<br\s*/?>", re.IGNORECASE)


def nb_ratio(x: Any, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """The log-count ratio ``r`` (V,) of binary features ``x`` (N, V; dense or sparse) for labels
    ``y`` in {0, 1}."""
    y = np.asarray(y)
    p = alpha + np.asarray(x[y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[y == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


class NBSVM:
    """``kind="svm"`` (NBSVM with interpolation ``beta``) or ``"logistic"`` (NB-LR) on binary
    uni+bigram features scaled by :func:`nb_ratio`.

    Args:
        kind: ``svm`` or ``logistic``. C: inverse regularisation strength. alpha: the count
            smoothing of ``r``. beta: NBSVM's interpolation (1 = the plain SVM weights).
        ngrams: the largest n-gram. max_features: vocabulary cap (None = all n-grams).
    """

    def __init__(self, kind: str = "svm", C: float = 1.0, alpha: float = 1.0, beta: float = 0.25,
                 ngrams: int = 2, max_features: int | None = None) -> None:
        if kind not in ("svm", "logistic"):
            raise ValueError(f"kind={kind!r}: use 'svm' or 'logistic'")
        self.kind, self.C, self.alpha, self.beta = kind, C, alpha, beta
        self.ngrams, self.max_features = ngrams, max_features
        self.classes_: list[Any] = []

    def _features(self, texts: Sequence[str]) -> Any:
        return self.vectorizer_.transform(texts).multiply(self.r_).tocsr()

    def fit(self, texts: Sequence[str], labels: Sequence[Any]) -> NBSVM:
        from sklearn.feature_extraction.text import CountVectorizer

        self.classes_ = sorted(set(labels), key=lambda v: (isinstance(v, str), v))
        if len(self.classes_) != 2:
            raise ValueError(f"NBSVM: two classes needed, got {len(self.classes_)}")
        y = np.array([self.classes_.index(v) for v in labels])
        self.vectorizer_ = CountVectorizer(
            ngram_range=(1, self.ngrams), binary=True, token_pattern=TOKENS,
            preprocessor=lambda text: _BREAKS.sub(" ", text).lower(),
            max_features=self.max_features, dtype=np.float64,
        )
        binary = self.vectorizer_.fit_transform(texts)
        self.r_ = nb_ratio(binary, y, self.alpha)
        features = binary.multiply(self.r_).tocsr()
        self.model_ = self._classifier().fit(features, y)
        if self.kind == "svm":
            w = self.model_.coef_
            self.model_.coef_ = (1 - self.beta) * np.abs(w).mean() + self.beta * w
        return self

    def _classifier(self) -> Any:
        if self.kind == "svm":
            from sklearn.svm import LinearSVC

            return LinearSVC(C=self.C, loss="squared_hinge", max_iter=10_000)
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, solver="liblinear", dual=True, max_iter=1000)

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model_.decision_function(self._features(texts)))

    def predict(self, texts: Sequence[str]) -> list[Any]:
        return [self.classes_[int(s > 0)] for s in self.decision_function(texts)]

    def score(self, texts: Sequence[str], labels: Sequence[Any]) -> float:
        return float(np.mean([p == t for p, t in zip(self.predict(texts), labels, strict=True)]))
