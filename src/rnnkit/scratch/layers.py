"""Non-recurrent layers: ``Embedding``, ``Dense``, and the heads that turn a sequence into outputs.

* :class:`Embedding` (V, E): token ids (B, T) -> vectors (B, T, E). Id 0 is padding: its row
  starts at zero and never receives a gradient (PyTorch's ``padding_idx=0``).
* :class:`Dense` (out, in): ``y = x W^T + b`` on the last axis, so it works on (B, F) and on
  (B, T, F) alike (PyTorch's ``nn.Linear`` layout).
* :class:`LastStep`: (B, T, H) -> (B, H), the output of each sequence's last real step; for a
  bidirectional output the reverse half is taken at step 0, where the reverse direction ends.
* :class:`ManyToOne` = ``LastStep`` + ``Dense`` (classify a sequence);
  :class:`ManyToMany` = ``Dense`` at every step, zeros at padded steps (tag every token).

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import Embedding, Dense
    >>> emb = Embedding(10, 4, dtype=np.float64)
    >>> v = emb(np.array([[3, 1, 0]]))
    >>> v.shape, bool(np.all(v[0, 2] == 0))
    ((1, 3, 4), True)
    >>> Dense(4, 2, dtype=np.float64)(v).shape
    (1, 3, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ScratchError
from .functional import check_lengths
from .module import Module, Rng, check_dtype, make_rng


class Embedding(Module):
    """A lookup table ``weight`` (num_embeddings, embedding_dim); row 0 is padding.

    Initialised N(0, 1) as ``torch.nn.Embedding``, with row 0 set to zero.
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, *, dtype: Any = np.float32, rng: Rng = None
    ) -> None:
        super().__init__()
        weight = make_rng(rng).standard_normal((num_embeddings, embedding_dim))
        weight[0] = 0.0
        self.weight = self._add_param("weight", weight.astype(check_dtype(dtype)))
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self._ids: np.ndarray | None = None

    def forward(self, ids: np.ndarray) -> np.ndarray:
        """ids (B, T) int -> (B, T, E)."""
        ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer):
            raise ScratchError(f"ids: expected integer token ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ScratchError(f"ids: every id must be in [0, {self.num_embeddings})")
        self._ids = ids
        return self.weight[ids]

    def backward(self, d_out: np.ndarray) -> None:
        """Scatter-add d_out into the rows that were used; row 0 (padding) gets nothing."""
        if self._ids is None:
            raise ScratchError("backward: call forward first")
        grad = self.grads["weight"]
        np.add.at(grad, self._ids.reshape(-1), d_out.reshape(-1, self.embedding_dim))
        grad[0] = 0.0


class Dense(Module):
    """Fully connected: ``y = x W^T + b``; weight (out, in), bias (out,), on the last axis.

    Initialised as ``torch.nn.Linear``: uniform(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(
        self, in_features: int, out_features: int, *, dtype: Any = np.float32, rng: Rng = None
    ) -> None:
        super().__init__()
        gen, bound = make_rng(rng), 1.0 / np.sqrt(in_features)
        dt = check_dtype(dtype)
        self.weight = self._add_param(
            "weight", gen.uniform(-bound, bound, (out_features, in_features)).astype(dt)
        )
        self.bias = self._add_param("bias", gen.uniform(-bound, bound, out_features).astype(dt))
        self.in_features, self.out_features = in_features, out_features
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(..., in) -> (..., out)."""
        x = np.asarray(x, dtype=self.weight.dtype)
        if x.shape[-1] != self.in_features:
            raise ScratchError(f"x: expected last dimension {self.in_features}, got {x.shape}")
        self._x = x
        return x @ self.weight.T + self.bias

    def backward(self, d_out: np.ndarray) -> np.ndarray:
        """dW += d_out^T x, db += sum d_out; returns dx = d_out W."""
        if self._x is None:
            raise ScratchError("backward: call forward first")
        flat_d = d_out.reshape(-1, self.out_features)
        self.grads["weight"] += flat_d.T @ self._x.reshape(-1, self.in_features)
        self.grads["bias"] += flat_d.sum(axis=0)
        return d_out @ self.weight


class LastStep(Module):
    """(B, T, H) -> (B, H): the output at each sequence's last real step (zeros for length 0).

    With ``bidirectional=True`` the second half of the features (the reverse direction) is taken
    at step 0, so the result equals the concatenated final states ``[h_fwd, h_bwd]``.
    """

    uses_lengths = True

    def __init__(self, bidirectional: bool = False) -> None:
        super().__init__()
        self.bidirectional = bidirectional
        self._shape: tuple[int, ...] | None = None

    def _index(self, batch: int, steps: int, lengths: np.ndarray | None) -> np.ndarray:
        last = np.full(batch, steps - 1) if lengths is None else np.maximum(lengths - 1, 0)
        return last

    def forward(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        x = np.asarray(x)
        batch, steps, features = x.shape
        lengths = check_lengths(lengths, batch, steps)
        rows, last = np.arange(batch), self._index(batch, steps, lengths)
        out = x[rows, last].copy()
        if self.bidirectional:
            out[:, features // 2 :] = x[:, 0, features // 2 :]
        if lengths is not None:
            out[lengths == 0] = 0.0
        self._shape, self._lengths, self._last = x.shape, lengths, last
        return out

    def backward(self, d_out: np.ndarray) -> np.ndarray:
        if self._shape is None:
            raise ScratchError("backward: call forward first")
        batch, _, features = self._shape
        dx = np.zeros(self._shape, dtype=d_out.dtype)
        d_out = d_out.copy()
        if self._lengths is not None:
            d_out[self._lengths == 0] = 0.0
        rows = np.arange(batch)
        if self.bidirectional:
            half = features // 2
            dx[rows, self._last, :half] = d_out[:, :half]
            dx[:, 0, half:] += d_out[:, half:]
        else:
            dx[rows, self._last] = d_out
        return dx


class ManyToOne(Module):
    """Sequence -> one output: :class:`LastStep` then :class:`Dense`. (B, T, H) -> (B, out)."""

    uses_lengths = True

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bidirectional: bool = False,
        dtype: Any = np.float32,
        rng: Rng = None,
    ) -> None:
        super().__init__()
        self.pick = LastStep(bidirectional)
        self.dense = Dense(in_features, out_features, dtype=dtype, rng=rng)

    def children(self) -> list[tuple[str, Module]]:
        return [("", self.dense)]

    def forward(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        return self.dense(self.pick(x, lengths))

    def backward(self, d_out: np.ndarray) -> np.ndarray:
        return self.pick.backward(self.dense.backward(d_out))


class ManyToMany(Module):
    """Sequence -> one output per step: :class:`Dense` at every step; zeros at padded steps."""

    uses_lengths = True

    def __init__(
        self, in_features: int, out_features: int, *, dtype: Any = np.float32, rng: Rng = None
    ) -> None:
        super().__init__()
        self.dense = Dense(in_features, out_features, dtype=dtype, rng=rng)
        self._mask: np.ndarray | None = None

    def children(self) -> list[tuple[str, Module]]:
        return [("", self.dense)]

    def forward(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        y = self.dense(x)
        lengths = check_lengths(lengths, x.shape[0], x.shape[1])
        self._mask = None
        if lengths is not None:
            self._mask = (np.arange(x.shape[1])[None, :] < lengths[:, None])[..., None]
            y = y * self._mask
        return y

    def backward(self, d_out: np.ndarray) -> np.ndarray:
        if self._mask is not None:
            d_out = d_out * self._mask
        return self.dense.backward(d_out)


__all__ = ["Embedding", "Dense", "LastStep", "ManyToOne", "ManyToMany"]
