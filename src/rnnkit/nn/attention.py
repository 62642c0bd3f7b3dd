"""Attention over a padded source sequence: additive (Bahdanau) and multiplicative (Luong).

Every module maps a query and a memory to a context vector and the attention weights::

    query (B, Q) or (B, T, Q), keys (B, S, K), values (B, S, V) = keys, mask (B, S) True = keep
        -> context (B, V) or (B, T, V), weights (B, S) or (B, T, S)

Scores (Bahdanau et al. 2015; Luong et al. 2015):

- :class:`AdditiveAttention` (``"additive"``, Bahdanau): ``v . tanh(W_q q + W_k k)``;
- :class:`GeneralAttention` (``"general"``, Luong): ``q . W k``;
- :class:`DotAttention` (``"dot"``, Luong): ``q . k`` (needs Q == K).

Padded source positions get a score of ``-inf`` before the softmax, so their weight is exactly
zero; a row whose source is empty (length 0) gets all-zero weights and a zero context instead of
NaN. The key projection that does not depend on the query is cached per source by
:meth:`prepare` so that a decoder calling the module once per step does not repeat it.

Example:
    >>> import torch
    >>> attn = AdditiveAttention(query_size=4, key_size=6, units=5)
    >>> keys = torch.randn(2, 3, 6)
    >>> mask = torch.tensor([[True, True, True], [True, False, False]])
    >>> context, weights = attn(torch.randn(2, 4), keys, mask=mask)
    >>> context.shape, weights.shape, weights[1, 1:].tolist()
    (torch.Size([2, 6]), torch.Size([2, 3]), [0.0, 0.0])
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError

SCORES = ("additive", "general", "dot")


class _Attention(nn.Module):
    """Shared masking, softmax and weighted sum; subclasses define :meth:`scores`."""

    def prepare(self, keys: Tensor) -> Tensor:
        """The query-independent part of the scores for a memory ``keys`` (B, S, K); cache it."""
        return keys

    def scores(self, query: Tensor, prepared: Tensor) -> Tensor:
        """Raw scores (B, T, S) for queries (B, T, Q) against the prepared keys."""
        raise NotImplementedError

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor | None = None,
        mask: Tensor | None = None,
        prepared: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``(context, weights)``; see the module docstring for the shapes."""
        if keys.dim() != 3:
            raise ShapeError(f"keys: expected (B, S, K), got shape {tuple(keys.shape)}")
        single = query.dim() == 2
        if single:
            query = query.unsqueeze(1)
        if query.dim() != 3 or query.shape[0] != keys.shape[0]:
            raise ShapeError(
                f"query: expected (B, Q) or (B, T, Q) with B={keys.shape[0]}, "
                f"got {tuple(query.shape)}"
            )
        values = keys if values is None else values
        if prepared is None:
            prepared = self.prepare(keys)
        weights = masked_softmax(self.scores(query, prepared), mask)
        context = torch.bmm(weights, values)
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last axis of ``scores`` (B, T, S) with ``mask`` (B, S) True = keep.

    Masked positions get exactly 0; a row with nothing to keep gets all zeros (not NaN).
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    if mask.dim() != 2 or mask.shape[0] != scores.shape[0] or mask.shape[1] != scores.shape[-1]:
        raise ShapeError(
            f"mask: expected (B, S) = ({scores.shape[0]}, {scores.shape[-1]}), "
            f"got {tuple(mask.shape)}"
        )
    keep = mask.to(torch.bool).unsqueeze(1)
    weights = torch.softmax(scores.masked_fill(~keep, -math.inf), dim=-1)
    if not bool(keep.any(dim=-1).all()):
        weights = weights.masked_fill(~keep, 0.0)  # all-masked rows: softmax gave NaN
    return weights


class AdditiveAttention(_Attention):
    """Bahdanau's additive score ``v . tanh(W_q q + W_k k)`` with ``units`` hidden units.

    Args: query_size Q, key_size K, units A (default Q).
    """

    def __init__(self, query_size: int, key_size: int, units: int | None = None) -> None:
        super().__init__()
        units = units or query_size
        self.query_proj = nn.Linear(query_size, units, bias=False)
        self.key_proj = nn.Linear(key_size, units)
        self.v = nn.Linear(units, 1, bias=False)

    def prepare(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)  # (B, S, A)

    def scores(self, query: Tensor, prepared: Tensor) -> Tensor:
        q = self.query_proj(query)  # (B, T, A)
        hidden = torch.tanh(q.unsqueeze(2) + prepared.unsqueeze(1))  # (B, T, S, A)
        return self.v(hidden).squeeze(-1)


class GeneralAttention(_Attention):
    """Luong's "general" score ``q . W k`` (Q and K may differ)."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_size, query_size, bias=False)

    def prepare(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)  # (B, S, Q)

    def scores(self, query: Tensor, prepared: Tensor) -> Tensor:
        return torch.bmm(query, prepared.transpose(1, 2))


class DotAttention(_Attention):
    """Luong's "dot" score ``q . k``; optionally scaled by ``1/sqrt(K)``. Needs Q == K."""

    def __init__(self, scaled: bool = False) -> None:
        super().__init__()
        self.scaled = scaled

    def scores(self, query: Tensor, prepared: Tensor) -> Tensor:
        if query.shape[-1] != prepared.shape[-1]:
            raise ShapeError(
                f"dot attention needs query size == key size, got {query.shape[-1]} and "
                f"{prepared.shape[-1]}; use the 'general' score instead"
            )
        s = torch.bmm(query, prepared.transpose(1, 2))
        return s / math.sqrt(query.shape[-1]) if self.scaled else s


def make_attention(score: str, query_size: int, key_size: int, **options: Any) -> _Attention:
    """An attention module by score name: ``additive``, ``general`` or ``dot``."""
    if score == "additive":
        return AdditiveAttention(query_size, key_size, options.get("units"))
    if score == "general":
        return GeneralAttention(query_size, key_size)
    if score == "dot":
        if query_size != key_size:
            raise ConfigError(
                f"score='dot' needs query size == key size (got {query_size} and {key_size}); "
                "use score='general' or make the sizes equal"
            )
        return DotAttention(options.get("scaled", False))
    raise ConfigError(f"score={score!r} is unknown; use one of {', '.join(SCORES)}")


__all__ = [
    "AdditiveAttention",
    "GeneralAttention",
    "DotAttention",
    "make_attention",
    "masked_softmax",
    "SCORES",
]
