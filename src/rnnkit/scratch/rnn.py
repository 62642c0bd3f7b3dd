"""The vanilla (Elman) RNN layer with its hand-written backward pass.

Forward, for every step t (rows are sequences of the batch)::

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh        (B, H)
    h_t = tanh(a_t)            (or relu(a_t))

Backward. Let ``dh_t = dL/dh_t``. The hidden state h_t feeds two places: the output y_t = h_t
(its gradient ``d_out_t`` comes from the loss) and the next step's a_{t+1}. So::

    dh_t    = d_out_t + dL/dh_t|from step t+1                         (sum over both uses)
    da_t    = dh_t * (1 - h_t**2)            chain rule through tanh (relu: dh_t * [h_t > 0])
    dh_{t-1} |from step t = da_t W_hh                                   the recursion through W_hh
    dW_hh  += da_t^T h_{t-1},  dW_ih += da_t^T x_t,  db += sum_b da_t,  dx_t = da_t W_ih

Unrolling the recursion, the gradient that step t sends back k steps is a product of k Jacobians

    dh_{t-k} = dh_t  * prod_{j} ( diag(1 - h_j**2) W_hh )

Its size behaves like ``(|tanh'| * ||W_hh||)**k``: with the largest singular value of W_hh below 1
(and tanh' <= 1) it shrinks geometrically -- the *vanishing gradient* that stops a vanilla RNN from
learning long dependencies; with large weights and unsaturated units it grows geometrically -- the
*exploding gradient* that gradient clipping keeps in check. ``hidden_grads`` after backward holds
every dh_t, so you can watch this happen.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import RNNLayer
    >>> layer = RNNLayer(2, 3, nonlinearity="tanh", dtype=np.float64)
    >>> out, h = layer(np.zeros((1, 4, 2)))
    >>> out.shape, h.shape
    ((1, 4, 3), (1, 1, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ScratchError
from .functional import relu
from .module import Rng
from .recurrent import RecurrentLayer


class RNNLayer(RecurrentLayer):
    """One direction of a vanilla RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    ``nonlinearity`` is "tanh" (default) or "relu", as in ``torch.nn.RNN``.
    """

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        nonlinearity: str = "tanh",
        reverse: bool = False,
        layer_index: int = 0,
        dtype: Any = np.float32,
        rng: Rng = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ScratchError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size, hidden_size, reverse=reverse, layer_index=layer_index, dtype=dtype, rng=rng
        )

    def _forward_loop(self, gx, init, masks):
        steps, batch, hidden = gx.shape
        hs = np.empty((steps + 1, batch, hidden), gx.dtype)  # carried states, hs[0] = h0
        hs[0] = init[0]
        # Without padding the new state IS the carried state, so write straight into hs.
        ys = hs[1:] if masks is None else np.empty((steps, batch, hidden), gx.dtype)
        w_hh_t = self.weight_hh.T
        activation = np.tanh if self.nonlinearity == "tanh" else relu
        for t in range(steps):
            a = ys[t]
            np.matmul(hs[t], w_hh_t, out=a)  # h_{t-1} W_hh^T
            a += gx[t]  # + x_t W_ih^T + b_ih + b_hh
            activation(a, out=a)  # y_t = tanh(a_t)
            if masks is not None:  # padded step: keep the old state
                np.subtract(a, hs[t], out=hs[t + 1])
                hs[t + 1] *= masks[t]
                hs[t + 1] += hs[t]
        self._loop = {"hs": hs, "ys": ys}
        out = ys if masks is None else ys * masks
        return out, (hs[-1].copy(),)

    def _backward_loop(self, d_out, d_final, masks):
        hs, ys = self._loop["hs"], self._loop["ys"]
        steps = ys.shape[0]
        da = np.empty_like(ys)  # dL/da_t for every step
        dh_all = np.empty_like(ys)
        dh_next = d_final[0]  # dL/dh_T from the final state
        w_hh = self.weight_hh
        for t in reversed(range(steps)):
            dh = d_out[t] + dh_next  # both uses of h_t: output and step t+1
            if masks is not None:
                dh_carry = dh * (1.0 - masks[t])  # padded step: gradient skips the cell
                dh = dh * masks[t]
            dh_all[t] = dh
            if self.nonlinearity == "tanh":  # through the activation
                np.multiply(ys[t], ys[t], out=da[t])
                np.subtract(1.0, da[t], out=da[t])
                da[t] *= dh
            else:
                np.multiply(dh, ys[t] > 0, out=da[t])
            dh_next = da[t] @ w_hh  # the recursion through W_hh
            if masks is not None:
                dh_next += dh_carry
        flat = da.reshape(-1, da.shape[-1])
        self.grads["weight_hh"] += flat.T @ hs[:-1].reshape(flat.shape[0], -1)
        self.grads["bias_hh"] += flat.sum(axis=0)
        return da, (dh_next,), dh_all


__all__ = ["RNNLayer"]
