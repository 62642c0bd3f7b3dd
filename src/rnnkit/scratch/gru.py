"""The GRU layer (reset-after, as PyTorch/cuDNN, and reset-before, as the 2014 paper).

Forward, for every step t (gate order r, z, n as in PyTorch; ``sigma`` = sigmoid)::

    gx = x_t W_ih^T + b_ih = [gx_r | gx_z | gx_n]          (B, 3H), all steps in one GEMM
    r = sigma(gx_r + h_{t-1} W_hr^T + b_hr)
    z = sigma(gx_z + h_{t-1} W_hz^T + b_hz)
    reset-after  (default): n = tanh(gx_n + r * (h_{t-1} W_hn^T + b_hn))
    reset-before          : n = tanh(gx_n + (r * h_{t-1}) W_hn^T + b_hn)
    h_t = (1 - z) * n + z * h_{t-1}

Backward, mirrored (``dX`` = dL/dX, ``a_X`` = pre-activation of gate X)::

    dh_t  = d_out_t + dh_t|from t+1
    dn    = dh_t * (1 - z)        dz = dh_t * (h_{t-1} - n)       dh_{t-1} += dh_t * z
    da_n  = dn * (1 - n**2)
    reset-after:  da_r = da_n * (h_{t-1} W_hn^T + b_hn) * r(1-r)
                  the hidden-side gradient of the n gate is da_n * r (it differs from the
                  input side, which is why b_hn cannot be folded into b_in)
    reset-before: d(r*h) = da_n W_hn;  da_r = d(r*h) * h_{t-1} * r(1-r);  dh_{t-1} += d(r*h) * r
    da_z  = dz * z(1-z)
    dh_{t-1} += [da_r, da_z, da_n (*r after)] W_hh   (reset-before: only the r, z rows here)

``h_t = h_{t-1} + (1 - z) * (n - h_{t-1})`` shows the GRU's version of the LSTM's memory path:
with z near 1 the state and its gradient pass through a step nearly unchanged.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import GRULayer
    >>> layer = GRULayer(2, 3, reset_after=False, dtype=np.float64)
    >>> out, h = layer(np.zeros((1, 4, 2)))
    >>> layer.state_dict()["weight_hh_l0"].shape
    (9, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .functional import sigmoid
from .module import Rng
from .recurrent import RecurrentLayer


class GRULayer(RecurrentLayer):
    """One direction of a GRU. ``reset_after=True`` matches ``torch.nn.GRU``."""

    gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        reset_after: bool = True,
        reverse: bool = False,
        layer_index: int = 0,
        dtype: Any = np.float32,
        rng: Rng = None,
    ) -> None:
        self.reset_after = reset_after
        super().__init__(
            input_size, hidden_size, reverse=reverse, layer_index=layer_index, dtype=dtype, rng=rng
        )

    def _input_bias(self) -> np.ndarray:
        # b_hr and b_hz can be folded into the input projection; b_hn cannot (it sits inside r*()).
        bias = self.bias_ih.copy()
        bias[: 2 * self.hidden_size] += self.bias_hh[: 2 * self.hidden_size]
        return bias

    def _forward_loop(self, gx, init, masks):
        steps, batch, _ = gx.shape
        hidden = self.hidden_size
        h2 = 2 * hidden
        dt = gx.dtype
        hs = np.empty((steps + 1, batch, hidden), dt)
        hs[0] = init[0]
        # r and z live in their own contiguous buffer: elementwise NumPy ops on a contiguous
        # (B, 2H) block are about twice as fast as on a strided slice of a (B, 3H) row.
        rz = np.empty((steps, batch, h2), dt)  # [r z] after the sigmoid
        ns = np.empty((steps, batch, hidden), dt)  # n after the tanh
        gx_rz, gx_n = np.ascontiguousarray(gx[..., :h2]), np.ascontiguousarray(gx[..., h2:])
        # reset-after: the hidden-side n pre-activation h W_hn^T + b_hn; reset-before: r * h.
        extra = np.empty((steps, batch, hidden), dt)
        new_h = hs[1:] if masks is None else np.empty((steps, batch, hidden), dt)
        w_hh_t = self.weight_hh.T
        w_hrz_t, w_hn_t = self.weight_hh[:h2].T, self.weight_hh[h2:].T
        b_hn = self.bias_hh[h2:]
        gh = np.empty((batch, 3 * hidden), dt)
        for t in range(steps):
            h, n = hs[t], ns[t]
            if self.reset_after:
                np.matmul(h, w_hh_t, out=gh)  # h_{t-1} W_hh^T   (all three gates)
                np.add(gx_rz[t], gh[:, :h2], out=rz[t])
                sigmoid(rz[t], out=rz[t])  # r, z
                r, z = rz[t, :, :hidden], rz[t, :, hidden:]
                np.add(gh[:, h2:], b_hn, out=extra[t])  # h W_hn^T + b_hn
                np.multiply(r, extra[t], out=n)  # r * (h W_hn^T + b_hn)
            else:
                np.matmul(h, w_hrz_t, out=rz[t])  # h_{t-1} W_h{r,z}^T
                rz[t] += gx_rz[t]
                sigmoid(rz[t], out=rz[t])  # r, z
                r, z = rz[t, :, :hidden], rz[t, :, hidden:]
                np.multiply(r, h, out=extra[t])  # r * h_{t-1}
                np.matmul(extra[t], w_hn_t, out=n)  # (r * h) W_hn^T
                n += b_hn
            n += gx_n[t]  # + x W_in^T + b_in
            np.tanh(n, out=n)
            hn = new_h[t]
            np.subtract(h, n, out=hn)  # h_t = n + z * (h_{t-1} - n)
            hn *= z
            hn += n
            if masks is not None:
                hs[t + 1] = h + masks[t] * (hn - h)
        self._loop = {"hs": hs, "rz": rz, "ns": ns, "extra": extra}
        out = new_h if masks is None else new_h * masks
        return out, (hs[-1].copy(),)

    def _backward_loop(self, d_out, d_final, masks):
        hs, rz, ns, extra = (self._loop[k] for k in ("hs", "rz", "ns", "extra"))
        steps, batch, _ = ns.shape
        hidden = self.hidden_size
        h2 = 2 * hidden
        dgx = np.empty((steps, batch, 3 * hidden), ns.dtype)  # dL/d(input-side pre-acts) [r z n]
        # hidden-side pre-activation gradients; reset-before shares them with dgx
        dgh = np.empty_like(dgx) if self.reset_after else dgx
        dh_all = np.empty_like(extra)
        dh_next = d_final[0]
        w_hh, w_hrz, w_hn = self.weight_hh, self.weight_hh[:h2], self.weight_hh[h2:]
        # The local slopes do not depend on the recursion: compute them for all steps at once.
        r_all, z_all, n_all = rz[..., :hidden], rz[..., hidden:], ns
        r_slope = r_all * (1.0 - r_all)  # sigma'(a_r)
        z_slope = (hs[:-1] - n_all) * z_all * (1.0 - z_all)  # dh_t -> da_z: (h - n) sigma'
        n_slope = (1.0 - z_all) * (1.0 - n_all * n_all)  # dh_t -> da_n: (1 - z) tanh'
        if self.reset_after:
            r_slope *= extra  # da_n -> da_r: (h W_hn^T + b_hn) sigma'(a_r)
        for t in reversed(range(steps)):
            h, d = hs[t], dgx[t]
            r, z = rz[t, :, :hidden], rz[t, :, hidden:]
            dh = d_out[t] + dh_next
            if masks is not None:
                m = masks[t]
                dh_carry = dh * (1.0 - m)
                dh = dh * m
            dh_all[t] = dh
            dh_prev = dh * z  # h_t = n + z * (h_{t-1} - n)
            np.multiply(dh, z_slope[t], out=d[:, hidden:h2])  # da_z
            np.multiply(dh, n_slope[t], out=d[:, h2:])  # da_n
            da_n = d[:, h2:]
            if self.reset_after:
                np.multiply(da_n, r_slope[t], out=d[:, :hidden])  # da_r
                dgh[t, :, :h2] = d[:, :h2]
                np.multiply(da_n, r, out=dgh[t, :, h2:])  # hidden side of n: da_n * r
                dh_prev += dgh[t] @ w_hh
            else:
                d_rh = da_n @ w_hn  # d(r * h_{t-1})
                np.multiply(d_rh, h, out=d[:, :hidden])  # dr
                d[:, :hidden] *= r_slope[t]  # da_r
                dh_prev += d_rh * r
                dh_prev += d[:, :h2] @ w_hrz
            if masks is not None:
                dh_prev += dh_carry
            dh_next = dh_prev
        rows = steps * dgx.shape[1]
        flat_h = dgh.reshape(rows, -1)
        h_prev = hs[:-1].reshape(rows, -1)
        if self.reset_after:
            self.grads["weight_hh"] += flat_h.T @ h_prev
        else:
            self.grads["weight_hh"][:h2] += flat_h[:, :h2].T @ h_prev
            self.grads["weight_hh"][h2:] += flat_h[:, h2:].T @ extra.reshape(rows, -1)
        self.grads["bias_hh"] += flat_h.sum(axis=0)
        return dgx, (dh_next,), dh_all


__all__ = ["GRULayer"]
