"""Recurrent cells with explicit gate equations: :class:`RNNCell`, :class:`LSTMCell`,
:class:`GRUCell`.

Parameters use PyTorch names and layouts: ``weight_ih`` (G*H, F), ``weight_hh`` (G*H, H),
``bias_ih``/``bias_hh`` (G*H,), gates stacked LSTM ``i, f, g, o`` and GRU ``r, z, n``, so a cell's
``state_dict`` loads into ``torch.nn.LSTMCell``/``GRUCell``/``RNNCell``.

Each cell works three ways:

- ``cell(x_t, state) -> (y_t, new_state)``: one step, x_t (B, F).
- ``xp = cell.project_inputs(x)`` for all steps at once (x (B, T, F) -> (B, T, G*H), one matrix
  product), then ``cell.step(xp_t, state)`` per step, which only multiplies ``h @ W_hh``.
- inside :class:`rnnkit.nn.Recurrent`, which runs that loop over a batch of sequences.

``cell.step_with_gates(xp_t, state)`` is the step that also returns its gate activations by name
(LSTM ``input_gate`` i, ``forget_gate`` f, ``candidate`` g, ``output_gate`` o; GRU ``reset_gate``
r, ``update_gate`` z, ``candidate`` n; RNN ``pre_activation``): the equations are written there
once, and ``step`` returns its first two results. :mod:`rnnkit.inspect` records them.

A cell of a layer (``LSTM(...).cell(layer, direction)``) owns no parameters: it is built with
``weights_from=LayerWeights(layer, "_l0")`` and reads ``weight_ih`` as ``layer.weight_ih_l0`` at
every access, so it always sees the layer's current tensors (after ``.to()``,
``load_state_dict``, ``copy.deepcopy`` or inside ``torch.func.functional_call``).

Equations (``σ`` = ``recurrent_activation``, ``φ`` = ``activation``, ``x̂ = W_ih x + b_ih``,
``ĥ = W_hh h + b_hh``, split per gate):

- RNN: ``h' = φ(x̂ + ĥ)``
- LSTM: ``i, f, o = σ(x̂ + ĥ)``, ``g = φ(x̂_g + ĥ_g)``, ``c' = f c + i g``, ``h' = o φ(c')``
- GRU, reset_after=True (PyTorch/cuDNN): ``r, z = σ(x̂ + ĥ)``, ``n = φ(x̂_n + r ⊙ ĥ_n)``,
  ``h' = (1 - z) n + z h``
- GRU, reset_after=False (Cho et al. 2014, old Keras default): ``n = φ(x̂_n + W_hn (r ⊙ h) + b_hn)``

With ``layer_norm=True`` (Ba et al. 2016) ``W_ih x`` and ``W_hh h`` are each layer-normalized *per
gate block* (over H, with their own gain and offset) before the biases are added, and the LSTM
output is ``h' = o φ(LN(c'))`` while the carried cell state ``c'`` stays unnormalized. Extra
parameters: ``layer_norm_ih_weight/bias`` (G*H,), ``layer_norm_hh_weight/bias`` (G*H,), LSTM also
``layer_norm_c_weight/bias`` (H,).

``recurrent_dropout`` (variational, Gal & Ghahramani 2016) multiplies ``h`` by one dropout mask per
sequence before ``W_hh``; the mask is drawn by the scan (:meth:`make_recurrent_mask`) and is the
same at every step. A lone ``cell(x_t, state)`` call applies no recurrent dropout.

Example:
    >>> import torch
    >>> cell = LSTMCell(4, 3)
    >>> y, (h, c) = cell(torch.zeros(2, 4), cell.initial_state(2))
    >>> tuple(y.shape), tuple(c.shape)
    ((2, 3), (2, 3))
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn.activations import Activation, activation_name, resolve_activation
from rnnkit.nn.init import check_init, init_gate_weights_

State = torch.Tensor | tuple[torch.Tensor, ...]
LAYER_NORM_EPS = 1e-5
PARAMETER_NAMES = (
    "weight_ih",
    "weight_hh",
    "bias_ih",
    "bias_hh",
    "layer_norm_ih_weight",
    "layer_norm_ih_bias",
    "layer_norm_hh_weight",
    "layer_norm_hh_bias",
    "layer_norm_c_weight",
    "layer_norm_c_bias",
)


def cell_parameter_shapes(
    gates: int, input_size: int, hidden_size: int, *, bias: bool, layer_norm: bool, cell_norm: bool
) -> dict[str, tuple[int, ...] | None]:
    """Names and shapes of a cell's parameters in registration order (``None`` = absent)."""
    gh = gates * hidden_size
    shapes = (
        (gh, input_size),
        (gh, hidden_size),
        (gh,) if bias else None,
        (gh,) if bias else None,
        (gh,) if layer_norm else None,
        (gh,) if layer_norm else None,
        (gh,) if layer_norm else None,
        (gh,) if layer_norm else None,
        (hidden_size,) if layer_norm and cell_norm else None,
        (hidden_size,) if layer_norm and cell_norm else None,
    )
    return dict(zip(PARAMETER_NAMES, shapes, strict=True))


@dataclass(frozen=True)
class LayerWeights:
    """Where a layer's cell reads its parameters: attribute ``name + suffix`` of ``layer``.

    Example:
        >>> from rnnkit.nn import LSTM
        >>> lstm = LSTM(4, 3, bidirectional=True)
        >>> backward = lstm.cell(0, 1)
        >>> backward.weights_from.suffix, backward.weight_hh is lstm.weight_hh_l0_reverse
        ('_l0_reverse', True)
    """

    layer: nn.Module
    suffix: str

    def get(self, name: str) -> torch.Tensor | None:
        """The layer's parameter ``name + suffix``, or None when the layer has none (no bias);
        during a training call with ``weight_drop``, the call's dropped ``weight_hh``."""
        dropped = self.layer.__dict__.get("_dropped_weights")
        if dropped and name + self.suffix in dropped:
            return dropped[name + self.suffix]  # type: ignore[no-any-return]
        value = getattr(self.layer, name + self.suffix, None)
        assert value is None or isinstance(value, torch.Tensor)
        return value


def _gate_norm(
    v: torch.Tensor, gain: torch.Tensor, offset: torch.Tensor, hidden: int
) -> torch.Tensor:
    """Layer norm applied separately to each H-sized gate block of the last dimension."""
    shape = v.shape
    gates = shape[-1] // hidden
    normed = F.layer_norm(v.reshape(*shape[:-1], gates, hidden), (hidden,), eps=LAYER_NORM_EPS)
    return torch.addcmul(offset, normed.reshape(shape), gain)


def _positive_int(value: object, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{argument}: expected a positive integer, got {value!r}")
    return value


def check_probability(value: object, argument: str) -> float:
    """Validate a dropout rate in [0, 1); raises :class:`ConfigError` naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"{argument}: expected a probability in [0, 1), got {value!r}")
    return float(value)


class RecurrentCell(nn.Module):
    """Shared machinery: parameters, input projection, recurrent projection, masks, validation.

    ``weights_from`` (a :class:`LayerWeights`) makes a cell that registers no parameters and
    reads them from its layer; by default the cell owns its parameters.
    """

    gate_count: int = 1
    forget_gate: int | None = None
    has_cell_state: bool = False
    # True when the state is a memory far wider than H (a Mamba block's (E, N) state, an mLSTM's
    # d x d matrices), not a vector of units: the translation decoder then never maps it square
    # or reads it as an attention query (rnnkit.nn.registry.state_is_memory).
    state_is_memory: bool = False
    # True where torch's fused kernels and rnnkit's numba kernels implement the equations (with
    # standard activations, no layer norm); a new cell type runs on the cell loop.
    has_fused_kernels: bool = False
    # True for the recurrences linear in their state (rnnkit.nn.scan_cells): besides the step form
    # they have a parallel form over a whole sequence, ``scan_sequence``, which their layers run.
    has_parallel_scan: bool = False
    # Parameter names beyond PARAMETER_NAMES (an LRU's ``nu_log``, ``B_re``, ...).
    extra_parameter_names: tuple[str, ...] = ()
    # Registered parameters (layer_norm_* are None unless layer_norm=True; biases unless bias).
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor
    bias_ih: torch.Tensor | None
    bias_hh: torch.Tensor | None
    layer_norm_ih_weight: torch.Tensor
    layer_norm_ih_bias: torch.Tensor
    layer_norm_hh_weight: torch.Tensor
    layer_norm_hh_bias: torch.Tensor
    layer_norm_c_weight: torch.Tensor
    layer_norm_c_bias: torch.Tensor

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        bias: bool = True,
        layer_norm: bool = False,
        activation: str | Activation | None = "tanh",
        recurrent_activation: str | Activation | None = "sigmoid",
        recurrent_dropout: float = 0.0,
        init: str = "keras",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        weights_from: LayerWeights | None = None,
    ) -> None:
        super().__init__()
        self.weights_from = weights_from
        self.input_size = _positive_int(input_size, "input_size")
        self.hidden_size = _positive_int(hidden_size, "hidden_size")
        self.bias = bool(bias)
        self.layer_norm = bool(layer_norm)
        self.activation = resolve_activation(activation, "activation")
        self.recurrent_activation = resolve_activation(recurrent_activation, "recurrent_activation")
        self.activation_name = activation_name(activation)
        self.recurrent_activation_name = activation_name(recurrent_activation)
        self.recurrent_dropout = check_probability(recurrent_dropout, "recurrent_dropout")
        self.init = check_init(init)
        if weights_from is not None:
            return  # the layer registers and initializes the parameters (parameter_shapes)
        for name, shape in self.parameter_shapes().items():
            param = None
            if shape is not None:
                param = nn.Parameter(torch.empty(shape, dtype=dtype, device=device))
            self.register_parameter(name, param)
        if device is None or torch.device(device).type != "meta":
            self.reset_parameters()

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not found as attributes: a layer's cell finds its parameters
        # in the layer, by name, at each access (never a stale copy).
        weights_from = self.__dict__.get("weights_from")
        if weights_from is not None and (
            name in PARAMETER_NAMES or name in type(self).extra_parameter_names
        ):
            return weights_from.get(name)
        return super().__getattr__(name)

    def bound(self) -> RecurrentCell:
        """This cell with its parameters looked up once, as plain attributes, for one run over a
        sequence (a scan reads them at every step, and a layer's cell would otherwise find them
        through the layer each time). Same tensors, so gradients reach the layer's parameters;
        use the view for one forward call only (it does not follow a later ``.to`` or load).

        Example:
            >>> from rnnkit.nn import GRU
            >>> gru = GRU(2, 3)
            >>> gru.cell().bound().weight_hh is gru.weight_hh_l0
            True
        """
        view = copy.copy(self)
        for name in PARAMETER_NAMES + type(self).extra_parameter_names:
            object.__setattr__(view, name, getattr(self, name, None))
        return view

    def parameter_shapes(self) -> dict[str, tuple[int, ...] | None]:
        """The cell's parameter names (PyTorch's, in registration order) and shapes, None = absent.
        """
        return cell_parameter_shapes(
            self.gate_count,
            self.input_size,
            self.hidden_size,
            bias=self.bias,
            layer_norm=self.layer_norm,
            cell_norm=self.has_cell_state,
        )

    def weights(self) -> dict[str, torch.Tensor | None]:
        """The parameters by cell name (``weight_ih``, ...; None where absent): the cell's own,
        or for a layer's cell the layer's (``weight_ih_l0``, ...)."""
        return {name: getattr(self, name) for name in self.parameter_shapes()}

    # -- configuration -------------------------------------------------------------------------
    @property
    def state_size(self) -> int:
        """Width of the carried state (h is (B, state_size)); the hidden size for these cells."""
        return self.hidden_size

    @property
    def fused_compatible(self) -> bool:
        """True when torch's fused kernel computes exactly these equations (ignoring dropout)."""
        return self.has_fused_kernels and not self.layer_norm and self._standard_activations()

    def _standard_activations(self) -> bool:
        return self.activation_name == "tanh" and self.recurrent_activation_name == "sigmoid"

    def reset_parameters(self, init: str | None = None) -> None:
        """Re-initialize with ``init`` ("keras" or "torch"; default: the constructor's)."""
        init_gate_weights_(
            self.weights(),
            gates=self.gate_count,
            hidden_size=self.hidden_size,
            scheme=check_init(init or self.init),
            forget_gate=self.forget_gate,
        )

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if not self.bias:
            parts.append("bias=False")
        if self.layer_norm:
            parts.append("layer_norm=True")
        if self.activation_name != "tanh":
            parts.append(f"activation={self.activation_name or self.activation!r}")
        if self.gate_count > 1 and self.recurrent_activation_name != "sigmoid":
            name = self.recurrent_activation_name or self.recurrent_activation
            parts.append(f"recurrent_activation={name!r}")
        if self.recurrent_dropout:
            parts.append(f"recurrent_dropout={self.recurrent_dropout}")
        return ", ".join(parts)

    # -- state and masks -----------------------------------------------------------------------
    def initial_state(
        self,
        batch_size: int,
        dtype: torch.dtype | None = None,
        device: torch.device | None = None,
    ) -> State:
        """Zero state: h (B, H), or (h, c) for an LSTM; dtype/device default to the weights'."""
        w = self.weight_ih
        zeros = torch.zeros(
            batch_size, self.hidden_size, dtype=dtype or w.dtype, device=device or w.device
        )
        return (zeros, zeros.clone()) if self.has_cell_state else zeros

    def make_recurrent_mask(self, batch_size: int) -> torch.Tensor | None:
        """A scaled dropout mask (B, H) for ``h``, or None (eval mode or ``recurrent_dropout=0``).
        """
        if not self.training or self.recurrent_dropout == 0.0:
            return None
        keep = 1.0 - self.recurrent_dropout
        w = self.weight_hh
        mask = torch.empty(batch_size, self.hidden_size, dtype=w.dtype, device=w.device)
        return mask.bernoulli_(keep).div_(keep)

    # -- projections ---------------------------------------------------------------------------
    def project_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """``W_ih x + b_ih`` (layer-normalized when ``layer_norm``) for any (..., F) -> (..., G*H).
        """
        if not self.layer_norm:
            return F.linear(x, self.weight_ih, self.bias_ih)
        xp = _gate_norm(
            F.linear(x, self.weight_ih),
            self.layer_norm_ih_weight,
            self.layer_norm_ih_bias,
            self.hidden_size,
        )
        return xp if self.bias_ih is None else xp + self.bias_ih

    def _project_hidden(self, h: torch.Tensor, rows: slice | None = None) -> torch.Tensor:
        """``W_hh h + b_hh`` restricted to the gate rows ``rows`` (all gates by default)."""
        rows = rows or slice(None)
        weight = self.weight_hh[rows]
        bias = None if self.bias_hh is None else self.bias_hh[rows]
        if not self.layer_norm:
            return F.linear(h, weight, bias)
        hp = _gate_norm(
            F.linear(h, weight),
            self.layer_norm_hh_weight[rows],
            self.layer_norm_hh_bias[rows],
            self.hidden_size,
        )
        return hp if bias is None else hp + bias

    # -- one step ------------------------------------------------------------------------------
    def step_with_gates(
        self, xp: torch.Tensor, state: Any, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Any, dict[str, torch.Tensor]]:
        """One step from projected inputs ``xp`` (B, G*H): ``(y_t, new_state, gates)``, where
        ``gates`` maps each gate's name to its activation (B, H) at this step."""
        raise NotImplementedError

    def step(
        self, xp: torch.Tensor, state: Any, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Any]:
        """One step from projected inputs ``xp`` (B, G*H): returns ``(y_t, new_state)``."""
        y, new_state, _ = self.step_with_gates(xp, state, recurrent_mask)
        return y, new_state

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """One step from raw inputs x (B, F); ``state`` None means zeros."""
        if not isinstance(x, torch.Tensor) or x.dim() != 2:
            got = x.dim() if isinstance(x, torch.Tensor) else type(x).__name__
            raise ShapeError(f"x: expected a (B, F) tensor for one cell step, got {got} dims")
        if x.shape[1] != self.input_size:
            raise ShapeError(f"x: expected F={self.input_size} features, got {x.shape[1]}")
        if state is None:
            state = self.initial_state(x.shape[0], x.dtype, x.device)
        return self.step(self.project_inputs(x), state)


class RNNCell(RecurrentCell):
    """Elman cell ``h' = φ(W_ih x + b_ih + W_hh h + b_hh)``, φ = ``activation`` (tanh or relu...).

    ``nonlinearity`` is accepted as an alias of ``activation`` (PyTorch's name).

    Example:
        >>> import torch
        >>> cell = RNNCell(4, 3, activation="relu")
        >>> y, h = cell(torch.ones(2, 4))
        >>> bool((y >= 0).all()) and y is h
        True
    """

    gate_count = 1
    has_fused_kernels = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        bias: bool = True,
        layer_norm: bool = False,
        activation: str | Activation | None = "tanh",
        nonlinearity: str | None = None,
        recurrent_dropout: float = 0.0,
        init: str = "keras",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        weights_from: LayerWeights | None = None,
    ) -> None:
        if nonlinearity is not None:
            activation = nonlinearity
        super().__init__(
            input_size,
            hidden_size,
            bias=bias,
            layer_norm=layer_norm,
            activation=activation,
            recurrent_activation=None,
            recurrent_dropout=recurrent_dropout,
            init=init,
            dtype=dtype,
            device=device,
            weights_from=weights_from,
        )

    def _standard_activations(self) -> bool:
        return self.activation_name in ("tanh", "relu")

    def step_with_gates(
        self, xp: torch.Tensor, state: torch.Tensor, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One step; ``gates``: ``pre_activation`` = ``x̂ + ĥ`` (h' = φ of it).

        Example:
            >>> import torch
            >>> cell = RNNCell(2, 3)
            >>> h, _, gates = cell.step_with_gates(cell.project_inputs(torch.ones(1, 2)),
            ...                                    cell.initial_state(1))
            >>> torch.equal(h, torch.tanh(gates["pre_activation"]))
            True
        """
        h = state if recurrent_mask is None else state * recurrent_mask
        pre_activation = xp + self._project_hidden(h)
        h_new = self.activation(pre_activation)
        return h_new, h_new, {"pre_activation": pre_activation}


class LSTMCell(RecurrentCell):
    """LSTM cell, gates ``i, f, g, o`` (PyTorch order = Keras ``i, f, c, o``); state ``(h, c)``.

    Example:
        >>> import torch
        >>> cell = LSTMCell(4, 3)
        >>> cell.bias_ih[3:6].tolist()   # Keras init: forget-gate bias 1
        [1.0, 1.0, 1.0]
    """

    gate_count = 4
    forget_gate = 1
    has_cell_state = True
    has_fused_kernels = True

    def step_with_gates(
        self,
        xp: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor],
        recurrent_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]:
        """One step; ``gates``: ``input_gate`` i, ``forget_gate`` f, ``output_gate`` o (after σ)
        and ``candidate`` g (after φ), with ``c' = f c + i g`` and ``h' = o φ(c')``.

        Example:
            >>> import torch
            >>> cell = LSTMCell(2, 3)
            >>> c = torch.ones(1, 3)
            >>> h, (_, c_new), g = cell.step_with_gates(cell.project_inputs(torch.ones(1, 2)),
            ...                                         (torch.zeros(1, 3), c))
            >>> torch.allclose(c_new, g["forget_gate"] * c + g["input_gate"] * g["candidate"])
            True
        """
        h, c = state
        if recurrent_mask is not None:
            h = h * recurrent_mask
        i, f, g, o = (xp + self._project_hidden(h)).chunk(4, dim=-1)
        sigma = self.recurrent_activation
        i, f, g, o = sigma(i), sigma(f), self.activation(g), sigma(o)
        c_new = f * c + i * g
        c_out = c_new
        if self.layer_norm:
            c_out = _gate_norm(
                c_new, self.layer_norm_c_weight, self.layer_norm_c_bias, self.hidden_size
            )
        h_new = o * self.activation(c_out)
        gates = {"input_gate": i, "forget_gate": f, "candidate": g, "output_gate": o}
        return h_new, (h_new, c_new), gates


class GRUCell(RecurrentCell):
    """GRU cell, gates ``r, z, n`` (PyTorch order; Keras stores ``z, r, h``).

    ``reset_after=True`` applies the reset gate after the recurrent product (PyTorch, cuDNN, Keras
    2.3+ default); ``reset_after=False`` before it (Cho et al. 2014). The parameter shapes are the
    same.

    Example:
        >>> import torch
        >>> cell = GRUCell(4, 3, reset_after=False, recurrent_activation="tanh")
        >>> y, h = cell(torch.ones(2, 4))
        >>> tuple(h.shape)
        (2, 3)
    """

    gate_count = 3
    has_fused_kernels = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        bias: bool = True,
        layer_norm: bool = False,
        activation: str | Activation | None = "tanh",
        recurrent_activation: str | Activation | None = "sigmoid",
        reset_after: bool = True,
        recurrent_dropout: float = 0.0,
        init: str = "keras",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        weights_from: LayerWeights | None = None,
    ) -> None:
        self.reset_after = bool(reset_after)
        super().__init__(
            input_size,
            hidden_size,
            bias=bias,
            layer_norm=layer_norm,
            activation=activation,
            recurrent_activation=recurrent_activation,
            recurrent_dropout=recurrent_dropout,
            init=init,
            dtype=dtype,
            device=device,
            weights_from=weights_from,
        )

    @property
    def fused_compatible(self) -> bool:
        return self.reset_after and super().fused_compatible

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.reset_after else text + ", reset_after=False"

    def step_with_gates(
        self, xp: torch.Tensor, state: torch.Tensor, recurrent_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One step; ``gates``: ``reset_gate`` r, ``update_gate`` z (after σ) and ``candidate``
        n (after φ), with ``h' = (1 - z) n + z h``.

        Example:
            >>> import torch
            >>> cell = GRUCell(2, 3)
            >>> h0 = torch.ones(1, 3)
            >>> h, _, g = cell.step_with_gates(cell.project_inputs(torch.ones(1, 2)), h0)
            >>> torch.allclose(h, (1 - g["update_gate"]) * g["candidate"] + g["update_gate"] * h0)
            True
        """
        h = state
        hd = h if recurrent_mask is None else h * recurrent_mask
        hidden = self.hidden_size
        x_r, x_z, x_n = xp.chunk(3, dim=-1)
        sigma = self.recurrent_activation
        if self.reset_after:
            h_r, h_z, h_n = self._project_hidden(hd).chunk(3, dim=-1)
            r = sigma(x_r + h_r)
            z = sigma(x_z + h_z)
            n = self.activation(x_n + r * h_n)
        else:
            h_r, h_z = self._project_hidden(hd, slice(0, 2 * hidden)).chunk(2, dim=-1)
            r = sigma(x_r + h_r)
            z = sigma(x_z + h_z)
            n = self.activation(x_n + self._project_hidden(r * hd, slice(2 * hidden, None)))
        h_new = n + z * (h - n)
        return h_new, h_new, {"reset_gate": r, "update_gate": z, "candidate": n}
