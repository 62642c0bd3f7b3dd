"""One direction of one recurrent layer: the loop over time, forward and backward (BPTT).

:class:`RecurrentLayer` does the bookkeeping every cell shares; the cells (``RNNLayer``,
``LSTMLayer``, ``GRULayer``) only write the loop body, forward and its mirror image backward.

Shapes (batch-first outside, time-major inside because the loop runs over time):

    x        (B, T, F)         output   (B, T, H), zeros at padded steps
    lengths  (B,) int          state    (1, B, H)  (LSTM: a tuple (h, c) of those)

The work is arranged for speed, as in every serious RNN implementation:

1. ``x @ W_ih.T + b`` for *all* time steps is one matrix product before the loop;
2. only ``h @ W_hh.T`` is inside the loop (it depends on the previous step);
3. backward collects ``dL/da_t`` for every step into one (T, B, G*H) buffer and forms
   ``dW_ih``, ``dW_hh`` and ``dx`` with one matrix product each after the loop.

Variable lengths use right padding. At a padded step ``t >= length`` the state is carried through
unchanged (``h_t = h_{t-1}``) and the output is zero, so the final state is the state after each
sequence's last real step -- exactly what ``torch.nn.utils.rnn.pack_padded_sequence`` gives.
In backward the same mask routes the carried gradient straight through padded steps.

A ``reverse=True`` layer (the backward half of a bidirectional layer) reverses every sequence
within its own length, runs the same loop, and reverses the outputs back.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import LSTMLayer
    >>> layer = LSTMLayer(3, 4, dtype=np.float64)
    >>> out, (h, c) = layer(np.ones((2, 5, 3)), lengths=np.array([5, 2]))
    >>> out.shape, h.shape, bool(np.allclose(out[1, 2:], 0))
    ((2, 5, 4), (1, 2, 4), True)
    >>> dx, d_init = layer.backward(np.ones_like(out))
    >>> dx.shape, layer.hidden_grads.shape
    ((2, 5, 3), (2, 5, 4))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ScratchError
from .functional import check_lengths, lengths_to_mask, reverse_padded
from .module import Module, Rng, check_dtype, make_rng

State = np.ndarray | tuple[np.ndarray, ...]


class RecurrentLayer(Module):
    """Shared machinery of a one-direction recurrent layer. Subclasses set ``gates`` and the loop.

    Parameters (PyTorch names and layouts; ``G`` = number of gates):
    ``weight_ih_l{k}`` (G*H, F), ``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}`` (G*H,),
    ``bias_hh_l{k}`` (G*H,), with ``_reverse`` appended for the backward direction.
    Initialisation is PyTorch's: uniform(-1/sqrt(H), 1/sqrt(H)) for all four.
    """

    gates = 1
    state_parts = 1  # 2 for LSTM: (h, c)

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
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.reverse = reverse
        self.layer_index = layer_index
        dt = check_dtype(dtype)
        gen = make_rng(rng)
        gh, bound = self.gates * hidden_size, 1.0 / np.sqrt(hidden_size)

        def uniform(*shape: int) -> np.ndarray:
            return gen.uniform(-bound, bound, size=shape).astype(dt)

        self.weight_ih = self._add_param("weight_ih", uniform(gh, input_size))
        self.weight_hh = self._add_param("weight_hh", uniform(gh, hidden_size))
        self.bias_ih = self._add_param("bias_ih", uniform(gh))
        self.bias_hh = self._add_param("bias_hh", uniform(gh))
        self.hidden_grads: np.ndarray | None = None
        self._cache: dict[str, Any] = {}
        self._loop: dict[str, np.ndarray] = {}  # what the cell's loop keeps for backward

    def _param_name(self, short: str) -> str:
        return f"{short}_l{self.layer_index}" + ("_reverse" if self.reverse else "")

    @property
    def num_directions(self) -> int:
        return 1

    # -- forward ----------------------------------------------------------------------------
    def forward(
        self,
        x: np.ndarray,
        lengths: np.ndarray | None = None,
        initial_state: State | None = None,
    ) -> tuple[np.ndarray, State]:
        """Run the layer over ``x`` (B, T, F); return ``(output (B, T, H), final state)``.

        ``initial_state`` is (1, B, H) or (B, H) (LSTM: a tuple ``(h0, c0)``); default zeros.
        The final state has shape (1, B, H), as one direction of torch.nn.RNN/LSTM/GRU.
        """
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ScratchError(
                f"x: expected shape (B, T, {self.input_size}) batch-first, got {x.shape}"
            )
        dt = self.weight_ih.dtype
        batch, steps, _ = x.shape
        lengths = check_lengths(lengths, batch, steps)
        if self.reverse:
            x = reverse_padded(x, lengths)
        xs = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dt)  # (T, B, F)
        masks = None
        if lengths is not None and lengths.min() < steps:
            masks = lengths_to_mask(lengths, steps).T[:, :, None].astype(dt)  # (T, B, 1)
        init = self._initial_state(initial_state, batch)

        # All input projections in one GEMM: (T*B, F) @ (F, G*H).
        gx = (xs.reshape(steps * batch, -1) @ self.weight_ih.T).reshape(steps, batch, -1)
        gx += self._input_bias()
        out, final = self._forward_loop(gx, init, masks)

        self._cache = {"xs": xs, "masks": masks, "lengths": lengths}
        output = out.transpose(1, 0, 2)
        if self.reverse:
            output = reverse_padded(output, lengths)
        final = tuple(s[None] for s in final)
        return np.ascontiguousarray(output), final if self.state_parts > 1 else final[0]

    def _input_bias(self) -> np.ndarray:
        """The bias folded into the input projection (b_ih + b_hh unless the cell needs b_hh apart).
        """
        return self.bias_ih + self.bias_hh

    def _initial_state(self, state: State | None, batch: int) -> tuple[np.ndarray, ...]:
        dt, shape = self.weight_ih.dtype, (batch, self.hidden_size)
        if state is None:
            return tuple(np.zeros(shape, dt) for _ in range(self.state_parts))
        parts = state if isinstance(state, tuple | list) else (state,)
        if len(parts) != self.state_parts:
            raise ScratchError(
                f"initial_state: expected {self.state_parts} array(s) "
                f"({'(h0, c0)' if self.state_parts == 2 else 'h0'})"
            )
        out = []
        for part in parts:
            part = np.asarray(part, dtype=dt)
            if part.ndim == 3 and part.shape[0] == 1:
                part = part[0]
            if part.shape != shape:
                raise ScratchError(f"initial_state: expected shape (1, {batch}, {shape[1]})")
            out.append(part.copy())
        return tuple(out)

    # -- backward ---------------------------------------------------------------------------
    def backward(
        self, d_output: np.ndarray | None = None, d_state: State | None = None
    ) -> tuple[np.ndarray, State]:
        """Backpropagation through time. Accumulate parameter gradients into ``self.grads``.

        ``d_output`` is dL/d(output) (B, T, H) (None = zeros); ``d_state`` is dL/d(final state),
        shaped like the final state (None = zeros). Returns ``(dx (B, T, F), d_initial_state)``.
        Afterwards ``self.hidden_grads`` (B, T, H) holds dL/dh_t for every step (zero at padding):
        the gradient that reached each hidden state, the quantity that vanishes or explodes.
        """
        if not self._cache:
            raise ScratchError("backward: call forward first")
        xs, masks, lengths = self._cache["xs"], self._cache["masks"], self._cache["lengths"]
        steps, batch, _ = xs.shape
        dt, hidden = xs.dtype, self.hidden_size
        if d_output is None:
            d_out = np.zeros((steps, batch, hidden), dt)
        else:
            d_output = np.asarray(d_output, dtype=dt)
            if d_output.shape != (batch, steps, hidden):
                raise ScratchError(f"d_output: expected shape {(batch, steps, hidden)}")
            if self.reverse:
                d_output = reverse_padded(d_output, lengths)
            d_out = np.ascontiguousarray(d_output.transpose(1, 0, 2))
            if masks is not None:
                d_out *= masks  # padded outputs are constant zeros: no gradient flows from them
        d_final = self._initial_state(d_state, batch)

        dgx, d_init, dh_all = self._backward_loop(d_out, d_final, masks)

        # Weight gradients of the input projection, all steps at once.
        flat = dgx.reshape(steps * batch, -1)
        self.grads["weight_ih"] += flat.T @ xs.reshape(steps * batch, -1)
        self.grads["bias_ih"] += flat.sum(axis=0)
        dx = (flat @ self.weight_ih).reshape(steps, batch, -1).transpose(1, 0, 2)
        hidden_grads = dh_all.transpose(1, 0, 2)
        if self.reverse:
            dx = reverse_padded(dx, lengths)
            hidden_grads = reverse_padded(hidden_grads, lengths)
        self.hidden_grads = np.ascontiguousarray(hidden_grads)
        d_init = tuple(s[None] for s in d_init)
        return np.ascontiguousarray(dx), d_init if self.state_parts > 1 else d_init[0]

    def state_at(self, step: int) -> State:
        """The carried state after ``step`` steps of the last forward call (0 = initial state).

        Used by truncated BPTT to restart a window from an earlier point of the stream.
        """
        if "hs" not in self._loop:
            raise ScratchError("state_at: call forward first")
        if self.reverse:
            raise ScratchError("state_at: a reverse layer has no stream state; use reverse=False")
        keys = ("hs", "cs") if self.state_parts == 2 else ("hs",)
        parts = tuple(self._loop[k][step][None].copy() for k in keys)
        return parts if self.state_parts > 1 else parts[0]

    # -- the cell-specific loop -------------------------------------------------------------
    def _forward_loop(
        self, gx: np.ndarray, init: tuple[np.ndarray, ...], masks: np.ndarray | None
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _backward_loop(
        self, d_out: np.ndarray, d_final: tuple[np.ndarray, ...], masks: np.ndarray | None
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.input_size}, {self.hidden_size}, "
            f"reverse={self.reverse}, dtype={self.weight_ih.dtype})"
        )


__all__ = ["RecurrentLayer", "State"]
