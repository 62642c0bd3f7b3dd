"""Batched greedy and beam-search decoding for any step-wise decoder, with attention weights.

A decoder is any object with ``start(x, lengths) -> carry`` (a dict of tensors, batch on dim 0),
``step(tokens (B,), carry) -> (logits (B, V), carry, weights (B, S) or None)``,
``reorder(carry, index) -> carry`` and ``bos_id``/``eos_id`` attributes, such as
:class:`rnnkit.tasks.translation_model.Seq2Seq`.

Both searches never emit padding (id 0) or ``<bos>``, stop a row at ``<eos>`` (or after
``max_length`` tokens) and return one :class:`Hypothesis` per source: the token ids (without
``<eos>``), the summed log-probability (``<eos>`` included), and the attention weights
``(len(tokens) + 1, S_i)`` (one row per generated token, ``<eos>`` included; empty without
attention). Beam search keeps ``beam_size`` hypotheses per source; finished ones stay in the beam
with their score frozen, and the winner maximises ``score / length ** length_penalty``
(``length_penalty=0``: the raw log-probability; 1: the mean per token). ``beam_size=1`` is greedy.

Example:
    >>> import torch
    >>> from rnnkit.tasks.translation_model import Seq2Seq
    >>> net = Seq2Seq(10, 12, hidden_size=8, embedding_dim=4).eval()
    >>> x, lengths = torch.randint(4, 10, (2, 5)), torch.tensor([5, 3])
    >>> greedy = greedy_search(net, x, lengths, max_length=6)
    >>> beam = beam_search(net, x, lengths, beam_size=1, max_length=6)
    >>> [h.tokens for h in greedy] == [h.tokens for h in beam]
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import ConfigError

PAD_ID = 0


@dataclass
class Hypothesis:
    """One decoded output: ``tokens`` (ids, no ``<eos>``), ``score`` (sum of log-probabilities),
    ``weights`` ((len(tokens) + 1, S) attention, or (0, S) without attention), ``finished``."""

    tokens: list[int]
    score: float
    weights: np.ndarray
    finished: bool = True


def _log_probs(decoder: Any, logits: Tensor) -> Tensor:
    """Log-probabilities over the tokens that may be generated (padding and <bos> excluded)."""
    logits = logits.double().clone()
    logits[:, PAD_ID] = -float("inf")
    logits[:, decoder.bos_id] = -float("inf")
    return torch.log_softmax(logits, dim=-1)


@torch.no_grad()
def greedy_search(decoder: Any, x: Tensor, lengths: Tensor, max_length: int) -> list[Hypothesis]:
    """Arg-max decoding of a batch; see the module docstring."""
    if max_length < 1:
        raise ConfigError(f"max_length={max_length} must be >= 1")
    B = x.shape[0]
    carry = decoder.start(x, lengths)
    tokens = torch.full((B,), decoder.bos_id, dtype=torch.int64)
    finished = torch.zeros(B, dtype=torch.bool)
    scores = torch.zeros(B, dtype=torch.float64)
    steps: list[Tensor] = []
    weights_per_step: list[Tensor] = []
    for _ in range(max_length):
        logits, carry, weights = decoder.step(tokens, carry)
        logp = _log_probs(decoder, logits)
        best, tokens = logp.max(dim=-1)
        tokens = torch.where(finished, torch.zeros_like(tokens), tokens)
        scores = scores + torch.where(finished, torch.zeros_like(best), best)
        steps.append(tokens)
        if weights is not None:
            weights_per_step.append(weights.float())
        finished = finished | (tokens == decoder.eos_id)
        if bool(finished.all()):
            break
    history = torch.stack(steps, dim=1).unsqueeze(1)  # (B, 1, t)
    attention = torch.stack(weights_per_step, dim=1).unsqueeze(1) if weights_per_step else None
    return _best(history, scores.unsqueeze(1), finished.unsqueeze(1), attention, lengths, 0.0,
                 decoder.eos_id)


@torch.no_grad()
def beam_search(
    decoder: Any,
    x: Tensor,
    lengths: Tensor,
    beam_size: int = 5,
    max_length: int = 50,
    length_penalty: float = 1.0,
) -> list[Hypothesis]:
    """Beam search over a batch ``x`` (B, S); see the module docstring."""
    if beam_size < 1:
        raise ConfigError(f"beam_size={beam_size} must be >= 1")
    if max_length < 1:
        raise ConfigError(f"max_length={max_length} must be >= 1")
    B, K = x.shape[0], beam_size
    eos = decoder.eos_id
    carry = decoder.start(x, lengths)
    rows = torch.arange(B).repeat_interleave(K)
    carry = decoder.reorder(carry, rows)
    scores = torch.full((B, K), -float("inf"), dtype=torch.float64)
    scores[:, 0] = 0.0
    finished = torch.zeros(B, K, dtype=torch.bool)
    tokens = torch.full((B * K,), decoder.bos_id, dtype=torch.int64)
    history = torch.zeros(B, K, 0, dtype=torch.int64)
    attention: Tensor | None = None  # (B, K, t, S)
    for _ in range(max_length):
        logits, carry, weights = decoder.step(tokens, carry)
        logp = _log_probs(decoder, logits).view(B, K, -1)
        V = logp.shape[-1]
        # A finished hypothesis only continues with padding, at no cost: its score is frozen.
        done_row = torch.full((V,), -float("inf"), dtype=torch.float64)
        done_row[PAD_ID] = 0.0
        logp = torch.where(finished.unsqueeze(-1), done_row, logp)
        candidates = (scores.unsqueeze(-1) + logp).view(B, K * V)
        scores, flat = candidates.topk(K, dim=-1)  # ties: lower index first
        beam = torch.div(flat, V, rounding_mode="floor")
        token = flat % V
        history = torch.cat(
            [history.gather(1, beam.unsqueeze(-1).expand_as(history)), token.unsqueeze(-1)], -1
        )
        finished = finished.gather(1, beam) | (token == eos)
        index = (torch.arange(B).unsqueeze(-1) * K + beam).view(-1)
        carry = decoder.reorder(carry, index)
        if weights is not None:
            step_w = weights.float().index_select(0, index).view(B, K, 1, -1)
            if attention is None:
                attention = step_w
            else:
                attention = torch.cat([attention.gather(1, _expand(beam, attention)), step_w],
                                      dim=2)
        tokens = token.view(-1)
        if bool(finished.all()):
            break
    return _best(history, scores, finished, attention, lengths, length_penalty, eos)


def _expand(beam: Tensor, like: Tensor) -> Tensor:
    return beam.view(*beam.shape, 1, 1).expand(-1, -1, like.shape[2], like.shape[3])


def _best(
    history: Tensor, scores: Tensor, finished: Tensor, attention: Tensor | None,
    lengths: Tensor, length_penalty: float, eos: int,
) -> list[Hypothesis]:
    out = []
    sizes = (history != PAD_ID).sum(-1).clamp(min=1).float()  # tokens incl. <eos>
    ranked = scores / sizes.pow(length_penalty) if length_penalty else scores.clone()
    ranked = torch.where(torch.isfinite(scores), ranked, torch.full_like(ranked, -float("inf")))
    choice = ranked.argmax(dim=1)
    for b in range(history.shape[0]):
        k = int(choice[b])
        ids = [int(t) for t in history[b, k] if int(t) != PAD_ID]
        done = bool(finished[b, k])
        steps = len(ids)
        if ids and ids[-1] == eos:
            ids = ids[:-1]
        S = int(lengths[b])
        if attention is not None:
            weights = attention[b, k, :steps, :S].numpy().copy()
        else:
            weights = np.zeros((0, S), dtype=np.float32)
        out.append(Hypothesis(ids, float(scores[b, k]), weights, done))
    return out


__all__ = ["Hypothesis", "greedy_search", "beam_search"]
