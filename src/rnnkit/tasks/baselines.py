"""Bag-of-words baselines, reported beside every recurrent text model.

``BagOfWordsClassifier`` is logistic regression (or, with ``hidden_size``, the Keras book's dense
network) on binary word and bigram indicators: it sees which words occur, never their order. If a
recurrent model does not beat it, the order of words is not helping yet.

Example:
    >>> bow = BagOfWordsClassifier(epochs=30).fit(["good", "bad", "very good", "very bad"] * 5,
    ...                                            [1, 0, 1, 0] * 5)
    >>> bow.predict(["good", "bad"])
    [1, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.data import TextVectorizer
from rnnkit.errors import DataError


class _BagModel(nn.Module):
    """Sum of learned vectors of the distinct tokens of a text -> (optional ReLU layer) -> logits.
    """

    def __init__(self, vocab_size: int, num_classes: int, hidden_size: int | None) -> None:
        super().__init__()
        width = hidden_size or num_classes
        self.bag = nn.EmbeddingBag(vocab_size, width, mode="sum", padding_idx=0)
        self.bias = nn.Parameter(torch.zeros(width))
        # Logistic regression starts from zero weights; EmbeddingBag's N(0, 1) default would start
        # every text with a large random score.
        with torch.no_grad():
            if hidden_size:
                self.bag.weight.normal_(0.0, 0.01)
            else:
                self.bag.weight.zero_()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(width, num_classes)) if hidden_size else None

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        out = self.bag(ids, offsets) + self.bias
        return self.head(out) if self.head is not None else out


class BagOfWordsClassifier:
    """Logistic regression on binary unigram+bigram indicators (``hidden_size`` adds a dense layer).

    Args:
        max_tokens: vocabulary cap (unigrams and bigrams together).
        ngrams: 2 for unigrams and bigrams, 1 for words only.
        hidden_size: None for logistic regression, else a ReLU layer of that width (the Keras book's
            multi-hot dense baseline uses 16).
        epochs, lr, weight_decay, batch_size, seed: training (Adam, full passes over the data).
    """

    def __init__(self, max_tokens: int = 50000, ngrams: int = 2, hidden_size: int | None = None,
                 epochs: int = 10, lr: float = 1e-2, weight_decay: float = 1e-6,
                 batch_size: int = 128, seed: int = 0) -> None:
        self.max_tokens, self.ngrams, self.hidden_size = max_tokens, ngrams, hidden_size
        self.epochs, self.lr, self.weight_decay = epochs, lr, weight_decay
        self.batch_size, self.seed = batch_size, seed
        self.classes_: list[Any] = []

    def _bags(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [np.unique(ids[ids > 1]) for ids in self.vectorizer_.transform(texts)]

    @staticmethod
    def _batch(bags: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = np.fromiter((len(b) for b in bags), dtype=np.int64, count=len(bags))
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        ids = np.concatenate(bags) if len(bags) else np.zeros(0, dtype=np.int64)
        return torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(offsets.astype(np.int64))

    def fit(self, texts: Sequence[str], labels: Sequence[Any]) -> BagOfWordsClassifier:
        self.classes_ = sorted(set(labels), key=lambda v: (isinstance(v, str), v))
        if len(self.classes_) < 2:
            raise DataError("labels: a classifier needs at least two classes")
        index = {c: i for i, c in enumerate(self.classes_)}
        y = torch.tensor([index[v] for v in labels])
        self.vectorizer_ = TextVectorizer(max_tokens=self.max_tokens, ngrams=self.ngrams).fit(texts)
        bags = self._bags(texts)
        torch.manual_seed(self.seed)
        self.model_ = _BagModel(self.vectorizer_.vocabulary_size, len(self.classes_),
                                self.hidden_size)
        optimizer = torch.optim.Adam(self.model_.parameters(), lr=self.lr,
                                     weight_decay=self.weight_decay)
        rng = np.random.default_rng(self.seed)
        for _ in range(self.epochs):
            order = rng.permutation(len(bags))
            for start in range(0, len(order), self.batch_size):
                pick = order[start : start + self.batch_size]
                ids, offsets = self._batch([bags[i] for i in pick])
                loss = nn.functional.cross_entropy(self.model_(ids, offsets), y[pick])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(self.model_(*self._batch(self._bags(texts))), dim=-1).numpy()

    def predict(self, texts: Sequence[str]) -> list[Any]:
        return [self.classes_[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def score(self, texts: Sequence[str], labels: Sequence[Any]) -> float:
        return float(np.mean([p == t for p, t in zip(self.predict(texts), labels, strict=True)]))
