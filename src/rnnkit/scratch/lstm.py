"""The LSTM layer with its hand-written backward pass.

Forward, for every step t (gate order i, f, g, o as in PyTorch; ``sigma`` = sigmoid)::

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh        (B, 4H) = [a_i | a_f | a_g | a_o]
    i = sigma(a_i)   f = sigma(a_f)   g = tanh(a_g)   o = sigma(a_o)
    c_t = f * c_{t-1} + i * g                                the cell state
    h_t = o * tanh(c_t)

Backward mirrors it line by line, bottom to top (``dX`` = dL/dX)::

    dh_t  = d_out_t + dh_t|from t+1
    do    = dh_t * tanh(c_t)
    dc_t  = dc_t|from t+1 + dh_t * o * (1 - tanh(c_t)**2)
    di    = dc_t * g       df = dc_t * c_{t-1}      dg = dc_t * i
    dc_{t-1}|from t = dc_t * f                      <- the cell-state path
    da_i = di * i(1-i)   da_f = df * f(1-f)   da_g = dg * (1 - g**2)   da_o = do * o(1-o)
    dh_{t-1}|from t = da_t W_hh

Why the LSTM remembers: along the cell-state path the gradient is multiplied only by the forget
gate, ``dc_{t-k} = dc_t * f_t * f_{t-1} * ... ``, elementwise, with no weight matrix and no
squashing derivative in between. When the network learns f close to 1, the gradient flows back
through many steps almost unchanged (the "constant error carousel"), while a vanilla RNN multiplies
by ``diag(tanh') W_hh`` at every step and vanishes or explodes.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import LSTMLayer
    >>> layer = LSTMLayer(2, 3, dtype=np.float64)
    >>> out, (h, c) = layer(np.zeros((1, 4, 2)))
    >>> layer.state_dict()["weight_ih_l0"].shape
    (12, 2)
"""

from __future__ import annotations

import numpy as np

from .recurrent import RecurrentLayer


class LSTMLayer(RecurrentLayer):
    """One direction of an LSTM; state is ``(h, c)``, each (1, B, H)."""

    gates = 4
    state_parts = 2

    def _forward_loop(self, gx, init, masks):
        steps, batch, _ = gx.shape
        hidden = self.hidden_size
        h1, h2, h3 = hidden, 2 * hidden, 3 * hidden
        dt = gx.dtype
        hs = np.empty((steps + 1, batch, hidden), dt)  # carried h, hs[0] = h0
        cs = np.empty((steps + 1, batch, hidden), dt)  # carried c, cs[0] = c0
        hs[0], cs[0] = init
        acts = np.empty((steps, batch, 4 * hidden), dt)  # activated gates [i f g o]
        tanh_c = np.empty((steps, batch, hidden), dt)
        new_h = hs[1:] if masks is None else np.empty((steps, batch, hidden), dt)
        new_c = cs[1:] if masks is None else np.empty((steps, batch, hidden), dt)
        # Speed: all four gate nonlinearities with ONE tanh over the contiguous row, using
        # sigma(a) = (1 + tanh(a / 2)) / 2. The 1/2 for i, f, o is folded into the input
        # projection and W_hh once, before the loop; afterwards s -> s * alpha + beta turns
        # tanh(a/2) into sigma(a) for i, f, o and leaves tanh(a) for g untouched.
        half = np.full(4 * hidden, 0.5, dt)
        half[h2:h3] = 1.0
        gx *= half
        w_hh_t = (self.weight_hh * half[:, None]).T
        alpha, beta = half, np.where(half == 0.5, 0.5, 0.0).astype(dt)
        for t in range(steps):
            a = acts[t]
            np.matmul(hs[t], w_hh_t, out=a)  # h_{t-1} W_hh^T
            a += gx[t]  # + x_t W_ih^T + b            (both pre-scaled by 1/2 for i, f, o)
            np.tanh(a, out=a)
            a *= alpha  # i, f, o: sigma(a) = (1 + tanh(a/2)) / 2;  g: tanh(a)
            a += beta
            i, f, g, o = a[:, :h1], a[:, h1:h2], a[:, h2:h3], a[:, h3:]
            c = new_c[t]
            np.multiply(f, cs[t], out=c)  # c_t = f * c_{t-1}
            c += i * g  #       + i * g
            np.tanh(c, out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=new_h[t])  # h_t = o * tanh(c_t)
            if masks is not None:  # padded step: carry (h, c) unchanged
                m = masks[t]
                hs[t + 1] = hs[t] + m * (new_h[t] - hs[t])
                cs[t + 1] = cs[t] + m * (c - cs[t])
        self._loop = {"hs": hs, "cs": cs, "acts": acts, "tanh_c": tanh_c}
        out = new_h if masks is None else new_h * masks
        return out, (hs[-1].copy(), cs[-1].copy())

    def _backward_loop(self, d_out, d_final, masks):
        hs, cs = self._loop["hs"], self._loop["cs"]
        acts, tanh_c = self._loop["acts"], self._loop["tanh_c"]
        steps = acts.shape[0]
        hidden = self.hidden_size
        h1, h2, h3 = hidden, 2 * hidden, 3 * hidden
        da = np.empty_like(acts)  # dL/da_t, gates [i f g o]
        dh_all = np.empty_like(tanh_c)
        dh_next, dc_next = d_final
        w_hh = self.weight_hh
        # The local slopes do not depend on the recursion: compute them for all steps at once.
        gate_slope = acts * (1.0 - acts)  # sigma' = s(1-s) for i, f, o
        g_all = acts[..., h2:h3]
        gate_slope[..., h2:h3] = 1.0 - g_all * g_all  # tanh' = 1 - g^2 for g
        c_slope = acts[..., h3:] * (1.0 - tanh_c * tanh_c)  # dh_t -> dc_t: o * tanh'(c_t)
        for t in reversed(range(steps)):
            a = acts[t]
            i, f, g = a[:, :h1], a[:, h1:h2], a[:, h2:h3]
            d = da[t]
            dh = d_out[t] + dh_next  # dh_t
            dc = dc_next
            if masks is not None:  # padded step: both gradients skip the cell
                m = masks[t]
                dh_carry, dc_carry = dh * (1.0 - m), dc * (1.0 - m)
                dh, dc = dh * m, dc * m
            dh_all[t] = dh
            np.multiply(dh, tanh_c[t], out=d[:, h3:])  # do = dh * tanh(c_t)
            dc = dc + dh * c_slope[t]  # dc_t += dh * o * tanh'(c_t)
            np.multiply(dc, g, out=d[:, :h1])  # di = dc * g
            np.multiply(dc, cs[t], out=d[:, h1:h2])  # df = dc * c_{t-1}
            np.multiply(dc, i, out=d[:, h2:h3])  # dg = dc * i
            dc_next = dc * f  # dc_{t-1}: the cell-state path
            d *= gate_slope[t]  # through the gate nonlinearities: da_t
            dh_next = d @ w_hh  # dh_{t-1} through W_hh
            if masks is not None:
                dh_next += dh_carry
                dc_next += dc_carry
        flat = da.reshape(-1, da.shape[-1])
        self.grads["weight_hh"] += flat.T @ hs[:-1].reshape(flat.shape[0], -1)
        self.grads["bias_hh"] += flat.sum(axis=0)
        return da, (dh_next, dc_next), dh_all


__all__ = ["LSTMLayer"]
