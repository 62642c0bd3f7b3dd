"""minGRU (Feng et al. 2024) in NumPy, trained through the parallel scan, backward by hand.

Forward, for all steps at once (``σ`` = sigmoid, ``g(v) = v + 1/2`` for v >= 0, ``σ(v)`` below)::

    k = x W_ih^T + b_ih = [k_z | k_h]          (T, B, 2H), one GEMM for every step
    z = σ(k_z)      h̃ = g(k_h)                  gates from x_t alone: no h_{t-1} inside
    a = 1 - z       b = z * h̃                   h_t = a_t h_{t-1} + b_t: a linear recurrence
    h = linear_scan(a, b, h0)                  (rnnkit.scratch.scan)

Padded steps (right padding, ``lengths``) get ``a = 1, b = 0``: the state passes through
unchanged, so the last state of the scan is each sequence's own final state.

Backward, mirrored::

    da, db, dh0 = linear_scan_backward(a, h, h0, dL/dh)      the reverse scan
    dk_z = (db * h̃ - da) * z (1 - z)           (b = z h̃ and a = 1 - z both depend on z)
    dk_h = db * z * g'(k_h)                    g' = 1 for k_h >= 0, else h̃ (1 - h̃)
    dW_ih = dk^T x,  db_ih = sum dk,  dx = dk W_ih     one GEMM each

Compare :mod:`rnnkit.scratch.gru`: there the gates read h_{t-1} through W_hh, so the backward
pass must walk the steps one by one; here every line above is over all steps at once, except the
scan, and the scan is parallel too.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import MinGRULayer
    >>> layer = MinGRULayer(3, 4, dtype=np.float64)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 3))
    >>> out, h = layer(x, lengths=np.array([5, 2]))
    >>> dx, dh0 = layer.backward(np.ones_like(out))
    >>> out.shape, h.shape, dx.shape, sorted(layer.state_dict())
    ((2, 5, 4), (1, 2, 4), (2, 5, 3), ['bias_ih_l0', 'weight_ih_l0'])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ScratchError
from .functional import check_lengths, lengths_to_mask, reverse_padded, sigmoid
from .module import Module, Rng, check_dtype, make_rng
from .scan import linear_scan, linear_scan_backward


def g(v: np.ndarray) -> np.ndarray:
    """The positive activation of minGRU: v + 1/2 for v >= 0, sigmoid(v) below."""
    return np.where(v >= 0, v + 0.5, sigmoid(v))


class MinGRULayer(Module):
    """One direction of a minGRU layer; parameters ``weight_ih_l{k}`` (2H, F) and
    ``bias_ih_l{k}`` (2H,) (``_reverse`` for the backward direction), as ``rnnkit.nn.MinGRU``,
    so ``state_dict`` moves between the two. Initialization U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        reverse: bool = False,
        layer_index: int = 0,
        dtype: Any = np.float32,
        rng: Rng = None,
    ) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ScratchError("input_size and hidden_size must be positive integers")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.reverse, self.layer_index = reverse, layer_index
        dt, gen = check_dtype(dtype), make_rng(rng)
        bound = 1.0 / np.sqrt(hidden_size)
        shape = (2 * hidden_size, input_size)
        self.weight_ih = self._add_param("weight_ih", gen.uniform(-bound, bound, shape).astype(dt))
        self.bias_ih = self._add_param(
            "bias_ih", gen.uniform(-bound, bound, 2 * hidden_size).astype(dt)
        )
        self._cache: dict[str, Any] = {}

    def _param_name(self, short: str) -> str:
        return f"{short}_l{self.layer_index}" + ("_reverse" if self.reverse else "")

    def forward(
        self,
        x: np.ndarray,
        lengths: np.ndarray | None = None,
        initial_state: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """x (B, T, F) -> ``(output (B, T, H), final state (1, B, H))``; zeros at padded steps."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ScratchError(f"x: expected shape (B, T, {self.input_size}), got {x.shape}")
        batch, steps, _ = x.shape
        dt, hidden = self.weight_ih.dtype, self.hidden_size
        lengths = check_lengths(lengths, batch, steps)
        if self.reverse:
            x = reverse_padded(x, lengths)
        xs = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dt)  # (T, B, F)
        h0 = np.zeros((batch, hidden), dt)
        if initial_state is not None:
            h0 = np.asarray(initial_state, dtype=dt).reshape(batch, hidden).copy()
        k = xs @ self.weight_ih.T + self.bias_ih  # (T, B, 2H)
        z, candidate = sigmoid(k[..., :hidden]), g(k[..., hidden:])
        a, b = 1.0 - z, z * candidate
        mask = None
        if lengths is not None:
            mask = lengths_to_mask(lengths, steps).T[:, :, None]  # (T, B, 1)
            a, b = np.where(mask, a, 1.0), np.where(mask, b, 0.0)
        h = linear_scan(a, b, h0)
        out = h if mask is None else h * mask
        self._cache = {"xs": xs, "k": k, "z": z, "candidate": candidate, "a": a, "h": h,
                       "h0": h0, "mask": mask, "lengths": lengths}
        output = out.transpose(1, 0, 2)
        if self.reverse:
            output = reverse_padded(output, lengths)
        return np.ascontiguousarray(output), h[-1][None].copy()

    def backward(
        self, d_output: np.ndarray | None = None, d_state: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """dL/d(output) (B, T, H) and dL/d(final state) (1, B, H) -> ``(dx, d_initial_state)``;
        parameter gradients are added into ``self.grads``."""
        if not self._cache:
            raise ScratchError("backward: call forward first")
        c = self._cache
        xs, k, z, candidate, a, h, mask = (
            c[n] for n in ("xs", "k", "z", "candidate", "a", "h", "mask")
        )
        steps, batch, _ = xs.shape
        hidden = self.hidden_size
        d_h = np.zeros_like(h)
        if d_output is not None:
            d_out = np.asarray(d_output, dtype=h.dtype)
            if self.reverse:
                d_out = reverse_padded(d_out, c["lengths"])
            d_h += d_out.transpose(1, 0, 2) if mask is None else d_out.transpose(1, 0, 2) * mask
        if d_state is not None:
            d_h[-1] += np.asarray(d_state, dtype=h.dtype).reshape(batch, hidden)
        da, db, dh0 = linear_scan_backward(a, h, c["h0"], d_h)
        if mask is not None:  # padded a, b are the constants 1 and 0
            da, db = da * mask, db * mask
        dk = np.empty_like(k)
        dk[..., :hidden] = (db * candidate - da) * z * (1.0 - z)
        slope = np.where(k[..., hidden:] >= 0, 1.0, candidate * (1.0 - candidate))
        dk[..., hidden:] = db * z * slope
        flat = dk.reshape(steps * batch, -1)
        self.grads["weight_ih"] += flat.T @ xs.reshape(steps * batch, -1)
        self.grads["bias_ih"] += flat.sum(axis=0)
        dx = (flat @ self.weight_ih).reshape(steps, batch, -1).transpose(1, 0, 2)
        if self.reverse:
            dx = reverse_padded(dx, c["lengths"])
        return np.ascontiguousarray(dx), dh0[None]


__all__ = ["MinGRULayer", "g"]
