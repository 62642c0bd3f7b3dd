"""Which words drove this prediction? Per-token saliency for text classifiers.

- **integrated gradients** (Sundararajan et al. 2017, default): for the predicted (or a given)
  class c, ``a_i = sum_e (x_ie - x'_ie) * mean_alpha dlog p_c(x' + alpha (x - x'))/dx_ie`` over the
  embedding of token i, with the all-zero embedding (the padding row) as baseline x'. The scores add
  up to ``log p_c(x) - log p_c(x')`` (up to the Riemann error of ``steps``).
- **occlusion** (fallback, model-agnostic): ``a_i = log p_c(text) - log p_c(text without token i)``.

Positive scores push towards class c, negative away from it. :func:`explanation_html` renders them
as highlighted text in a self-contained HTML fragment, on the one scale of every rnnkit view
(the bar chart of ``rnnkit inspect``, the report, the web page): green supports the label, red
speaks against it, with a legend.

Example:
    >>> from rnnkit.tasks import TextClassifier
    >>> texts = ["good film", "bad film", "good plot", "bad plot"] * 10
    >>> clf = TextClassifier(epochs=3, hidden_size=8, embedding_dim=8, verbose=0)
    >>> clf = clf.fit(texts, ["pos", "neg", "pos", "neg"] * 10)
    >>> e = clf.explain("good film")
    >>> e.tokens, len(e.scores)
    (['good', 'film'], 2)
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import ConfigError, DataError

METHODS = ("integrated_gradients", "occlusion")


@dataclass
class Explanation:
    """Per-token attributions for one text: ``tokens[i]`` has score ``scores[i]``."""

    text: str
    tokens: list[str]
    scores: np.ndarray  # (T,) float64
    label: Any  # the explained class
    probability: float  # its predicted probability
    method: str

    def pairs(self) -> list[tuple[str, float]]:
        """``[(token, score), ...]`` in text order."""
        return [(t, float(s)) for t, s in zip(self.tokens, self.scores, strict=True)]

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` tokens with the largest absolute score, largest first."""
        order = np.argsort(-np.abs(self.scores))[:k]
        return [(self.tokens[i], float(self.scores[i])) for i in order]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.label, "probability": self.probability,
                "method": self.method, "tokens": self.tokens,
                "scores": [float(s) for s in self.scores]}

    def to_html(self) -> str:
        return explanation_html(self)


def _token_view(clf: Any, text: str) -> tuple[list[str], np.ndarray]:
    """The token strings and ids the classifier actually reads (after truncation)."""
    vec = clf.vectorizer_
    ids = np.asarray(vec.transform([text])[0], dtype=np.int64)
    tokens = vec.tokenize(text)
    if len(tokens) != len(ids):  # n-grams appended: name every id by its vocabulary entry
        vocab = vec.vocabulary
        tokens = [vocab[i] if i > 1 else "[UNK]" for i in ids]
    max_length = clf.params.get("max_length")
    if max_length and len(ids) > max_length:
        if clf.params.get("truncation", "post") == "pre":
            ids, tokens = ids[-max_length:], tokens[-max_length:]
        else:
            ids, tokens = ids[:max_length], tokens[:max_length]
    return list(tokens), ids


def _log_probs_from_embeddings(model: Any, emb: Tensor, lengths: Tensor) -> Tensor:
    output, state = model.encoder(emb, lengths=lengths)
    return torch.log_softmax(model.classify(model.pool(output, state, lengths)), dim=-1)


def integrated_gradients(model: Any, ids: Tensor, target: int, steps: int = 32) -> np.ndarray:
    """IG attributions (T,) of ``log p_target`` to each token of one id sequence ``ids`` (T,).

    ``model`` is a :class:`rnnkit.tasks.classifier_model.RecurrentClassifier` with an embedding.
    """
    if model.embedding is None:
        raise ConfigError("method: integrated gradients needs a token-embedding model")
    with torch.no_grad():
        emb = model.embedding(ids.unsqueeze(0))  # (1, T, E)
    alphas = (torch.arange(steps, dtype=emb.dtype) + 0.5) / steps  # midpoint rule
    path = (alphas.view(-1, 1, 1) * emb).detach().requires_grad_(True)  # baseline 0
    lengths = torch.full((steps,), ids.shape[0], dtype=torch.long)
    with torch.enable_grad():
        logp = _log_probs_from_embeddings(model, path, lengths)[:, target].sum()
        (grad,) = torch.autograd.grad(logp, path)
    return (emb[0] * grad.mean(dim=0)).sum(dim=-1).double().numpy()


def occlusion(model: Any, ids: Tensor, target: int) -> np.ndarray:
    """Drop-one-token attributions (T,): ``log p(full) - log p(without token i)``."""
    n = ids.shape[0]
    if n == 1:
        variants = torch.zeros(1, 1, dtype=torch.long)
        lengths = torch.tensor([1])
    else:
        keep = ~torch.eye(n, dtype=torch.bool)
        variants = torch.stack([ids[row] for row in keep])  # (T, T-1)
        lengths = torch.full((n,), n - 1, dtype=torch.long)
    with torch.no_grad():
        full = torch.log_softmax(model(ids.unsqueeze(0), torch.tensor([n])), -1)[0, target]
        dropped = torch.log_softmax(model(variants, lengths), -1)[:, target]
    return (full - dropped).double().numpy()


def explain_text(
    clf: Any, text: str, *, target: Any = None, method: str = "integrated_gradients",
    steps: int = 32,
) -> Explanation:
    """Explain ``clf``'s prediction (or class ``target``) for one ``text``; see the module doc."""
    if method not in METHODS:
        raise ConfigError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(text, str):
        raise DataError(f"text: expected one string, got {type(text).__name__}")
    model = clf._require_fitted()
    tokens, ids_np = _token_view(clf, text)
    if len(ids_np) == 0:
        raise DataError("text: has no tokens after standardization; give a non-empty text")
    proba = clf.predict_proba([text])[0]
    if target is None:
        index = int(np.argmax(proba))
    else:
        if target not in clf.classes_:
            raise DataError(f"target: {target!r} is not one of the classes {clf.classes_}")
        index = clf.classes_.index(target)
    ids = torch.from_numpy(ids_np)
    was_training = model.training
    model.eval()
    try:
        if method == "integrated_gradients" and model.embedding is not None:
            scores = integrated_gradients(model, ids, index, steps)
        else:
            method = "occlusion"
            scores = occlusion(model, ids, index)
    finally:
        model.train(was_training)
    return Explanation(text, tokens, scores, clf.classes_[index], float(proba[index]), method)


#: Green (supports the label) and red (against it), as in the web page (serve/static/app.js) and
#: the bar chart (:data:`rnnkit.viz.inside.SUPPORTS_COLOR`).
SUPPORTS_RGB = "47,158,91"
AGAINST_RGB = "220,60,50"


def _colour(score: float, scale: float) -> str:
    alpha = min(1.0, abs(score) / scale) if scale > 0 else 0.0
    rgb = SUPPORTS_RGB if score > 0 else AGAINST_RGB
    return f"rgba({rgb},{alpha * 0.85:.3f})"


def _joined(tokens: list[str]) -> list[str]:
    """Separators between tokens: none between single CJK characters, a space otherwise."""
    def cjk(t: str) -> bool:
        return len(t) == 1 and ("\u3040" <= t <= "\u9fff" or "\uac00" <= t <= "\ud7af")
    return ["" if i == 0 or (cjk(tokens[i - 1]) and cjk(t)) else " " for i, t in enumerate(tokens)]


def explanation_html(explanation: Explanation) -> str:
    """One self-contained HTML fragment: the text with every token highlighted by its score."""
    scores = explanation.scores
    scale = float(np.abs(scores).max()) if len(scores) else 0.0
    parts = []
    for sep, token, score in zip(_joined(explanation.tokens), explanation.tokens, scores,
                                 strict=True):
        parts.append(
            f'{sep}<span class="tok" style="background:{_colour(float(score), scale)}" '
            f'title="{float(score):+.4f}">{html.escape(token)}</span>'
        )
    label = html.escape(str(explanation.label))
    return (
        '<div class="saliency">'
        f'<div class="pred">prediction: <b>{label}</b> (p = {explanation.probability:.3f}); '
        f'{html.escape(explanation.method.replace("_", " "))}; '
        f'<span style="background:rgba({SUPPORTS_RGB},0.6)">supports the label</span> / '
        f'<span style="background:rgba({AGAINST_RGB},0.6)">against it</span></div>'
        f'<p class="text">{"".join(parts)}</p></div>'
    )


HTML_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.6}"
    ".tok{padding:1px 2px;border-radius:3px}.pred{color:#444;font-size:90%}"
    ".text{font-size:120%}"
)


def explanations_page(explanations: list[Explanation], title: str = "Saliency") -> str:
    """A complete, self-contained HTML page with one highlighted block per explanation."""
    body = "\n".join(e.to_html() for e in explanations)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>'
        f'{html.escape(title)}</title><style>{HTML_STYLE}</style></head><body>'
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
