"""Selective state-space layer (Mamba): :class:`SelectiveSSMCell` and :class:`SelectiveSSM`.

Gu & Dao (2023), "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"
(arXiv:2312.00752): the Mamba block, one per direction of each layer. With H the layer width,
E = ``expand`` * H the inner width, N = ``state_size`` state units per channel, K =
``conv_kernel`` and R = ``dt_rank`` (default ceil(H / 16)), one step t reads:

    [x'_t | z_t] = W_in x_t                                          (E, E)
    u_t   = SiLU(conv_bias + sum_k conv_weight[:, k] * x'_{t-K+1+k})   (E,) causal, depthwise
    [δ_t | B_t | C_t] = W_x u_t                                      (R, N, N)
    Δ_t   = softplus(W_dt δ_t + b_dt)                                (E,) input-dependent step
    A     = -exp(A_log)                                              (E, N), S4D-real init
    h_t   = exp(Δ_t A) * h_{t-1} + (Δ_t u_t) B_t^T                   (E, N) Mamba's discretization
    y_t   = h_t C_t + D * u_t                                        (E,)
    out_t = W_out (y_t * SiLU(z_t))                                  (H,)

``h_t`` is linear in ``h_{t-1}`` with coefficients from the inputs alone, so it runs two ways,
same parameters, bound by tests to 1e-10 in float64:

- the **parallel form** (training): the conv over the whole sequence, Δ, B and C of every step
  at once, then the selective scan: on CPU the fused kernel of :mod:`rnnkit.nn.kernels.ssm`
  (``layer.backend == "numba"``, one pass over the (E, N) state per step, nothing of size
  (B, T, E, N) stored), else (``kernels="torch"``, ``scan="sequential"``, no numba) the
  coefficients ``a, b`` (B, T, E*N) and the chunked scan of :mod:`rnnkit.nn.scan`
  (``"scan"``);
- the **step form** (generation, streaming; ``fused=False`` or a call with one time step):
  ``step_with_gates`` per step, constant memory.

**State** (B, S) per direction, S = (K-1)*E + E*N, a single tensor as for MinGRU but wider: the
first (K-1)*E entries are the last K-1 conv inputs x' (oldest first, E each; zeros before the
sequence start), then the SSM state h (E, N) row-major. :meth:`SelectiveSSMCell.split_state`
gives the two views. A layer's state is (L*D, B, S) in PyTorch's order; a sequence's final state
is the one after its last real step (padded steps do not move it: a = 1, b = 0 there, and the
conv buffer holds that sequence's own last inputs), so a run continued from it equals the whole.
The state is not the output: use ``out[:, -1]`` (or :func:`rnnkit.nn.last_step`) as a summary.

**Parameters** (``state_dict`` names, ``_l{k}`` and ``_reverse`` appended in a layer), the
layouts of mamba-ssm's ``Mamba`` module (its ``conv1d.weight`` is ``conv_weight[:, None]``):
``in_proj_weight`` (2E, F), ``conv_weight`` (E, K), ``conv_bias`` (E,) (absent with
``bias=False``), ``x_proj_weight`` (R+2N, E), ``dt_proj_weight`` (E, R), ``dt_proj_bias`` (E,),
``A_log`` (E, N), ``D`` (E,), ``out_proj_weight`` (H, E). Initialization is the paper's code's:
``A_log = log(1..N)`` per channel, ``D = 1``, ``dt_proj_bias`` the inverse softplus of a step
log-uniform in [0.001, 0.1], ``dt_proj_weight`` uniform within ``R**-0.5``, the projections and
the conv as torch's ``nn.Linear``/``nn.Conv1d``.

Example:
    >>> import torch
    >>> layer = SelectiveSSM(4, 8, bidirectional=True, dtype=torch.float64)
    >>> x = torch.randn(2, 6, 4, dtype=torch.float64)
    >>> out, h = layer(x, lengths=torch.tensor([6, 3]))
    >>> tuple(out.shape), tuple(h.shape), layer.cell().state_size   # S = (K-1)*E + E*N
    ((2, 6, 16), (2, 2, 304), 304)
    >>> layer.fused = False                                  # the step form, step by step
    >>> stepped, h_stepped = layer(x, lengths=torch.tensor([6, 3]))
    >>> torch.allclose(out, stepped, rtol=0, atol=1e-12), torch.allclose(h, h_stepped)
    (True, True)
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F

from rnnkit.nn.cells import LayerWeights, _positive_int
from rnnkit.nn.kernels import dispatch
from rnnkit.nn.layers import Parts, RecurrentLayer
from rnnkit.nn.masking import mask_from_lengths
from rnnkit.nn.scan import linear_scan
from rnnkit.nn.scan_cells import ScanCell, softplus

# Mamba's initial step sizes: log-uniform in [DT_MIN, DT_MAX], at least DT_FLOOR.
DT_MIN, DT_MAX, DT_FLOOR = 1e-3, 1e-1, 1e-4


class SelectiveSSMCell(ScanCell):
    """One Mamba block as a cell (Gu & Dao 2023); equations, state and parameters in
    :mod:`rnnkit.nn.ssm`.

    ``SelectiveSSMCell(input_size, hidden_size, *, state_size=16, expand=2, conv_kernel=4,
    dt_rank=None, bias=True, scan="chunked", dtype=None, device=None)``. ``state_size`` is N
    (per channel); the carried width is :attr:`state_size` = (K-1)*E + E*N. ``bias=False``
    drops the conv bias (the projections have none, as in Mamba).

    Example:
        >>> import torch
        >>> cell = SelectiveSSMCell(3, 4, state_size=2, expand=1, conv_kernel=3)
        >>> y, state = cell(torch.randn(5, 3))
        >>> conv, h = cell.split_state(state)
        >>> tuple(y.shape), tuple(conv.shape), tuple(h.shape)
        ((5, 4), (5, 2, 4), (5, 4, 2))
        >>> float(-torch.exp(cell.A_log.detach())[0, 1])         # S4D-real: A = -(1..N)
        -2.0
    """

    state_is_memory = True
    extra_parameter_names = (
        "in_proj_weight", "conv_weight", "conv_bias", "x_proj_weight", "dt_proj_weight",
        "dt_proj_bias", "A_log", "D", "out_proj_weight",
    )

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        state_size: int = 16,
        expand: int = 2,
        conv_kernel: int = 4,
        dt_rank: int | None = None,
        bias: bool = True,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        init: str = "keras",
        scan: str = "chunked",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        weights_from: LayerWeights | None = None,
    ) -> None:
        self.units = _positive_int(state_size, "state_size")
        self.expand = _positive_int(expand, "expand")
        self.conv_kernel = _positive_int(conv_kernel, "conv_kernel")
        hidden = _positive_int(hidden_size, "hidden_size")
        self.inner_size = self.expand * hidden
        self.dt_rank = (math.ceil(hidden / 16) if dt_rank is None
                        else _positive_int(dt_rank, "dt_rank"))
        super().__init__(
            input_size,
            hidden_size,
            bias=bias,
            layer_norm=layer_norm,
            recurrent_dropout=recurrent_dropout,
            init=init,
            scan=scan,
            dtype=dtype,
            device=device,
            weights_from=weights_from,
        )

    @property
    def state_size(self) -> int:
        """Width of the carried state: (K-1)*E conv inputs, then E*N SSM state."""
        return (self.conv_kernel - 1) * self.inner_size + self.inner_size * self.units

    def extra_repr(self) -> str:
        parts = [super().extra_repr()]
        defaults = {"state_size": (self.units, 16), "expand": (self.expand, 2),
                    "conv_kernel": (self.conv_kernel, 4),
                    "dt_rank": (self.dt_rank, math.ceil(self.hidden_size / 16))}
        parts += [f"{name}={value}" for name, (value, default) in defaults.items()
                  if value != default]
        return ", ".join(parts)

    def parameter_shapes(self) -> dict[str, tuple[int, ...] | None]:
        e, n, r = self.inner_size, self.units, self.dt_rank
        return {
            "in_proj_weight": (2 * e, self.input_size),
            "conv_weight": (e, self.conv_kernel),
            "conv_bias": (e,) if self.bias else None,
            "x_proj_weight": (r + 2 * n, e),
            "dt_proj_weight": (e, r),
            "dt_proj_bias": (e,),
            "A_log": (e, n),
            "D": (e,),
            "out_proj_weight": (self.hidden_size, e),
        }

    @torch.no_grad()
    def reset_parameters(self, init: str | None = None) -> None:
        """Mamba's initialization (``init`` is accepted and ignored: there is one scheme)."""
        w = {name: p for name, p in self.weights().items() if p is not None}
        e, n, k = self.inner_size, self.units, self.conv_kernel
        for name, fan_in in (("in_proj_weight", self.input_size), ("x_proj_weight", e),
                             ("out_proj_weight", e), ("conv_weight", k), ("conv_bias", k)):
            if name in w:  # torch's nn.Linear / nn.Conv1d default: U(-1/sqrt(fan_in), ...)
                bound = 1 / math.sqrt(fan_in)
                w[name].uniform_(-bound, bound)
        w["dt_proj_weight"].uniform_(-self.dt_rank**-0.5, self.dt_rank**-0.5)
        log_dt = torch.rand(e, dtype=torch.float64) * math.log(DT_MAX / DT_MIN) + math.log(DT_MIN)
        dt = torch.exp(log_dt).clamp(min=DT_FLOOR)
        w["dt_proj_bias"].copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus(bias) = dt
        w["A_log"].copy_(torch.log(torch.arange(1, n + 1, dtype=torch.float64)).expand(e, n))
        w["D"].fill_(1.0)

    # -- shared pieces of both forms -----------------------------------------------------------
    def split_state(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The state (B, S) as its conv inputs (B, K-1, E), oldest first, and h (B, E, N)."""
        e, n = self.inner_size, self.units
        conv_width = (self.conv_kernel - 1) * e
        conv = state[..., :conv_width].reshape(*state.shape[:-1], self.conv_kernel - 1, e)
        return conv, state[..., conv_width:].reshape(*state.shape[:-1], e, n)

    def project_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """``[x' | z] = W_in x``: (..., F) -> (..., 2E)."""
        return F.linear(x, self.in_proj_weight)

    def _selection(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The input-dependent Δ (..., E), B and C (..., N) from the conv outputs u (..., E)."""
        low, b_in, c_out = F.linear(u, self.x_proj_weight).split(
            [self.dt_rank, self.units, self.units], dim=-1
        )
        return softplus(F.linear(low, self.dt_proj_weight, self.dt_proj_bias)), b_in, c_out

    def _decay_and_input(
        self, delta: torch.Tensor, b_in: torch.Tensor, u: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``a = exp(Δ A)``, ``b = (Δ u) B^T``, each (..., E, N)."""
        a = torch.exp(delta[..., None] * -torch.exp(self.A_log))
        return a, (delta * u)[..., None] * b_in[..., None, :]

    def _output(self, y: torch.Tensor, u: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``W_out ((y + D u) * SiLU(z))`` from ``y = h C`` (..., E)."""
        return F.linear((y + self.D * u) * F.silu(z), self.out_proj_weight)

    # -- the step form -------------------------------------------------------------------------
    def step_with_gates(
        self, xp: torch.Tensor, state: torch.Tensor, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One step from ``xp`` (B, 2E) and the state (B, S); ``gates``: none (Δ, B and C are
        E- and N-wide, not H-wide)."""
        x_in, z = xp.split(self.inner_size, dim=-1)
        conv, h = self.split_state(state)
        window = torch.cat([conv, x_in[:, None]], dim=1)  # (B, K, E), oldest first
        u = (window * self.conv_weight.T).sum(dim=1)
        u = F.silu(u if self.conv_bias is None else u + self.conv_bias)
        delta, b_in, c_out = self._selection(u)
        a, b = self._decay_and_input(delta, b_in, u)
        h = a * h + b
        y = self._output((h @ c_out[..., None])[..., 0], u, z)
        return y, torch.cat([window[:, 1:].flatten(1), h.flatten(1)], dim=-1), {}

    # -- the parallel form ---------------------------------------------------------------------
    def scan_sequence(
        self,
        xp: torch.Tensor,
        state: torch.Tensor,
        lengths: torch.Tensor | None = None,
        *,
        kernels: Any = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All steps at once: xp (B, T, 2E), state (B, S) -> outputs (B, T, H), zero at padded
        steps, and each sequence's state after its last real step (``lengths`` (B,), right
        padding). ``kernels``: the loaded numba kernel module (the layer passes it when its
        backend is ``"numba"``) runs the selective scan fused
        (:func:`rnnkit.nn.kernels.ssm_autograd.selective_scan`); None runs torch's ops."""
        batch, steps = xp.shape[:2]
        e = self.inner_size
        real = None
        if lengths is not None:
            lengths = lengths.to(xp.device)
            real = mask_from_lengths(lengths, steps)[..., None]
            # Padded steps come after the real ones, so the causal conv never mixes them into a
            # real step; zeroing them keeps their (discarded) values finite for the backward.
            xp = torch.where(real, xp, xp.new_zeros(()))
        x_in, z = xp.split(e, dim=-1)
        conv, h0 = self.split_state(state)
        inputs = torch.cat([conv, x_in], dim=1)  # (B, K-1+T, E)
        u = F.silu(self._causal_conv(inputs, fused=kernels is not None))  # (B, T, E)
        delta, b_in, c_out = self._selection(u)
        if kernels is not None:
            full = xp.new_full((batch,), steps, dtype=torch.int64) if lengths is None else lengths
            y, h_last = kernels.selective_scan(
                u, delta, -torch.exp(self.A_log), b_in, c_out, self.D, h0, full
            )
            out = F.linear(y * F.silu(z), self.out_proj_weight)
        else:
            h_last, out = self._torch_scan(u, delta, b_in, c_out, h0, z, lengths)
        if real is not None:
            out = torch.where(real, out, out.new_zeros(()))
        return out, torch.cat([self._last_inputs(inputs, lengths).flatten(1), h_last.flatten(1)],
                              dim=-1)

    def _causal_conv(self, inputs: torch.Tensor, *, fused: bool) -> torch.Tensor:
        """The depthwise causal conv over (window + x') (B, K-1+T, E) -> (B, T, E): on the
        residual blocks' fused kernel when the layer runs numba (one pass where ``F.conv1d``'s
        grouped convolution makes several, with two transposes), else ``F.conv1d``."""
        block = dispatch.kernels_for("block", inputs.dtype) if fused else None
        if block is not None:
            bias = self.conv_bias if self.conv_bias is not None else inputs.new_zeros(
                inputs.shape[2])
            return block.causal_conv(inputs, self.conv_weight, bias)  # type: ignore[no-any-return]
        u = F.conv1d(inputs.transpose(1, 2), self.conv_weight[:, None], self.conv_bias,
                     groups=inputs.shape[2])
        return u.transpose(1, 2)

    def _torch_scan(
        self, u: torch.Tensor, delta: torch.Tensor, b_in: torch.Tensor, c_out: torch.Tensor,
        h0: torch.Tensor, z: torch.Tensor, lengths: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The selective scan as torch ops over (B, T, E, N): (final h (B, E, N), outputs)."""
        batch, steps, e = u.shape
        n = self.units
        a, b = self._decay_and_input(delta, b_in, u)
        h = linear_scan(
            a.reshape(batch, steps, e * n), b.reshape(batch, steps, e * n), h0.reshape(batch, -1),
            lengths=lengths, method=self.scan,
        ).view(batch, steps, e, n)
        return h[:, -1], self._output(torch.einsum("bten,btn->bte", h, c_out), u, z)

    def _last_inputs(self, inputs: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """The K-1 conv inputs before each sequence's end, from (initial buffer + x') (B, K-1+T,
        E): steps ``length .. length+K-2`` of it (reaching into the initial buffer when short)."""
        keep = self.conv_kernel - 1
        if lengths is None:
            return inputs[:, inputs.shape[1] - keep :]
        index = lengths[:, None] + torch.arange(keep, device=inputs.device)
        return inputs.gather(1, index[..., None].expand(-1, -1, inputs.shape[2]))


class SelectiveSSM(RecurrentLayer):
    """Selective state-space layer: a Mamba block (Gu & Dao 2023, "Mamba: Linear-Time Sequence
    Modeling with Selective State Spaces") per direction of each layer, stacked like an LSTM.

    ``SelectiveSSM(input_size, hidden_size, num_layers=1, *, bidirectional=False,
    merge_mode="concat", dropout=0.0, bias=True, fused=None, state_size=16, expand=2,
    conv_kernel=4, dt_rank=None, scan="chunked", dtype=None, device=None)``. Input (B, T, F),
    ``lengths``/``mask``; returns output (B, T, D*H), zeros at padded steps, and the state h
    (L*D, B, S) with S = (K-1)*E + E*N (E = expand*H): each direction's last K-1 conv inputs and
    its SSM state, see :mod:`rnnkit.nn.ssm` for the layout and the ``state_dict`` names.
    ``fused=False`` runs the step form (``layer.backend == "loop"``); calls with one time step
    run it too, so generation feeds one token per call with the state carried.

    Example:
        >>> import torch
        >>> ssm = SelectiveSSM(4, 8, num_layers=2, state_size=4, dtype=torch.float64)
        >>> x = torch.randn(2, 7, 4, dtype=torch.float64)
        >>> out, h = ssm(x)
        >>> first, state = ssm(x[:, :3])
        >>> rest, state = ssm(x[:, 3:], initial_state=state)     # carried: as if in one call
        >>> torch.allclose(torch.cat([first, rest], 1), out), torch.allclose(state, h)
        (True, True)
        >>> sorted(ssm.state_dict())[:4], ssm.backend
        (['A_log_l0', 'A_log_l1', 'D_l0', 'D_l1'], 'numba')
    """

    cell_class = SelectiveSSMCell
    kernel_kind = "ssm"

    def _run_linear(
        self, x: torch.Tensor, lengths: torch.Tensor | None, hx: Parts
    ) -> tuple[torch.Tensor, Parts]:
        """The parallel form per direction, its selective scan fused when the backend is
        ``"numba"`` (:meth:`SelectiveSSMCell.scan_sequence`); the step form as other scan layers.
        """
        if self.fused is False or x.shape[1] <= 1:
            return super()._run_linear(x, lengths, hx)
        run = partial(self._scan_direction, lengths=lengths, kernels=self._numba_kernels(x))
        return self._stack(self._each_direction(run, lengths), x, hx)

    def _scan_direction(
        self, index: int, inputs: torch.Tensor, state: Parts, *, lengths: torch.Tensor | None,
        kernels: Any = None,
    ) -> tuple[torch.Tensor, Parts]:
        cell: Any = self._cells[index].bound()
        out, final = cell.scan_sequence(
            cell.project_inputs(inputs), state[0], lengths, kernels=kernels
        )
        return out, (final,)


__all__ = ["SelectiveSSMCell", "SelectiveSSM"]
