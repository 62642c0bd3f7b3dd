"""Cells linear in their state: :class:`MinGRUCell`, :class:`MinLSTMCell`, :class:`LRUCell`.

Each computes ``h_t = a_t * h_{t-1} + b_t`` elementwise, with ``a_t`` and ``b_t`` from ``x_t``
alone, and reads its output off the state. So each runs two ways, with the same parameters:

- the **step form** ``step_with_gates(xp_t, h)`` (one step, constant memory: generation and
  streaming), written as the papers' recurrence, as the other cells of :mod:`rnnkit.nn.cells`;
- the **parallel form** :meth:`ScanCell.scan_sequence` over a whole sequence (training): the
  coefficients of every step at once, then a parallel scan (:mod:`rnnkit.nn.scan`).

Tests bind the two to 1e-10 in float64. Equations (``x̂ = W_ih x + b_ih`` split per gate;
``g(v) = v + 1/2`` for v >= 0, ``σ(v)`` below, positive and continuous, Feng et al.'s activation):

- minGRU (Feng et al. 2024): ``z = σ(x̂_z)``, ``h̃ = g(x̂_h)``, ``h' = (1 - z) h + z h̃``;
  parameters ``weight_ih`` (2H, F), ``bias_ih`` (2H,), gates ``z, h̃``.
- minLSTM: ``f = σ(x̂_f)``, ``i = σ(x̂_i)``, ``h̃ = g(x̂_h)``, ``f' = f / (f + i)``,
  ``i' = i / (f + i)``, ``h' = f' h + i' h̃``; ``weight_ih`` (3H, F), ``bias_ih`` (3H,), gates
  ``i, f, h̃`` (the LSTM's order; the "keras" init sets the forget bias to 1).
- LRU (Orvieto et al. 2023): ``λ = exp(-exp(ν) + i exp(θ))`` (N,), ``x' = λ x + γ (B u)`` with
  ``γ = sqrt(1 - |λ|^2)``, output ``y = Re(C x') + D u``. Parameters (all real): ``nu_log``,
  ``theta_log``, ``gamma_log`` (N,), ``B_re``, ``B_im`` (N, F), ``C_re``, ``C_im`` (H, N),
  ``D`` (H, F). With ``complex=False`` λ is real in (0, 1) (no ``theta_log``, ``B_im``,
  ``C_im``). The state is real: ``[Re x | Im x]`` (B, 2N), or x (B, N) when real.

Example:
    >>> import torch
    >>> cell = MinGRUCell(3, 4, dtype=torch.float64)
    >>> x = torch.randn(2, 6, 3, dtype=torch.float64)
    >>> out, h = cell.scan_sequence(cell.project_inputs(x), cell.initial_state(2))
    >>> state = cell.initial_state(2)
    >>> for t in range(6):
    ...     y, state = cell.step(cell.project_inputs(x[:, t]), state)
    >>> torch.allclose(h, state, rtol=0, atol=1e-12), torch.allclose(out[:, -1], y)
    (True, True)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from rnnkit.errors import ConfigError
from rnnkit.nn.cells import LayerWeights, RecurrentCell
from rnnkit.nn.masking import mask_from_lengths
from rnnkit.nn.scan import METHODS, linear_scan, log_linear_scan


def g(v: torch.Tensor) -> torch.Tensor:
    """Feng et al.'s positive activation: ``v + 1/2`` for v >= 0, ``sigmoid(v)`` below."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def softplus(v: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(v))`` to the last digit: torch's ``F.softplus`` returns ``v`` itself above
    its threshold (20), off by ``exp(-v)`` (2e-9 at 20), which parity to 1e-10 would notice."""
    return F.relu(v) + torch.log1p(torch.exp(-v.abs()))


def log_g(v: torch.Tensor) -> torch.Tensor:
    """``log g(v)``, computed without forming g(v) where it is small (``-softplus(-v)``)."""
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -softplus(-v))


class ScanCell(RecurrentCell):
    """Base of the cells linear in their state: the step form and the parallel form.

    A subclass gives ``parameter_shapes``, ``coefficients(xp) -> (a, b)`` (and optionally
    ``log_coefficients`` for ``scan="log"``), ``readout`` when the output is not the state, and
    ``step_with_gates``. ``scan`` chooses the parallel form: ``"chunked"`` (default), ``"log"``
    (minGRU/minLSTM: the papers' log-space scan) or ``"sequential"`` (the loop, for reference).
    ``layer_norm`` and ``recurrent_dropout`` have no meaning here and are refused.
    """

    has_parallel_scan = True
    scan_methods: tuple[str, ...] = METHODS

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        bias: bool = True,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        init: str = "keras",
        scan: str = "chunked",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        weights_from: LayerWeights | None = None,
    ) -> None:
        name = type(self).__name__
        if layer_norm:
            raise ConfigError(f"layer_norm: {name} has no recurrent product to normalize; drop it")
        if recurrent_dropout:
            raise ConfigError(
                f"recurrent_dropout: {name} has no recurrent weights to drop; use dropout"
            )
        if scan not in self.scan_methods:
            raise ConfigError(f"scan: expected one of {self.scan_methods}, got {scan!r}")
        self.scan = scan
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
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if not self.bias:
            parts.append("bias=False")
        if self.scan != "chunked":
            parts.append(f"scan={self.scan!r}")
        return ", ".join(parts)

    def initial_state(
        self,
        batch_size: int,
        dtype: torch.dtype | None = None,
        device: torch.device | None = None,
    ) -> torch.Tensor:
        """Zero state (B, state_size); dtype/device default to the weights'."""
        w = next(v for v in self.weights().values() if v is not None)
        return torch.zeros(
            batch_size, self.state_size, dtype=dtype or w.dtype, device=device or w.device
        )

    def make_recurrent_mask(self, batch_size: int) -> None:
        return None

    # -- the parallel form ---------------------------------------------------------------------
    def coefficients(self, xp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``a``, ``b`` of ``h_t = a_t h_{t-1} + b_t`` from projected inputs (..., P)."""
        raise NotImplementedError

    def log_coefficients(self, xp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``log a``, ``log b`` (positive coefficients only), for ``scan="log"``."""
        raise NotImplementedError

    def readout(self, h: torch.Tensor, xp: torch.Tensor) -> torch.Tensor:
        """The outputs from the scan's states h (..., S) and the projected inputs: h itself."""
        return h

    def to_scan_state(self, state: torch.Tensor) -> torch.Tensor:
        """The public state (B, state_size) as the scan's h0 (complex for a complex LRU)."""
        return state

    def from_scan_state(self, h: torch.Tensor) -> torch.Tensor:
        return h

    def scan_sequence(
        self, xp: torch.Tensor, state: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All steps at once: projected inputs xp (B, T, P), state (B, state_size) ->
        outputs (B, T, H), zero at padded steps, and each sequence's state after its last real
        step (``lengths`` (B,), right padding)."""
        h0 = self.to_scan_state(state)
        if self.scan == "log":
            log_a, log_b = self.log_coefficients(xp)
            h = log_linear_scan(log_a, log_b, h0, lengths=lengths)
        else:
            a, b = self.coefficients(xp)
            h = linear_scan(a, b, h0, lengths=lengths, method=self.scan)
        out = self.readout(h, xp)
        if lengths is not None:
            real = mask_from_lengths(lengths.to(out.device), out.shape[1])[..., None]
            out = torch.where(real, out, out.new_zeros(()))
        return out, self.from_scan_state(h[:, -1])


class MinimalGatedCell(ScanCell):
    """The minGRU/minLSTM family: every gate is a projection of x_t alone (``weight_ih``,
    ``bias_ih``; no recurrent weights), so the log-space scan of the paper applies too."""

    scan_methods = (*METHODS, "log")

    def parameter_shapes(self) -> dict[str, tuple[int, ...] | None]:
        gh = self.gate_count * self.hidden_size
        return {"weight_ih": (gh, self.input_size), "bias_ih": (gh,) if self.bias else None}


class MinGRUCell(MinimalGatedCell):
    """minGRU (Feng et al. 2024): ``z = σ(x̂_z)``, ``h̃ = g(x̂_h)``, ``h' = (1 - z) h + z h̃``.

    Parameters ``weight_ih`` (2H, F) and ``bias_ih`` (2H,), blocks ``z, h̃``; no recurrent
    weights. ``scan``: "chunked" (default), "log" (the paper's log-space scan) or "sequential".

    Example:
        >>> import torch
        >>> cell = MinGRUCell(2, 3)
        >>> h, _, gates = cell.step_with_gates(cell.project_inputs(torch.ones(1, 2)),
        ...                                    torch.ones(1, 3))
        >>> z, cand = gates["update_gate"], gates["candidate"]
        >>> torch.allclose(h, (1 - z) + z * cand), sorted(cell.weights())
        (True, ['bias_ih', 'weight_ih'])
    """

    gate_count = 2
    def step_with_gates(
        self, xp: torch.Tensor, state: torch.Tensor, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One step; ``gates``: ``update_gate`` z and ``candidate`` h̃."""
        x_z, x_h = xp.chunk(2, dim=-1)
        z, candidate = torch.sigmoid(x_z), g(x_h)
        h_new = (1 - z) * state + z * candidate
        return h_new, h_new, {"update_gate": z, "candidate": candidate}

    def coefficients(self, xp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_z, x_h = xp.chunk(2, dim=-1)
        return torch.sigmoid(-x_z), torch.sigmoid(x_z) * g(x_h)  # 1 - z, z h̃

    def log_coefficients(self, xp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_z, x_h = xp.chunk(2, dim=-1)
        return -softplus(x_z), -softplus(-x_z) + log_g(x_h)  # log(1 - z), log z + log h̃


class MinLSTMCell(MinimalGatedCell):
    """minLSTM (Feng et al. 2024): ``f, i = σ(x̂_f), σ(x̂_i)``, ``h̃ = g(x̂_h)``, normalized
    ``f' = f / (f + i)``, ``i' = i / (f + i)``, ``h' = f' h + i' h̃``.

    Parameters ``weight_ih`` (3H, F), ``bias_ih`` (3H,), blocks ``i, f, h̃`` (the "keras" init
    sets the forget bias to 1, as for the LSTM). ``scan`` as :class:`MinGRUCell`.

    Example:
        >>> import torch
        >>> cell = MinLSTMCell(2, 3)
        >>> _, _, gates = cell.step_with_gates(cell.project_inputs(torch.ones(1, 2)),
        ...                                    torch.zeros(1, 3))
        >>> torch.allclose(gates["forget_gate"] + gates["input_gate"], torch.ones(1, 3))
        True
    """

    gate_count = 3
    forget_gate = 1
    def step_with_gates(
        self, xp: torch.Tensor, state: torch.Tensor, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One step; ``gates``: the normalized ``input_gate`` i' and ``forget_gate`` f' (they
        sum to 1) and the ``candidate`` h̃."""
        x_i, x_f, x_h = xp.chunk(3, dim=-1)
        i, f, candidate = torch.sigmoid(x_i), torch.sigmoid(x_f), g(x_h)
        total = f + i
        f, i = f / total, i / total
        h_new = f * state + i * candidate
        return h_new, h_new, {"input_gate": i, "forget_gate": f, "candidate": candidate}

    def coefficients(self, xp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_i, x_f, x_h = xp.chunk(3, dim=-1)
        diff = softplus(-x_f) - softplus(-x_i)  # log i - log f, without forming f + i
        return torch.sigmoid(-diff), torch.sigmoid(diff) * g(x_h)  # f', i' h̃

    def log_coefficients(self, xp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_i, x_f, x_h = xp.chunk(3, dim=-1)
        # log f' = -softplus(log i - log f), log i' = -softplus(log f - log i).
        diff = softplus(-x_f) - softplus(-x_i)  # log i - log f
        return -softplus(diff), -softplus(-diff) + log_g(x_h)


class LRUCell(ScanCell):
    """Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for
    Long Sequences"): a diagonal linear recurrence with a stable exponential parameterization.

    ``λ = exp(-exp(nu_log) + i exp(theta_log))`` (|λ| < 1 for any parameter values),
    ``x' = λ x + exp(gamma_log) (B u)``, ``y = Re(C x') + D u``. ``state_size`` N (default H)
    is the number of complex (or real) state units. Initialization (the paper's): |λ| uniform
    on the ring ``[r_min, r_max]``, phase uniform in ``[0, max_phase]``, ``gamma = sqrt(1 -
    |λ|^2)``, B ~ N(0, 1/(2F)), C ~ N(0, 1/N), D ~ N(0, 1/F) (a matrix here, since F may differ
    from H; the paper's D is diagonal). The state is real, ``[Re x | Im x]`` (B, 2N).

    Example:
        >>> import torch
        >>> cell = LRUCell(3, 4, state_size=5)
        >>> cell.state_size, sorted(name for name, p in cell.weights().items() if p is not None)
        (10, ['B_im', 'B_re', 'C_im', 'C_re', 'D', 'gamma_log', 'nu_log', 'theta_log'])
        >>> decay = torch.exp(-torch.exp(cell.nu_log))
        >>> bool((decay < 1).all())
        True
    """

    extra_parameter_names = (
        "nu_log", "theta_log", "gamma_log", "B_re", "B_im", "C_re", "C_im", "D",
    )

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        state_size: int | None = None,
        complex: bool = True,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 2 * math.pi,
        bias: bool = True,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        init: str = "keras",
        scan: str = "chunked",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        weights_from: LayerWeights | None = None,
    ) -> None:
        if not bias:
            raise ConfigError("bias: the LRU has no bias parameters; leave bias=True")
        if not 0.0 <= r_min < r_max <= 1.0:
            raise ConfigError(
                f"r_min, r_max: expected 0 <= r_min < r_max <= 1, got {r_min}, {r_max}"
            )
        if not max_phase > 0:
            raise ConfigError(f"max_phase: expected a positive angle, got {max_phase!r}")
        units = hidden_size if state_size is None else state_size
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ConfigError(f"state_size: expected a positive integer, got {state_size!r}")
        self.units = units
        self.complex = bool(complex)
        self.r_min, self.r_max, self.max_phase = float(r_min), float(r_max), float(max_phase)
        super().__init__(
            input_size,
            hidden_size,
            recurrent_dropout=recurrent_dropout,
            layer_norm=layer_norm,
            init=init,
            scan=scan,
            dtype=dtype,
            device=device,
            weights_from=weights_from,
        )

    @property
    def state_size(self) -> int:
        return 2 * self.units if self.complex else self.units

    def extra_repr(self) -> str:
        parts = [super().extra_repr()]
        if self.units != self.hidden_size:
            parts.append(f"state_size={self.units}")
        if not self.complex:
            parts.append("complex=False")
        return ", ".join(parts)

    def parameter_shapes(self) -> dict[str, tuple[int, ...] | None]:
        n, f, h = self.units, self.input_size, self.hidden_size
        imaginary = self.complex
        return {
            "nu_log": (n,),
            "theta_log": (n,) if imaginary else None,
            "gamma_log": (n,),
            "B_re": (n, f),
            "B_im": (n, f) if imaginary else None,
            "C_re": (h, n),
            "C_im": (h, n) if imaginary else None,
            "D": (h, f),
        }

    @torch.no_grad()
    def reset_parameters(self, init: str | None = None) -> None:
        """The paper's initialization (``init`` is accepted and ignored: there is one scheme)."""
        w = {name: p for name, p in self.weights().items() if p is not None}
        n, f = self.units, self.input_size
        u1 = torch.rand(n, dtype=torch.float64)
        radius_sq = u1 * (self.r_max**2 - self.r_min**2) + self.r_min**2
        nu_log = torch.log(-0.5 * torch.log(radius_sq.clamp(min=1e-300)))
        w["nu_log"].copy_(nu_log)
        modulus = torch.exp(-torch.exp(nu_log))
        w["gamma_log"].copy_(torch.log(torch.sqrt((1 - modulus**2).clamp(min=1e-300))))
        scale_b = math.sqrt(2 * f) if self.complex else math.sqrt(f)
        for name, scale in (("B_re", scale_b), ("B_im", scale_b), ("C_re", math.sqrt(n)),
                            ("C_im", math.sqrt(n)), ("D", math.sqrt(f))):
            if name in w:
                w[name].normal_().div_(scale)
        if "theta_log" in w:
            phase = self.max_phase * torch.rand(n, dtype=torch.float64)
            w["theta_log"].copy_(torch.log(phase.clamp(min=1e-300)))

    # -- shared pieces of all forms --------------------------------------------------------------
    def decay(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """λ as (real part, imaginary part or None), each (N,)."""
        modulus = torch.exp(-torch.exp(self.nu_log))
        if not self.complex:
            return modulus, None
        angle = torch.exp(self.theta_log)
        return modulus * torch.cos(angle), modulus * torch.sin(angle)

    def state_input_weight(self) -> torch.Tensor:
        """``γ B`` as a real matrix: ``[γ B_re; γ B_im]`` (2N, F), or ``γ B_re`` (N, F) if real."""
        gamma = torch.exp(self.gamma_log)[:, None]
        if not self.complex:
            return self.B_re * gamma
        return torch.cat([self.B_re * gamma, self.B_im * gamma])

    def readout_weight(self) -> torch.Tensor:
        """``Re(C x)`` as a product with the real state: ``[C_re | -C_im]`` (H, 2N), or ``C_re``.
        """
        if not self.complex:
            return self.C_re
        return torch.cat([self.C_re, -self.C_im], dim=1)

    def project_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """``[Re(γ B u) | Im(γ B u) | D u]`` (..., 2N + H), or ``[γ B u | D u]`` when real."""
        return F.linear(x, torch.cat([self.state_input_weight(), self.D]))

    def _split(self, xp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        n = self.units
        if self.complex:
            return xp[..., :n], xp[..., n : 2 * n], xp[..., 2 * n :]
        return xp[..., :n], None, xp[..., n:]

    # -- the step form -------------------------------------------------------------------------
    def step_with_gates(
        self, xp: torch.Tensor, state: torch.Tensor, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One step in real arithmetic; ``gates``: none (an LRU has no gates)."""
        bu_re, bu_im, du = self._split(xp)
        lam_re, lam_im = self.decay()
        if lam_im is None or bu_im is None:
            new = lam_re * state + bu_re
            return F.linear(new, self.C_re) + du, new, {}
        x_re, x_im = state[..., : self.units], state[..., self.units :]
        new_re = lam_re * x_re - lam_im * x_im + bu_re
        new_im = lam_re * x_im + lam_im * x_re + bu_im
        y = F.linear(new_re, self.C_re) - F.linear(new_im, self.C_im) + du
        return y, torch.cat([new_re, new_im], dim=-1), {}

    # -- the parallel form ---------------------------------------------------------------------
    def coefficients(self, xp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bu_re, bu_im, _ = self._split(xp)
        lam_re, lam_im = self.decay()
        if lam_im is None or bu_im is None:
            return lam_re.expand_as(bu_re), bu_re
        return torch.complex(lam_re, lam_im).expand_as(bu_re), torch.complex(bu_re, bu_im)

    def readout(self, h: torch.Tensor, xp: torch.Tensor) -> torch.Tensor:
        du = self._split(xp)[2]
        if not self.complex:
            return F.linear(h, self.C_re) + du
        return F.linear(h.real, self.C_re) - F.linear(h.imag, self.C_im) + du

    def to_scan_state(self, state: torch.Tensor) -> torch.Tensor:
        if not self.complex:
            return state
        return torch.complex(state[..., : self.units], state[..., self.units :])

    def from_scan_state(self, h: torch.Tensor) -> torch.Tensor:
        return torch.cat([h.real, h.imag], dim=-1) if self.complex else h


__all__ = ["ScanCell", "MinGRUCell", "MinLSTMCell", "LRUCell", "g", "log_g"]
