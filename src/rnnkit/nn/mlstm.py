"""mLSTM, xLSTM's matrix-memory LSTM (Beck et al. 2024, arXiv 2405.04517): :class:`MLSTMCell`
and the layer :class:`MLSTM`.

Per direction of each layer, ``heads`` heads of size ``d = H / heads``. From the input x_t alone
(``x̂ = W_ih x_t + b_ih``, split into blocks ``q, k, v, o`` of H and ``ĩ, f̃`` of ``heads``):

- ``q_t``, ``k_t = k̂_t / sqrt(d)``, ``v_t`` (per head, d each);
- input gate ``exp(ĩ_t)``, forget gate ``f_t = σ(f̃_t)``, used as ``log f_t = -softplus(-f̃_t)``
  (one scalar each per head), output gate ``o_t = σ(ô_t)`` (per unit);
- matrix memory ``C_t = f_t C_{t-1} + i_t v_t k_tᵀ`` (d, d), normaliser
  ``n_t = f_t n_{t-1} + i_t k_t`` (d,), ``h̃_t = C_t q_t / max(|n_tᵀ q_t|, 1)``,
  ``h_t = o_t ⊙ h̃_t`` (heads concatenated: H).

Exponential gates overflow, so the memory is kept *stabilised*: with ``m_t = max(log f_t +
m_{t-1}, ĩ_t)`` the gates become ``i'_t = exp(ĩ_t - m_t)``, ``f'_t = exp(log f_t + m_{t-1} -
m_t)`` (both <= 1), the state (C, n) is the true one times ``exp(-m_t)``, and
``h̃_t = C_t q_t / max(|n_tᵀ q_t|, exp(-m_t))`` (the same value). This is the paper's mLSTM cell,
eqs. 19-27, not its block: no up-projection, causal convolution, group norm, skip connection or
down-projection (stack layers, or put an :class:`rnnkit.nn.Linear` after it, for mixing across
heads). Output width H per direction.

Three executions, same parameters, bound by tests to 1e-10 in float64:

- the **fused kernel** (``layer.backend == "numba"``, the default on CPU in float32/float64,
  training and inference, any number of steps): :mod:`rnnkit.nn.kernels.mlstm`, one input GEMM
  per layer, then the stabilised recurrence below one step at a time per (row, head) in numba,
  forward and backward (the backward recomputes the states from checkpoints every 16 steps);
- the **chunkwise parallel form** (``kernels="torch"`` or ``RNNKIT_KERNELS=torch``: ``backend
  == "scan"``): the paper's stabilised
  parallel form (attention-like, ``h̃ = (Q Kᵀ ⊙ D) V`` with the decay matrix D from cumulative
  log forget gates) inside chunks of ``chunk_size`` steps (default 64), and the state (C, n, m)
  carried from chunk to chunk, so memory grows linearly with T (one (chunk, chunk) matrix per
  head and chunk), and the Python loop runs over chunks, not steps;
- the **step form** (``fused=False``, ``backend == "loop"``, and, off the kernel, every call with
  one time step): the recurrence above, constant memory per step (generation and streaming).

State: one tensor (L*D, B, S) per layer stack, in PyTorch's order (layer 0 forward, layer 0
backward, layer 1 forward, ...), S = heads*d*d + heads*d + heads: each row is C (heads, d, d)
row-major (``C[..., a, b]`` multiplies ``q_b`` to give unit a), then n (heads, d), then m
(heads,). :meth:`MLSTMCell.split_state` gives the three views and :meth:`MLSTMCell.join_state`
the inverse. Each sequence's state after its last real step; the zero state (all three zero) is
the start, and padded steps leave it untouched. As for every registered cell the state is not the
output: use ``out[:, -1]`` (or :func:`rnnkit.nn.last_step`) as a summary.

Parameters (``state_dict``): ``weight_ih_l{k}`` (4H + 2*heads, F), ``bias_ih_l{k}``
(4H + 2*heads,), rows ``q, k, v, o`` (H each) then ``ĩ, f̃`` (``heads`` each); ``_reverse``
appended for the backward direction. Initialization: q, k, v, o weights by ``init`` ("keras":
glorot-uniform, "torch": ``U(±1/sqrt(H))``), their biases zero; as xLSTM's reference, the gate
weights zero, the input-gate biases ``N(0, 0.1²)`` and the forget-gate biases ``linspace(3, 6)``
over the heads (forget gates near 1 at the start).

Example:
    >>> import torch
    >>> layer = MLSTM(4, 8, num_layers=2, bidirectional=True, heads=2)
    >>> out, state = layer(torch.randn(3, 10, 4), lengths=torch.tensor([10, 6, 0]))
    >>> C, n, m = layer.cell().split_state(state)            # S = 2*4*4 + 2*4 + 2 = 42
    >>> tuple(out.shape), tuple(state.shape), tuple(C.shape), tuple(m.shape), layer.backend
    ((3, 10, 16), (4, 3, 42), (4, 3, 2, 4, 4), (4, 3, 2), 'numba')
    >>> {k: tuple(v.shape) for k, v in MLSTM(4, 8, heads=2).state_dict().items()}
    {'weight_ih_l0': (36, 4), 'bias_ih_l0': (36,)}
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from rnnkit.errors import ConfigError
from rnnkit.nn.cells import LayerWeights, RecurrentCell, _positive_int
from rnnkit.nn.init import check_init, glorot_uniform_
from rnnkit.nn.layers import Parts, RecurrentLayer
from rnnkit.nn.masking import mask_from_lengths

#: The state of one direction of one layer: C (B, heads, d, d), n (B, heads, d), m (B, heads).
MLSTMState = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def mlstm_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i_pre: torch.Tensor,
    log_f: torch.Tensor,
    state: MLSTMState,
) -> tuple[torch.Tensor, MLSTMState, torch.Tensor, torch.Tensor]:
    """One stabilised step: q, k (scaled), v (B, heads, d), ``ĩ``, ``log f`` (B, heads), state
    ``(C, n, m)`` -> ``(h̃ (B, heads, d), new state, i', f')``."""
    c, n, m = state
    m_new = torch.maximum(log_f + m, i_pre)
    i_gate = torch.exp(i_pre - m_new)
    f_gate = torch.exp(log_f + m - m_new)
    outer = v[..., :, None] * k[..., None, :]
    c_new = f_gate[..., None, None] * c + i_gate[..., None, None] * outer
    n_new = f_gate[..., None] * n + i_gate[..., None] * k
    numerator = (c_new @ q[..., None])[..., 0]
    denominator = torch.maximum((n_new * q).sum(-1).abs(), torch.exp(-m_new))
    return numerator / denominator[..., None], (c_new, n_new, m_new), i_gate, f_gate


def mlstm_chunkwise(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i_pre: torch.Tensor,
    log_f: torch.Tensor,
    state: MLSTMState,
    chunk_size: int,
) -> tuple[torch.Tensor, MLSTMState]:
    """The stabilised parallel form, chunk by chunk: q, k (scaled), v (B, heads, T, d), ``ĩ``,
    ``log f`` (B, heads, T), state ``(C, n, m)`` -> ``(h̃ (B, heads, T, d), state after T)``.

    Inside a chunk, with ``b_t`` the cumulative sum of ``log f`` since the chunk start, the
    stabiliser is ``m_t = max(b_t + m_0, max_{s<=t} (b_t - b_s + ĩ_s))`` (the recurrence's, in
    closed form), and ``h̃_t`` sums the carried memory, decayed by ``exp(b_t + m_0 - m_t)``, and
    the chunk's own steps, weighted by ``D_ts = exp(b_t - b_s + ĩ_s - m_t)``. A step with
    ``ĩ = -inf`` and ``log f = 0`` (padding) leaves the state exactly as it was.
    """
    c, n, m = state
    steps = q.shape[-2]
    outputs = []
    for start in range(0, steps, chunk_size):
        chunk = slice(start, start + chunk_size)
        qc, kc, vc, ic = q[..., chunk, :], k[..., chunk, :], v[..., chunk, :], i_pre[..., chunk]
        b = torch.cumsum(log_f[..., chunk], dim=-1)
        length = b.shape[-1]
        causal = torch.ones(length, length, dtype=torch.bool, device=q.device).tril()
        log_d = (b[..., :, None] - b[..., None, :] + ic[..., None, :]).masked_fill(
            ~causal, -math.inf
        )
        m_chunk = torch.maximum(b + m[..., None], log_d.amax(dim=-1))
        scores = (qc @ kc.transpose(-1, -2)) * torch.exp(log_d - m_chunk[..., None])
        carried = torch.exp(b + m[..., None] - m_chunk)
        numerator = scores @ vc + carried[..., None] * (qc @ c.transpose(-1, -2))
        denominator = scores.sum(-1) + carried * (qc @ n[..., None])[..., 0]
        floor = torch.exp(-m_chunk)
        outputs.append(numerator / torch.maximum(denominator.abs(), floor)[..., None])
        m_last = m_chunk[..., -1]
        weight = torch.exp(b[..., -1:] - b + ic - m_last[..., None])[..., None]  # (B, heads, l, 1)
        decay = torch.exp(b[..., -1] + m - m_last)
        c = decay[..., None, None] * c + (vc * weight).transpose(-1, -2) @ kc
        n = decay[..., None] * n + (kc * weight).sum(-2)
        m = m_last
    return torch.cat(outputs, dim=-2), (c, n, m)


class MLSTMCell(RecurrentCell):
    """mLSTM cell (Beck et al. 2024): ``heads`` matrix memories with exponential input gates,
    sigmoid forget gates and the stabiliser m; equations in :mod:`rnnkit.nn.mlstm`.

    ``MLSTMCell(input_size, hidden_size, *, heads=None, chunk_size=64, bias=True, init="keras",
    dtype=None, device=None)``; ``hidden_size`` must be a multiple of ``heads``, whose default
    is 4, or 2 or 1 for a width 4 does not divide. State (B, S),
    S = :attr:`state_size` = heads*d*d + heads*d + heads: ``(C, n, m)`` of shapes
    (B, heads, d, d), (B, heads, d), (B, heads) flattened and joined (:meth:`split_state`,
    :meth:`join_state`). Parameters ``weight_ih``
    (4H + 2*heads, F), ``bias_ih`` (4H + 2*heads,). ``step_with_gates`` returns the stabilised
    ``input_gate`` i' and ``forget_gate`` f' (B, heads) and the ``output_gate`` o (B, H).

    Example:
        >>> import torch
        >>> cell = MLSTMCell(3, 4, heads=2, dtype=torch.float64)
        >>> x = torch.randn(2, 7, 3, dtype=torch.float64)
        >>> out, final = cell.scan_sequence(cell.project_inputs(x), cell.initial_state(2))
        >>> state = cell.initial_state(2)
        >>> for t in range(7):
        ...     y, state = cell.step(cell.project_inputs(x[:, t]), state)
        >>> torch.allclose(out[:, -1], y, rtol=0, atol=1e-12), torch.allclose(final, state)
        (True, True)
        >>> C, n, m = cell.split_state(state)
        >>> cell.state_size, tuple(C.shape), torch.equal(cell.join_state(C, n, m), state)
        (14, (2, 2, 2, 2), True)
    """

    has_parallel_scan = True
    state_is_memory = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        heads: int | None = None,
        chunk_size: int = 64,
        bias: bool = True,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        init: str = "keras",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        weights_from: LayerWeights | None = None,
    ) -> None:
        if layer_norm:
            raise ConfigError("layer_norm: MLSTM has no recurrent product to normalize; drop it")
        if recurrent_dropout:
            raise ConfigError("recurrent_dropout: MLSTM has no recurrent weights; use dropout")
        if heads is None:  # the tasks build cells of any width: 4 heads, or as many as divide H
            heads = next(h for h in (4, 2, 1) if _positive_int(hidden_size, "hidden_size") % h == 0)
        self.heads = _positive_int(heads, "heads")
        self.chunk_size = _positive_int(chunk_size, "chunk_size")
        if _positive_int(hidden_size, "hidden_size") % self.heads:
            raise ConfigError(
                f"heads: hidden_size {hidden_size} is not a multiple of heads={heads}; "
                "choose heads that divide it"
            )
        self.head_size = hidden_size // self.heads
        super().__init__(
            input_size,
            hidden_size,
            bias=bias,
            activation=None,
            recurrent_activation=None,
            init=init,
            dtype=dtype,
            device=device,
            weights_from=weights_from,
        )

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}", f"heads={self.heads}"]
        if self.chunk_size != 64:
            parts.append(f"chunk_size={self.chunk_size}")
        if not self.bias:
            parts.append("bias=False")
        return ", ".join(parts)

    def parameter_shapes(self) -> dict[str, tuple[int, ...] | None]:
        rows = 4 * self.hidden_size + 2 * self.heads
        return {"weight_ih": (rows, self.input_size), "bias_ih": (rows,) if self.bias else None}

    @torch.no_grad()
    def reset_parameters(self, init: str | None = None) -> None:
        """q, k, v, o weights by ``init``; the gates as xLSTM's reference (see the module)."""
        scheme = check_init(init or self.init)
        weight, bias = self.weight_ih, self.bias_ih
        units = 4 * self.hidden_size
        if scheme == "keras":
            glorot_uniform_(weight[:units])
        else:
            bound = 1.0 / math.sqrt(self.hidden_size)
            weight[:units].uniform_(-bound, bound)
        weight[units:].zero_()
        if bias is not None:
            bias[:units].zero_()
            bias[units : units + self.heads].normal_(0.0, 0.1)
            bias[units + self.heads :].copy_(torch.linspace(3.0, 6.0, self.heads))

    @property
    def state_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Shapes of C, n and m for one sequence: (heads, d, d), (heads, d), (heads,)."""
        d = self.head_size
        return (self.heads, d, d), (self.heads, d), (self.heads,)

    @property
    def state_size(self) -> int:
        """Width of the carried state: C (heads*d*d), then n (heads*d), then m (heads)."""
        d = self.head_size
        return self.heads * (d * d + d + 1)

    def split_state(self, state: torch.Tensor) -> MLSTMState:
        """The state (..., S) as views C (..., heads, d, d), n (..., heads, d), m (..., heads)."""
        lead = state.shape[:-1]
        sizes = [math.prod(shape) for shape in self.state_shapes]
        c, n, m = state.split(sizes, dim=-1)
        return tuple(  # type: ignore[return-value]
            part.reshape(*lead, *shape)
            for part, shape in zip((c, n, m), self.state_shapes, strict=True)
        )

    def join_state(self, c: torch.Tensor, n: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`split_state`: (C, n, m) -> (..., S)."""
        lead = m.shape[:-1]
        return torch.cat([c.reshape(*lead, -1), n.reshape(*lead, -1), m], dim=-1)

    def initial_state(
        self,
        batch_size: int,
        dtype: torch.dtype | None = None,
        device: torch.device | None = None,
    ) -> torch.Tensor:
        """Zero state (B, S) (C, n and m all zero); dtype/device default to the weights'."""
        w = self.weight_ih
        return torch.zeros(
            batch_size, self.state_size, dtype=dtype or w.dtype, device=device or w.device
        )

    def make_recurrent_mask(self, batch_size: int) -> None:
        return None

    def _split(
        self, xp: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Projected inputs (..., 4H + 2*heads) -> q, k (scaled), v (..., heads, d), the output
        gate o (..., H), ``ĩ`` and ``log f`` (..., heads)."""
        h, heads, d = self.hidden_size, self.heads, self.head_size
        q, k, v = (xp[..., j * h : (j + 1) * h].unflatten(-1, (heads, d)) for j in range(3))
        o = torch.sigmoid(xp[..., 3 * h : 4 * h])
        i_pre = xp[..., 4 * h : 4 * h + heads]
        log_f = F.logsigmoid(xp[..., 4 * h + heads :])
        return q, k / math.sqrt(d), v, o, i_pre, log_f

    # -- the step form -------------------------------------------------------------------------
    def step_with_gates(
        self, xp: torch.Tensor, state: torch.Tensor, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One step from projected inputs xp (B, 4H + 2*heads) and the state (B, S):
        ``(h (B, H), new state (B, S), gates)``."""
        q, k, v, o, i_pre, log_f = self._split(xp)
        h_tilde, new_state, i_gate, f_gate = mlstm_step(
            q, k, v, i_pre, log_f, self.split_state(state)
        )
        gates = {"input_gate": i_gate, "forget_gate": f_gate, "output_gate": o}
        return o * h_tilde.flatten(-2), self.join_state(*new_state), gates

    # -- the parallel form ---------------------------------------------------------------------
    def scan_sequence(
        self, xp: torch.Tensor, state: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All steps, chunkwise: projected inputs xp (B, T, 4H + 2*heads), state (B, S) ->
        outputs (B, T, H), zero at padded steps, and each sequence's state after its last real
        step (``lengths`` (B,), right padding)."""
        q, k, v, o, i_pre, log_f = self._split(xp)
        real = None
        if lengths is not None:
            real = mask_from_lengths(lengths.to(xp.device), xp.shape[1])[..., None]
            i_pre = torch.where(real, i_pre, -math.inf)  # padded steps: i' = 0, f' = 1
            log_f = torch.where(real, log_f, 0.0)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, heads, T, d)
        i_pre, log_f = i_pre.transpose(1, 2), log_f.transpose(1, 2)  # (B, heads, T)
        h_tilde, final = mlstm_chunkwise(
            q, k, v, i_pre, log_f, self.split_state(state), self.chunk_size
        )
        out = o * h_tilde.transpose(1, 2).flatten(-2)
        if real is not None:
            out = torch.where(real, out, out.new_zeros(()))
        return out, self.join_state(*final)


class MLSTM(RecurrentLayer):
    """mLSTM layer (xLSTM's matrix-memory LSTM, Beck et al. 2024); see :mod:`rnnkit.nn.mlstm`.

    ``MLSTM(input_size, hidden_size, num_layers=1, *, bidirectional=False, merge_mode="concat",
    dropout=0.0, bias=True, init="keras", fused=None, kernels=None, heads=None, chunk_size=64,
    dtype=None, device=None)``. Returns ``(output, state)``: output (B, T, D*H), zeros at padded
    steps; state (L*D, B, S), S = heads*d*d + heads*d + heads with d = H / heads, each row
    (C, n, m) joined (``layer.cell().split_state(state)`` gives C (L*D, B, heads, d, d), n, m).
    ``initial_state`` takes such a tensor. On CPU (float32/float64) the fused numba kernel runs
    every call (``layer.backend == "numba"``); ``kernels="torch"`` gives the chunkwise parallel
    form (the step form for calls with one time step); ``fused=False`` always the step form.

    Example:
        >>> import torch
        >>> layer = MLSTM(4, 6, heads=2, chunk_size=4, dtype=torch.float64)
        >>> x = torch.randn(2, 9, 4, dtype=torch.float64)
        >>> whole, state = layer(x)
        >>> first, carried = layer(x[:, :5])
        >>> second, final = layer(x[:, 5:], initial_state=carried)
        >>> torch.allclose(torch.cat([first, second], 1), whole), torch.allclose(final, state)
        (True, True)
    """

    cell_class = MLSTMCell
    kernel_kind = "mlstm"

    single_steps_on_kernels = True  # one-token generation runs the kernel too

    def _scan_kernel_layer(
        self, kernels: Any, lengths: torch.Tensor, layer: int, x: torch.Tensor, state: Parts
    ) -> tuple[torch.Tensor, Parts]:
        """One layer, both directions: one input GEMM, then one kernel call
        (:func:`rnnkit.nn.kernels.mlstm_autograd.mlstm_recurrent`)."""
        heads = self._cells[0].heads  # type: ignore[attr-defined]
        gx = self._input_projections(layer, x)
        out, final = kernels.mlstm_recurrent(gx, state[0], lengths, heads=heads)
        return out, (final,)


__all__ = ["MLSTM", "MLSTMCell", "MLSTMState", "mlstm_chunkwise", "mlstm_step"]
