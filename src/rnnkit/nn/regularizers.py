"""The AWD-LSTM regularisers (Merity, Keskar & Socher 2017, arXiv:1708.02182), for any task.

- **Weight drop** (DropConnect on the hidden-to-hidden weights): the ``weight_drop=p`` option of
  every :class:`rnnkit.nn.RecurrentLayer`. One mask per forward call (one batch) is applied to
  each ``weight_hh`` *before* the run, so the same dropped weights serve every time step and the
  fused kernels (torch's ``_VF`` and rnnkit's numba kernels) still run.
- **Embedding dropout** (:func:`embedding_dropout`): whole words dropped, i.e. rows of the
  embedding matrix, the same words for every position of the batch.
- **Locked (variational) dropout** (:func:`locked_dropout`, :class:`LockedDropout`, and the
  ``locked_dropout=True`` option of the layers for the dropout between stacked layers): one mask
  per sequence, shared by all time steps.
- **AR and TAR** (:func:`activation_penalty`): ``alpha * mean(h²)`` on the dropped outputs and
  ``beta * mean((h_t - h_{t-1})²)`` on the raw outputs of the top layer. A model returns it from a
  ``regularization_loss()`` method and :class:`rnnkit.train.Trainer` adds it to the loss it
  back-propagates (not to the loss it reports).

Every dropout here is *inverted* dropout, as in the paper's code: what is kept is scaled by
``1 / (1 - p)`` in training, so eval mode uses the weights and activations as they are (no
rescaling, no mask).

Example:
    >>> import torch
    >>> from rnnkit.nn import LSTM
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> lstm = LSTM(4, 8, num_layers=2, dropout=0.3, locked_dropout=True, weight_drop=0.5)
    >>> embedding = torch.nn.Embedding(20, 4)
    >>> ids = torch.randint(0, 20, (3, 6))
    >>> x = locked_dropout(embedding_dropout(embedding, ids, 0.1, training=True), 0.4, True)
    >>> out, _ = lstm(x)
    >>> penalty = activation_penalty(locked_dropout(out, 0.4, True), out, alpha=2.0, beta=1.0)
    >>> tuple(out.shape), lstm.backend != "loop", bool(penalty > 0)
    ((3, 6, 8), True, True)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import ShapeError
from rnnkit.nn.cells import check_probability as _checked


def locked_dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """Variational dropout of x (B, T, F): one mask (B, 1, F) per sequence, the same at every step.

    Inverted: the kept features are scaled by ``1 / (1 - p)``; identity when not ``training`` or
    ``p == 0``.

    Example:
        >>> import torch
        >>> y = locked_dropout(torch.ones(2, 5, 3), 0.5)
        >>> bool((y == y[:, :1]).all())   # the same mask at every step
        True
    """
    p = _checked(p, "p")
    if not training or p == 0.0:
        return x
    if x.dim() != 3:
        raise ShapeError(f"x: expected (B, T, F), got shape {tuple(x.shape)}")
    keep = 1.0 - p
    mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(keep).div_(keep)
    return x * mask


class LockedDropout(nn.Module):
    """:func:`locked_dropout` as a module (active in training mode only); no parameters."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _checked(p, "p")

    def forward(self, x: Tensor) -> Tensor:
        return locked_dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def embedding_dropout(
    embedding: nn.Embedding, ids: Tensor, p: float, training: bool = True
) -> Tensor:
    """``embedding(ids)`` with whole words dropped: each row of the embedding matrix (each word of
    the vocabulary) is zeroed with probability ``p`` for the whole call, the others scaled by
    ``1 / (1 - p)``; identity (plain lookup) when not ``training`` or ``p == 0``.

    Equal to looking ``ids`` up in the matrix ``weight * mask[:, None]`` (the paper's form), but
    only the looked-up rows are multiplied: the cost does not grow with the vocabulary.

    ids (...) int64 -> (..., E).

    Example:
        >>> import torch
        >>> emb = torch.nn.Embedding(10, 4)
        >>> out = embedding_dropout(emb, torch.tensor([[3, 3, 5]]), 0.5)
        >>> bool((out[0, 0] == out[0, 1]).all())   # a word is dropped everywhere or nowhere
        True
    """
    p = _checked(p, "p")
    looked_up = embedding(ids)
    if not training or p == 0.0:
        return looked_up
    weight = embedding.weight
    keep = 1.0 - p
    rows = torch.empty(weight.shape[0], dtype=weight.dtype, device=weight.device)
    rows.bernoulli_(keep).div_(keep)
    return looked_up * rows[ids].unsqueeze(-1)


def drop_weight(weight: Tensor, p: float) -> Tensor:
    """DropConnect: ``weight`` with each entry zeroed with probability ``p``, the rest scaled by
    ``1 / (1 - p)`` (one fresh mask per call). What ``weight_drop`` applies to ``weight_hh``."""
    return F.dropout(weight, _checked(p, "p"), training=True)


def activation_penalty(
    dropped: Tensor, raw: Tensor, alpha: float = 0.0, beta: float = 0.0
) -> Tensor:
    """AR + TAR: ``alpha * mean(dropped²) + beta * mean((raw[:, t] - raw[:, t-1])²)``.

    ``dropped``: the top layer's outputs after dropout (B, T, H); ``raw``: the same outputs before
    it (B, T, H). A scalar tensor (zero when both weights are 0, or TAR on one step only).

    Example:
        >>> import torch
        >>> h = torch.tensor([[[1.0], [3.0]]])
        >>> float(activation_penalty(h, h, alpha=1.0, beta=1.0))   # mean(1, 9) + (3 - 1)²
        9.0
    """
    penalty = raw.new_zeros(())
    if alpha:
        penalty = penalty + alpha * dropped.pow(2).mean()
    if beta and raw.shape[1] > 1:
        penalty = penalty + beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    return penalty


__all__ = [
    "LockedDropout",
    "activation_penalty",
    "drop_weight",
    "embedding_dropout",
    "locked_dropout",
]
