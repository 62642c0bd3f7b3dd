"""torch.autograd.Function around the numba kernels, and the thread split over batch rows.

:func:`recurrent` runs one stacked layer (all its directions) of an RNN/GRU/LSTM:

- inputs: ``gx`` (B, T, D*G*H) = the input projections of every step, computed by the caller in
  one GEMM (``F.linear(x, cat(W_ih), cat(b_ih))``, so autograd handles W_ih, b_ih and x);
  ``whh`` (D, G*H, H), ``bhh`` (D, G*H), ``h0`` (and ``c0``) (D, B, H), ``lengths`` (B,) int64;
- outputs: ``out`` (B, T, D*H) (zeros at padded steps), ``h_n`` (and ``c_n``) (D, B, H).

The per-step recurrence runs in numba; the weight gradients ``sum_t da_t^T h_{t-1}`` are GEMMs
in torch after the backward kernel, against the outputs shifted by one step (``h_{t-1}`` itself
is never saved). Work is split into (direction, block of rows)
units run on ``torch.get_num_threads()`` threads, torch's own OpenMP threads where possible (see
:mod:`rnnkit.nn.kernels.threads`; the kernels release the GIL); blocks start at multiples of 8
rows, so results do not depend on the thread count.

Example:
    >>> import torch
    >>> from rnnkit.nn.kernels.autograd import recurrent
    >>> gx, whh = torch.randn(2, 5, 3), torch.randn(1, 3, 3)
    >>> out, h_n = recurrent("rnn", gx, whh, torch.zeros(1, 3), torch.zeros(1, 2, 3), None,
    ...                      torch.tensor([5, 2]))
    >>> tuple(out.shape), bool((out[1, 2:] == 0).all())
    ((2, 5, 3), True)
"""

from __future__ import annotations

from typing import Any

import torch

from rnnkit.nn.kernels.block_autograd import causal_conv, dropout_add
from rnnkit.nn.kernels.block_autograd import warm_up as _warm_up_block
from rnnkit.nn.kernels.gru import gru_backward, gru_forward
from rnnkit.nn.kernels.lru_autograd import lru_recurrence
from rnnkit.nn.kernels.lru_autograd import warm_up as _warm_up_lru
from rnnkit.nn.kernels.lstm import lstm_backward, lstm_forward
from rnnkit.nn.kernels.minrnn_autograd import GATES as LINEAR_GATES
from rnnkit.nn.kernels.minrnn_autograd import linear_recurrent
from rnnkit.nn.kernels.minrnn_autograd import warm_up as _warm_up_linear
from rnnkit.nn.kernels.mlstm_autograd import mlstm_recurrent
from rnnkit.nn.kernels.mlstm_autograd import warm_up as _warm_up_mlstm
from rnnkit.nn.kernels.rnn import rnn_backward, rnn_forward
from rnnkit.nn.kernels.ssm_autograd import selective_scan
from rnnkit.nn.kernels.ssm_autograd import warm_up as _warm_up_ssm
from rnnkit.nn.kernels.tensors import as_array, grad_or_zeros
from rnnkit.nn.kernels.threads import run_units
from rnnkit.nn.kernels.units import MIN_ROWS_PER_THREAD, work_units

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
__all__ = [
    "recurrent", "linear_recurrent", "lru_recurrence", "mlstm_recurrent", "selective_scan",
    "causal_conv", "dropout_add", "warm_up", "work_units",
    "MIN_ROWS_PER_THREAD",
]


def _run(kernel: Any, units: list[tuple[int, int, int]], make_args: Any, threads: int) -> None:
    run_units(lambda unit: kernel(*make_args(*unit)), units, threads)


class _Spec:
    """Static options of one call (kept off the autograd graph)."""

    def __init__(self, kind: str, relu: bool, reset_after: bool, threads: int) -> None:
        self.kind = kind
        self.relu = relu
        self.reset_after = reset_after
        self.threads = threads


def _gru_weights(whh: torch.Tensor, reset_after: bool) -> tuple[torch.Tensor, ...]:
    """(wa, wa_t, wb, wb_t) for the GRU kernels, all contiguous."""
    if reset_after:
        wa = whh.contiguous()
        wa_t = whh.transpose(1, 2).contiguous()
        return wa, wa_t, wa, wa_t
    hidden = whh.shape[2]
    wa = whh[:, : 2 * hidden].contiguous()
    wb = whh[:, 2 * hidden :].contiguous()
    return wa, wa.transpose(1, 2).contiguous(), wb, wb.transpose(1, 2).contiguous()


def _forward(
    spec: _Spec,
    gx: torch.Tensor,
    whh: torch.Tensor,
    bhh: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor | None,
    lengths: torch.Tensor,
    save: bool,
) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    batch, steps, _ = gx.shape
    directions, _, hidden = h0.shape
    g = GATES[spec.kind] * hidden
    dtype = gx.dtype
    out = torch.empty(batch, steps, directions * hidden, dtype=dtype)
    h_n = torch.empty(directions, batch, hidden, dtype=dtype)
    saved_shape = (batch, steps, directions * hidden) if save else (1, 1, 1)
    gates_shape = (batch, steps, directions * g) if save else (1, 1, 1)
    units = work_units(batch, directions, spec.threads)
    gx_n, bhh_n, h0_n, len_n = as_array(gx), as_array(bhh), as_array(h0), as_array(lengths)
    out_n, hn_n = as_array(out), as_array(h_n)
    saved: dict[str, torch.Tensor] = {"out": out}
    if spec.kind == "rnn":
        w = whh.contiguous()
        w_n, wt_n = as_array(w), as_array(w.transpose(1, 2).contiguous())
        _run(
            rnn_forward, units,
            lambda d, r0, r1: (gx_n, w_n, wt_n, bhh_n, h0_n, len_n, spec.relu, d, r0, r1,
                               out_n, hn_n),
            spec.threads,
        )
        return [out, h_n], saved
    gates = torch.empty(gates_shape, dtype=dtype)
    gates_n = as_array(gates)
    saved["gates"] = gates
    if spec.kind == "gru":
        extra = torch.empty(saved_shape, dtype=dtype)
        extra_n = as_array(extra)
        saved["extra"] = extra
        ws = [as_array(t) for t in _gru_weights(whh, spec.reset_after)]
        _run(
            gru_forward, units,
            lambda d, r0, r1: (gx_n, *ws, bhh_n, h0_n, len_n, spec.reset_after, d, r0, r1, save,
                               out_n, gates_n, extra_n, hn_n),
            spec.threads,
        )
        return [out, h_n], saved
    assert c0 is not None
    cells = torch.empty(saved_shape, dtype=dtype)
    c_n = torch.empty(directions, batch, hidden, dtype=dtype)
    saved["cells"] = cells
    w = whh.contiguous()
    w_n, wt_n = as_array(w), as_array(w.transpose(1, 2).contiguous())
    c0_n, cells_n, cn_n = as_array(c0), as_array(cells), as_array(c_n)
    _run(
        lstm_forward, units,
        lambda d, r0, r1: (gx_n, w_n, wt_n, bhh_n, h0_n, c0_n, len_n, d, r0, r1, save,
                           out_n, gates_n, cells_n, hn_n, cn_n),
        spec.threads,
    )
    return [out, h_n, c_n], saved


def _recurrent_weight_grad(
    dg: torch.Tensor, out: torch.Tensor, h0: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    """``sum_t dg_t^T h_{t-1}`` per direction: (B, T, D*G) gate gradients -> (D, G, H).

    ``h_{t-1}`` is not saved: it is the output one step back (direction 0) or one step forward
    (direction 1, which runs each sequence from its last real step), and ``h0`` at each
    sequence's first step. So each direction is one GEMM of the flattened (B*T) rows against the
    outputs shifted by one row, plus small corrections where the shift crosses from one sequence
    into the next. Padded steps need no care: their outputs and gate gradients are exact zeros.
    """
    batch, steps, _ = dg.shape
    directions, _, hidden = h0.shape
    g = dg.shape[2] // directions
    flat_dg = dg.reshape(batch * steps, directions * g)
    flat_out = out.reshape(batch * steps, directions * hidden)
    grads = []
    for d in range(directions):
        gates, hs = slice(d * g, (d + 1) * g), slice(d * hidden, (d + 1) * hidden)
        dg_d, out_d = flat_dg[:, gates], flat_out[:, hs]
        if d == 0:  # (b, t) pairs with (b, t-1); (b, 0) wrongly with (b-1, T-1), not h0
            grad = dg_d[1:].t() @ out_d[:-1]
            first = dg[:, 0, gates]
            grad -= first[1:].t() @ out[:-1, steps - 1, hs]
            grad += first.t() @ h0[0]
        else:  # (b, t) pairs with (b, t+1); (b, T-1) wrongly with (b+1, 0)
            grad = dg_d[:-1].t() @ out_d[1:]
            last = dg[:, steps - 1, gates]
            grad -= last[:-1].t() @ out[1:, 0, hs]
            # each sequence starts from h0 at its last real step; out there is 0 (padding) or
            # the wrongly paired (b+1, 0) just removed
            start = dg[torch.arange(batch), (lengths - 1).clamp(min=0), gates]
            grad += (start * (lengths > 0).unsqueeze(1).to(dg.dtype)).t() @ h0[d]
        grads.append(grad)
    return torch.stack(grads)


def _weight_grad(dg: torch.Tensor, inputs: torch.Tensor, directions: int) -> torch.Tensor:
    """sum over (b, t) of dg^T inputs per direction: (B, T, D*G) x (B, T, D*K) -> (D, G, K)."""
    rows = dg.shape[0] * dg.shape[1]
    if directions == 1:
        return (dg.reshape(rows, -1).t() @ inputs.reshape(rows, -1)).unsqueeze(0)
    dg3 = dg.reshape(rows, directions, -1).permute(1, 2, 0)
    in3 = inputs.reshape(rows, directions, -1).transpose(0, 1)
    return torch.bmm(dg3, in3)


class RecurrentFunction(torch.autograd.Function):
    """Autograd wrapper: inputs (spec, lengths, gx, whh, bhh, h0, c0)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        spec: _Spec,
        lengths: torch.Tensor,
        gx: torch.Tensor,
        whh: torch.Tensor,
        bhh: torch.Tensor,
        h0: torch.Tensor,
        c0: torch.Tensor | None,
    ) -> tuple[torch.Tensor, ...]:
        outputs, saved = _forward(spec, gx, whh, bhh, h0, c0, lengths, save=True)
        ctx.spec = spec
        ctx.names = list(saved)
        ctx.save_for_backward(lengths, whh, h0, c0, *saved.values())
        return tuple(outputs)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        spec: _Spec = ctx.spec
        lengths, whh, h0, c0, *rest = ctx.saved_tensors
        saved = dict(zip(ctx.names, rest, strict=True))
        out = saved["out"]
        directions, batch, hidden = h0.shape
        steps = out.shape[1]
        g = GATES[spec.kind] * hidden
        dtype = out.dtype
        dout = grad_or_zeros(grads[0], out)
        dh_n = grad_or_zeros(grads[1], h0)
        dout_n, dhn_n = as_array(dout), as_array(dh_n)
        dgx = torch.empty(batch, steps, directions * g, dtype=dtype)
        dh0 = torch.empty_like(h0)
        dc0 = None
        len_n, dgx_n, dh0_n = as_array(lengths), as_array(dgx), as_array(dh0)
        units = work_units(batch, directions, spec.threads)
        if spec.kind == "rnn":
            w = whh.contiguous()
            w_n, wt_n = as_array(w), as_array(w.transpose(1, 2).contiguous())
            out_n = as_array(out)
            _run(
                rnn_backward, units,
                lambda d, r0, r1: (dout_n, dhn_n, out_n, w_n, wt_n, len_n, spec.relu, d, r0, r1,
                                   dgx_n, dh0_n),
                spec.threads,
            )
            dgh = dgx
            dwhh = _recurrent_weight_grad(dgh, out, h0, lengths)
        elif spec.kind == "gru":
            gates, extra = saved["gates"], saved["extra"]
            ws = [as_array(t) for t in _gru_weights(whh, spec.reset_after)]
            dgh = torch.empty_like(dgx) if spec.reset_after else dgx
            gates_n, extra_n, out_n, h0_n, dgh_n = (
                as_array(gates), as_array(extra), as_array(out), as_array(h0), as_array(dgh)
            )
            _run(
                gru_backward, units,
                lambda d, r0, r1: (dout_n, dhn_n, gates_n, extra_n, out_n, h0_n, *ws, len_n,
                                   spec.reset_after, d, r0, r1, dgx_n, dgh_n, dh0_n),
                spec.threads,
            )
            if spec.reset_after:
                dwhh = _recurrent_weight_grad(dgh, out, h0, lengths)
            else:
                dg = dgh.view(batch, steps, directions, 3, hidden)
                rz = dg[:, :, :, :2].reshape(batch, steps, -1)
                n = dg[:, :, :, 2].reshape(batch, steps, -1)
                dwhh = torch.cat(
                    [
                        _recurrent_weight_grad(rz, out, h0, lengths),
                        _weight_grad(n, extra, directions),
                    ],
                    dim=1,
                )
        else:
            gates, cells = saved["gates"], saved["cells"]
            dc_n = grad_or_zeros(grads[2], h0)
            dc0 = torch.empty_like(h0)
            w = whh.contiguous()
            w_n, wt_n = as_array(w), as_array(w.transpose(1, 2).contiguous())
            dcn_n, gates_n, cells_n, c0_n, dc0_n = (
                as_array(dc_n), as_array(gates), as_array(cells), as_array(c0), as_array(dc0)
            )
            _run(
                lstm_backward, units,
                lambda d, r0, r1: (dout_n, dhn_n, dcn_n, gates_n, cells_n, c0_n, w_n, wt_n,
                                   len_n, d, r0, r1, dgx_n, dh0_n, dc0_n),
                spec.threads,
            )
            dgh = dgx
            dwhh = _recurrent_weight_grad(dgh, out, h0, lengths)
        dbhh = dgh.sum(dim=(0, 1)).view(directions, g)
        return None, None, dgx, dwhh, dbhh, dh0, dc0


def recurrent(
    kind: str,
    gx: torch.Tensor,
    whh: torch.Tensor,
    bhh: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor | None,
    lengths: torch.Tensor,
    *,
    relu: bool = False,
    reset_after: bool = True,
    threads: int | None = None,
) -> tuple[torch.Tensor, ...]:
    """Run one layer's directions; returns (out, h_n) or (out, h_n, c_n). Shapes: module doc."""
    spec = _Spec(kind, relu, reset_after, threads or torch.get_num_threads())
    gx = gx.contiguous()
    lengths = lengths.to(torch.int64).contiguous()
    h0 = h0.contiguous()
    c0 = None if c0 is None else c0.contiguous()
    tensors = [gx, whh, bhh, h0] + ([] if c0 is None else [c0])
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return RecurrentFunction.apply(spec, lengths, gx, whh, bhh, h0, c0)
    with torch.no_grad():
        outputs, _ = _forward(spec, gx, whh.detach(), bhh.detach(), h0, c0, lengths, save=False)
    return tuple(outputs)


def warm_up(kind: str, dtype: torch.dtype) -> None:
    """Compile (or load from numba's on-disk cache) ``kind``'s forward and backward kernels for
    ``dtype`` by running them on a tiny problem; raises whatever numba raises. ``kind``: "rnn",
    "gru", "lstm", "mingru"/"minlstm" (:func:`linear_recurrent`), "lru" (:func:`lru_recurrence`),
    "ssm" (:func:`selective_scan`), "mlstm" (:func:`mlstm_recurrent`) or "block" (a residual
    block's :func:`causal_conv` and :func:`dropout_add`).
    """
    if kind == "block":
        _warm_up_block(dtype)
        return
    if kind == "lru":
        _warm_up_lru(dtype)
        return
    if kind == "ssm":
        _warm_up_ssm(dtype)
        return
    if kind == "mlstm":
        _warm_up_mlstm(dtype)
        return
    if kind in LINEAR_GATES:
        _warm_up_linear(kind, dtype)
        return
    with torch.inference_mode(False):  # the first call may come from inside inference_mode
        _warm_up(kind, dtype)


def _warm_up(kind: str, dtype: torch.dtype) -> None:
    g = GATES[kind]
    gx = torch.zeros(1, 1, g, dtype=dtype, requires_grad=True)
    whh = torch.zeros(1, g, 1, dtype=dtype, requires_grad=True)
    bhh = torch.zeros(1, g, dtype=dtype)
    h0 = torch.zeros(1, 1, 1, dtype=dtype)
    c0 = torch.zeros(1, 1, 1, dtype=dtype) if kind == "lstm" else None
    lengths = torch.ones(1, dtype=torch.int64)
    variants = [{"reset_after": True}, {"reset_after": False}] if kind == "gru" else [{}]
    with torch.enable_grad():  # the first call may come from inside torch.no_grad()
        for options in variants:
            outputs = recurrent(kind, gx, whh, bhh, h0, c0, lengths, threads=1, **options)
            sum(o.sum() for o in outputs).backward()  # type: ignore[union-attr]
    for options in variants:
        with torch.no_grad():
            recurrent(kind, gx, whh, bhh, h0, c0, lengths, threads=1, **options)
