"""Recurrent layers :class:`SimpleRNN`, :class:`LSTM`, :class:`GRU`: stacked, bidirectional, masked.

Input x is batch-first (B, T, F). Every call returns ``(output, state)`` like ``torch.nn.LSTM``:

- ``output`` (B, T, D*H) for ``merge_mode="concat"`` (D = 2 if bidirectional), or (B, T, H) for
  ``"sum"``, ``"mean"``, ``"mul"``; the top layer's outputs, zeros at padded steps.
- ``state``: h (L*D, B, H) for SimpleRNN/GRU, ``(h, c)`` for LSTM, ordered as PyTorch
  (layer 0 forward, layer 0 backward, layer 1 forward, ...); for each sequence the state after its
  last real step. A zero-length sequence gets its initial state (zeros unless ``initial_state``
  is given) and all-zero outputs. Use :func:`rnnkit.nn.last_step` to pick the last real outputs.

Three executions, same parameters:

- **numba kernels** (:mod:`rnnkit.nn.kernels`): rnnkit's own fused forward + BPTT backward,
  multi-threaded over the batch, with lengths and both directions handled inside the kernel.
  Chosen automatically where they train faster than torch (the size rule in
  :mod:`rnnkit.nn.kernels.dispatch`: SimpleRNN and GRU up to H = 512, GRU including
  ``reset_after=False``, which torch cannot fuse; LSTM stays on oneDNN's fused kernel). ``kernels="numba"|"torch"`` or the environment
  variable ``RNNKIT_KERNELS`` forces either; ``layer.backend`` says which runs.
- **fused path**: torch's fused kernels (``torch._VF.lstm/gru/rnn_tanh/rnn_relu``) -- for
  ``lengths`` that differ by a few steps, the kernel on the common head plus a cell-loop tail,
  otherwise packed sequences -- when the configuration is standard (no layer norm, tanh/sigmoid
  activations, ReLU or tanh SimpleRNN, GRU ``reset_after=True``, no recurrent dropout *in training*).
- **cell loop**: :mod:`rnnkit.nn.cells` driven by :func:`rnnkit.nn.recurrent.scan` for everything.

The choice is automatic (``layer.backend``: "numba", "torch" or "loop"; ``layer.uses_fused_path``
is True when a torch-compatible configuration runs fused, by torch or by the numba kernels) and
can be forced with ``fused=False`` (the cell loop) or ``fused=True`` (raises :class:`ConfigError`
for a configuration torch's kernels cannot run).
Between stacked layers the two directions are concatenated (as in PyTorch) and ``dropout`` applies
in training; ``merge_mode`` applies to the top layer's output only.

Parameters follow PyTorch names/layouts (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...), so the
``state_dict`` loads into ``torch.nn.LSTM/GRU/RNN(batch_first=True)`` and back. Layer-norm
parameters (``layer_norm_ih_weight_l0``, ...) are extra keys. A ``reset_after=False`` GRU has the
same keys and shapes as torch's, but torch's GRU computes the reset-after equations.

Example:
    >>> import torch
    >>> lstm = LSTM(4, 3, num_layers=2, bidirectional=True)
    >>> out, (h, c) = lstm(torch.randn(2, 5, 4), lengths=torch.tensor([5, 2]))
    >>> tuple(out.shape), tuple(h.shape), lstm.uses_fused_path
    ((2, 5, 6), (4, 2, 3), True)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import _VF, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn.activations import Activation
from rnnkit.nn.bidirectional import check_merge_mode, merge_concatenated
from rnnkit.nn.cells import (
    GRUCell,
    LSTMCell,
    RNNCell,
    _positive_int,
    _RecurrentCell,
    cell_parameter_shapes,
    check_probability,
)
from rnnkit.nn.init import check_init, init_gate_weights_
from rnnkit.nn.kernels import dispatch, gemm
from rnnkit.nn.masking import resolve_padding, reverse_padded, rotate_time
from rnnkit.nn.recurrent import check_sequence_input, scan

_FLAT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class _RecurrentLayer(nn.Module):
    """Common body of the three layers; subclasses pick the cell class and the fused kernel."""

    cell_class: type[_RecurrentCell] = _RecurrentCell
    kernel_kind = ""  # "rnn" | "gru" | "lstm": which numba kernels serve this layer

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bidirectional: bool = False,
        merge_mode: str = "concat",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        layer_norm: bool = False,
        bias: bool = True,
        init: str = "keras",
        fused: bool | None = None,
        kernels: str | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        **cell_options: Any,
    ) -> None:
        super().__init__()
        self.input_size = _positive_int(input_size, "input_size")
        self.hidden_size = _positive_int(hidden_size, "hidden_size")
        self.num_layers = _positive_int(num_layers, "num_layers")
        self.bidirectional = bool(bidirectional)
        self.merge_mode = check_merge_mode(merge_mode)
        self.dropout = check_probability(dropout, "dropout")
        self.recurrent_dropout = check_probability(recurrent_dropout, "recurrent_dropout")
        self.layer_norm = bool(layer_norm)
        self.bias = bool(bias)
        self.batch_first = True
        self.init = check_init(init)
        if fused not in (None, True, False):
            raise ConfigError(f"fused: expected None, True or False, got {fused!r}")
        self.fused = fused
        self.kernels = dispatch.check_kernels_option(kernels)
        directions = 2 if self.bidirectional else 1
        # One cell per (layer, direction), holding the equations and options. They are kept in a
        # plain list (not registered) with parameters on the meta device; before a cell-loop run
        # they are bound to this layer's flat, torch-named parameters.
        self._cells: list[_RecurrentCell] = []
        self._bindings: list[list[tuple[str, str]]] = []
        self._flat_names: list[str] = []
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * directions
            for direction in range(directions):
                cell = self.cell_class(
                    layer_input,
                    self.hidden_size,
                    bias=self.bias,
                    layer_norm=self.layer_norm,
                    recurrent_dropout=self.recurrent_dropout,
                    init=self.init,
                    device="meta",
                    **cell_options,
                )
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = cell_parameter_shapes(
                    cell.gate_count,
                    layer_input,
                    self.hidden_size,
                    bias=self.bias,
                    layer_norm=self.layer_norm,
                    cell_norm=cell.has_cell_state,
                )
                binding = []
                for name, shape in shapes.items():
                    if shape is None:
                        continue
                    full = name + suffix
                    tensor = torch.empty(shape, dtype=dtype, device=device)
                    self.register_parameter(full, nn.Parameter(tensor))
                    binding.append((name, full))
                    if name in _FLAT_NAMES:
                        self._flat_names.append(full)
                self._cells.append(cell)
                self._bindings.append(binding)
        template = self._cells[0]
        if fused and not template.fused_compatible:
            raise ConfigError(
                "fused: torch's fused kernels cannot run this configuration (layer norm, "
                "non-standard activations or GRU reset_after=False); use fused=None or False"
            )
        if fused and self.recurrent_dropout:
            raise ConfigError("fused: torch's fused kernels cannot apply recurrent_dropout")
        self.reset_parameters()

    # -- configuration -------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Last dimension of ``output``."""
        if self.bidirectional and self.merge_mode == "concat":
            return 2 * self.hidden_size
        return self.hidden_size

    @property
    def uses_fused_path(self) -> bool:
        """True when the next call in the current train/eval mode runs a fused kernel (torch's,
        or rnnkit's numba kernels standing in for them: see :attr:`backend`) on a configuration
        torch can fuse.

        Recurrent dropout only acts in training, so a layer with ``recurrent_dropout`` runs the
        cell loop in training and the fused kernels in eval mode (unless ``fused=False``).
        """
        if self.fused is False or not self._cells[0].fused_compatible:
            return False
        return not (self.recurrent_dropout and self.training)

    @property
    def backend(self) -> str:
        """What runs the next call on a CPU float32/float64 input in the current mode:
        ``"numba"`` (rnnkit's kernels), ``"torch"`` (torch's fused kernels) or ``"loop"``.

        ``fused=False`` always gives the loop; otherwise the layer's ``kernels=`` argument, else
        ``RNNKIT_KERNELS``, else the measured size rule decides between numba and torch (see
        :mod:`rnnkit.nn.kernels.dispatch`); after a kernel compile failure it is never numba.
        One exception to the size rule: calls without autograd on a few sequences (LSTM with
        batch x hidden <= 256) run numba, whose per-call cost is lower (serving latency).
        """
        return self._backend(inference_batch=None)

    def _backend(self, inference_batch: int | None) -> str:
        if self.fused is False or (self.recurrent_dropout and self.training):
            return "loop"
        cell = self._cells[0]
        choice = dispatch.requested(self.kernels)
        numba_ok = not cell.layer_norm and cell._standard_activations()
        if choice != "torch" and numba_ok and dispatch.failure() is None:
            kind, hidden = self.kernel_kind, self.hidden_size
            if (
                choice == "numba"
                or dispatch.numba_preferred(kind, hidden)
                or inference_batch is not None
                and dispatch.numba_preferred_for_inference(kind, hidden, inference_batch)
            ):
                return "numba"
        return "torch" if cell.fused_compatible else "loop"

    def reset_parameters(self, init: str | None = None) -> None:
        """Re-initialize all parameters ("keras" or "torch"; default: the constructor's ``init``)."""
        scheme = check_init(init or self.init)
        for cell, binding in zip(self._cells, self._bindings, strict=True):
            params: dict[str, torch.Tensor | None] = {
                name: self._parameters[full] for name, full in binding
            }
            init_gate_weights_(
                params,
                gates=cell.gate_count,
                hidden_size=self.hidden_size,
                scheme=scheme,
                forget_gate=cell.forget_gate,
            )

    def cell(self, layer: int = 0, direction: int = 0) -> _RecurrentCell:
        """The cell of ``layer``/``direction`` bound to this layer's current parameters."""
        index = layer * self.num_directions + direction
        cell = self._cells[index]
        params = self._parameters
        for name, full in self._bindings[index]:
            cell._parameters[name] = params[full]
        cell.training = self.training
        return cell

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if self.bidirectional:
            parts.append(f"bidirectional=True, merge_mode={self.merge_mode!r}")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        cell_repr = self._cells[0].extra_repr().split(", ", 2)
        if len(cell_repr) > 2:
            parts.append(cell_repr[2])
        if self.fused is not None:
            parts.append(f"fused={self.fused}")
        if self.kernels is not None:
            parts.append(f"kernels={self.kernels!r}")
        return ", ".join(parts)

    # -- call ----------------------------------------------------------------------------------
    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        initial_state: Any = None,
        return_state: bool = True,
    ) -> tuple[torch.Tensor, Any]:
        """Run the layer; see the module docstring for shapes. ``lengths`` (B,) int64 or
        ``mask`` (B, T) bool (True = keep, right or left padding); ``initial_state`` as torch.

        ``return_state=False`` returns ``(output, None)``. Say so when only the outputs are
        used (pooling, attention): an LSTM with lengths can then run oneDNN's fused kernel
        straight through the padding, 3-10x faster than packing (see ``_forward_through_padding``).
        """
        check_sequence_input(x, self.input_size)
        weight = self._parameters[self._flat_names[0]]
        assert weight is not None
        if x.dtype != weight.dtype:
            raise ShapeError(
                f"x: dtype {x.dtype} does not match the layer's {weight.dtype}; convert x or "
                f"the layer (e.g. layer.to({x.dtype}))"
            )
        batch_size, max_len = x.shape[:2]
        padding = resolve_padding(batch_size, max_len, lengths, mask)
        hx = self._check_initial_state(initial_state, batch_size, x)
        if max_len == 0:
            return x.new_zeros(batch_size, 0, self.output_size), self._zero_or(hx, x)
        if padding.shift is not None:
            x = rotate_time(x, padding.shift)
        kernels = self._numba_kernels(x)
        if kernels is not None:
            out, state = self._forward_numba(kernels, x, padding.lengths, hx)
        elif self.uses_fused_path:
            out, state = self._forward_fused(x, padding.lengths, hx, return_state)
        else:
            out, state = self._forward_loop(x, padding.lengths, hx)
        if self.bidirectional:
            out = merge_concatenated(out, self.merge_mode)
        if padding.shift is not None:
            out = rotate_time(out, -padding.shift)
        return out, state if return_state else None

    # -- states --------------------------------------------------------------------------------
    def _state_parts(self) -> int:
        return 2 if self.cell_class.has_cell_state else 1

    def _check_initial_state(
        self, initial_state: Any, batch_size: int, x: torch.Tensor
    ) -> tuple[torch.Tensor, ...] | None:
        if initial_state is None:
            return None
        parts = self._state_parts()
        expected = (self.num_layers * self.num_directions, batch_size, self.hidden_size)
        what = "(h0, c0) tuple" if parts == 2 else "tensor h0"
        tensors = initial_state if isinstance(initial_state, (tuple, list)) else (initial_state,)
        if parts == 1 and isinstance(initial_state, (tuple, list)):
            tensors = ("not a tensor",)
        if len(tensors) != parts or not all(isinstance(t, torch.Tensor) for t in tensors):
            raise ShapeError(f"initial_state: expected a {what} of shape {expected}")
        for t in tensors:
            if tuple(t.shape) != expected:
                raise ShapeError(
                    f"initial_state: expected shape (L*D, B, H) = {expected}, got {tuple(t.shape)}"
                )
            if t.dtype != x.dtype:
                raise ShapeError(f"initial_state: dtype {t.dtype} does not match x's {x.dtype}")
        return tuple(t.to(x.device) for t in tensors)

    def _zero_or(self, hx: tuple[torch.Tensor, ...] | None, x: torch.Tensor) -> Any:
        if hx is None:
            shape = (self.num_layers * self.num_directions, x.shape[0], self.hidden_size)
            hx = tuple(x.new_zeros(shape) for _ in range(self._state_parts()))
        return hx if len(hx) == 2 else hx[0]

    # -- numba kernels -------------------------------------------------------------------------
    def _numba_kernels(self, x: torch.Tensor) -> Any:
        """The loaded kernel module when this call should run on numba, else None."""
        if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
            return None
        if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling():
            return None  # exports (ONNX, TorchScript) and torch.compile trace torch's ops
        # Only a speed choice (the kernels do autograd too), so the first weight stands for all.
        weight = self._parameters[self._flat_names[0]]
        needs_grad = torch.is_grad_enabled() and (
            x.requires_grad or weight is None or weight.requires_grad
        )
        if self._backend(None if needs_grad else x.shape[0]) != "numba":
            return None
        return dispatch.kernels_for(self.kernel_kind, x.dtype)

    def _numba_options(self) -> dict[str, Any]:
        return {}

    def _forward_numba(
        self,
        kernels: Any,
        x: torch.Tensor,
        lengths: torch.Tensor | None,
        hx: tuple[torch.Tensor, ...] | None,
    ) -> tuple[torch.Tensor, Any]:
        """All layers through :func:`rnnkit.nn.kernels.autograd.recurrent`: per layer one input
        GEMM for both directions, then the numba kernel (directions and row blocks in parallel)."""
        batch_size, max_len = x.shape[:2]
        directions = self.num_directions
        if lengths is None:
            lengths = torch.full((batch_size,), max_len, dtype=torch.int64)
        options = self._numba_options()
        finals: list[tuple[torch.Tensor, ...]] = []
        layer_input = x
        for layer in range(self.num_layers):
            cells: list[list[torch.Tensor]] = []
            for direction in range(directions):
                weights = self._cell_weights(layer * directions + direction)
                cells.append([p for p in weights if p is not None])
            w_ih = torch.cat([c[0] for c in cells]) if directions == 2 else cells[0][0]
            whh = torch.stack([c[1] for c in cells])
            if self.bias:
                b_ih = torch.cat([c[2] for c in cells]) if directions == 2 else cells[0][2]
                bhh = torch.stack([c[3] for c in cells])
            else:
                b_ih = None
                bhh = x.new_zeros(whh.shape[:2])
            gx = gemm.linear(layer_input, w_ih, b_ih)
            rows = slice(layer * directions, (layer + 1) * directions)
            if hx is None:
                h0 = x.new_zeros(directions, batch_size, self.hidden_size)
                c0 = h0 if self._state_parts() == 2 else None
            else:
                h0 = hx[0][rows]
                c0 = hx[1][rows] if len(hx) == 2 else None
            out, *state = kernels.recurrent(
                self.kernel_kind, gx, whh, bhh, h0, c0, lengths, **options
            )
            finals.append(tuple(state))
            layer_input = out
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        parts = [torch.cat([f[i] for f in finals]) for i in range(len(finals[0]))]
        return layer_input, self._pack_state(parts)

    # -- fused path ----------------------------------------------------------------------------
    def _kernel(self, *args: Any) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def _forward_fused(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None,
        hx: tuple[torch.Tensor, ...] | None,
        return_state: bool = True,
    ) -> tuple[torch.Tensor, Any]:
        params = self._parameters
        weights = [params[name] for name in self._flat_names]
        hx_full = self._zero_or(hx, x)
        hx_tuple = hx_full if isinstance(hx_full, tuple) else (hx_full,)
        if lengths is None:
            out, *state = self._kernel(
                x,
                hx_full,
                weights,
                self.bias,
                self.num_layers,
                self.dropout,
                self.training,
                self.bidirectional,
                True,
            )
            return out, self._pack_state(state)
        # An LSTM's final cell state cannot be read off its outputs, so a caller that wants
        # the state gets the exact head/tail or packed run; ReLU states may overflow in padding.
        cell_state = self._state_parts() == 2
        if not (cell_state and return_state) and getattr(self, "nonlinearity", None) != "relu":
            out, h_n = self._forward_through_padding(x, lengths, hx_tuple)
            return out, None if cell_state else h_n
        shortest, longest = int(lengths.min()), int(lengths.max())
        if shortest > 0 and longest - shortest <= max(2, longest // 8):
            return self._forward_head_tail(x, lengths, hx_tuple, shortest)
        empty = lengths == 0
        has_empty = bool(empty.any())
        # pack_padded_sequence rejects empty sequences: run them for one step, then restore
        # their initial state and zero their outputs below.
        packed = pack_padded_sequence(
            x, lengths.clamp(min=1) if has_empty else lengths, batch_first=True,
            enforce_sorted=False,
        )
        assert packed.sorted_indices is not None and packed.unsorted_indices is not None
        sorted_hx = tuple(h.index_select(1, packed.sorted_indices) for h in hx_tuple)
        data, *state = self._kernel(
            packed.data,
            packed.batch_sizes,
            sorted_hx if len(sorted_hx) == 2 else sorted_hx[0],
            weights,
            self.bias,
            self.num_layers,
            self.dropout,
            self.training,
            self.bidirectional,
        )
        out_packed = PackedSequence(
            data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=x.shape[1])
        state = [s.index_select(1, packed.unsorted_indices) for s in state]
        if has_empty:
            real = (~empty).to(x.device)
            out = out * real[:, None, None].to(out.dtype)
            state = [torch.where(real[None, :, None], s, h) for s, h in zip(state, hx_tuple, strict=True)]
        return out, self._pack_state(state)

    def _cell_weights(self, index: int) -> list[torch.Tensor | None]:
        """The flat parameters of cell ``index`` (= layer * directions + direction)."""
        per_cell = len(self._flat_names) // (self.num_layers * self.num_directions)
        names = self._flat_names[index * per_cell : (index + 1) * per_cell]
        return [self._parameters[name] for name in names]

    def _forward_through_padding(
        self, x: torch.Tensor, lengths: torch.Tensor, hx: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded batches, per layer and direction, with the fused kernel run over the whole
        padded width; the reverse direction reads each sequence's own steps reversed, so that in
        both directions the padding only ever follows the real steps.

        Outputs at real steps are therefore exact; padded outputs are set to zero, and the final
        hidden state is the output at each sequence's last real step (its initial state when it
        is empty). Gradients are exact too: nothing after a sequence's last real step reaches the
        loss. Returns ``(output, h_n)``; an LSTM's final cell state is not available this way.
        The price is the padded cells (few in length-bucketed batches); the gain is staying on
        oneDNN's fused LSTM, which torch leaves for a 5-10x slower kernel once input is packed.
        """
        directions = self.num_directions
        batch_size, steps = x.shape[:2]
        real = (torch.arange(steps, device=x.device)[None, :] < lengths[:, None])[..., None]
        rows = torch.arange(batch_size, device=x.device)
        last = (lengths - 1).clamp(min=0)
        empty = (lengths == 0)[:, None]
        finals: list[torch.Tensor] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                inputs = reverse_padded(layer_input, lengths) if direction else layer_input
                state = tuple(h[index : index + 1] for h in hx)
                out, *_ = self._kernel(
                    inputs.contiguous(), state if len(state) == 2 else state[0],
                    self._cell_weights(index), self.bias, 1, 0.0, self.training, False, True,
                )
                out = torch.where(real, out, out.new_zeros(()))
                finals.append(torch.where(empty, state[0][0], out[rows, last]))
                outputs.append(reverse_padded(out, lengths) if direction else out)
            layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, torch.stack(finals)

    def _forward_head_tail(
        self, x: torch.Tensor, lengths: torch.Tensor, hx: tuple[torch.Tensor, ...], shortest: int
    ) -> tuple[torch.Tensor, Any]:
        """Lengths that differ only a little (length-bucketed batches): per layer and direction,
        the fused kernel runs the first ``shortest`` steps, which every sequence has, on plain
        padded input, and the cell loop runs the few remaining steps with per-sequence masking.

        Exact (same outputs, states and gradients as a packed run), and much faster: torch
        leaves oneDNN's fused LSTM for its slower native kernel as soon as the input is packed.
        """
        directions = self.num_directions
        finals: list[tuple[torch.Tensor, ...]] = []
        tail_lengths = lengths - shortest
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                inputs = reverse_padded(layer_input, lengths) if direction else layer_input
                state = tuple(h[index : index + 1] for h in hx)
                head, *head_state = self._kernel(
                    inputs[:, :shortest].contiguous(),
                    state if len(state) == 2 else state[0],
                    self._cell_weights(index),
                    self.bias, 1, 0.0, self.training, False, True,
                )
                out = head
                carried = tuple(h[0] for h in head_state)
                if inputs.shape[1] > shortest:
                    cell = self.cell(layer, direction)
                    tail, carried_state = scan(
                        cell, cell.project_inputs(inputs[:, shortest:]),
                        carried if len(carried) == 2 else carried[0], tail_lengths, projected=True,
                    )
                    carried = carried_state if isinstance(carried_state, tuple) else (carried_state,)
                    out = torch.cat([head, tail], dim=1)
                outputs.append(reverse_padded(out, lengths) if direction else out)
                finals.append(carried)
            layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        parts = [torch.stack([f[i] for f in finals]) for i in range(len(finals[0]))]
        return layer_input, self._pack_state(parts)

    def _pack_state(self, state: list[torch.Tensor]) -> Any:
        return tuple(state) if len(state) == 2 else state[0]

    # -- cell loop -----------------------------------------------------------------------------
    def _forward_loop(
        self, x: torch.Tensor, lengths: torch.Tensor | None, hx: tuple[torch.Tensor, ...] | None
    ) -> tuple[torch.Tensor, Any]:
        batch_size = x.shape[0]
        directions = self.num_directions
        finals: list[Any] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                cell = self.cell(layer, direction)
                projected = cell.project_inputs(layer_input)
                if direction:
                    projected = reverse_padded(projected, lengths)
                if hx is None:
                    state = cell.initial_state(batch_size, x.dtype, x.device)
                else:
                    state = hx[0][index] if len(hx) == 1 else (hx[0][index], hx[1][index])
                out, state = scan(
                    cell,
                    projected,
                    state,
                    lengths,
                    projected=True,
                    recurrent_mask=cell.make_recurrent_mask(batch_size),
                )
                outputs.append(reverse_padded(out, lengths) if direction else out)
                finals.append(state)
            layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        if self._state_parts() == 2:
            h = torch.stack([s[0] for s in finals])
            c = torch.stack([s[1] for s in finals])
            return layer_input, (h, c)
        return layer_input, torch.stack(finals)


class SimpleRNN(_RecurrentLayer):
    """Elman RNN layer (``torch.nn.RNN``), ``activation`` "tanh" (default) or "relu" (fused), or
    any other activation (cell loop). ``nonlinearity`` is accepted as an alias.

    Example:
        >>> import torch
        >>> rnn = SimpleRNN(4, 3, activation="relu")
        >>> out, h = rnn(torch.randn(2, 5, 4))
        >>> tuple(out.shape), tuple(h.shape), rnn.uses_fused_path
        ((2, 5, 3), (1, 2, 3), True)
    """

    cell_class = RNNCell
    kernel_kind = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        activation: str | Activation | None = "tanh",
        nonlinearity: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            activation=nonlinearity if nonlinearity is not None else activation,
            **options,
        )

    @property
    def nonlinearity(self) -> str | None:
        return self._cells[0].activation_name

    def _numba_options(self) -> dict[str, Any]:
        return {"relu": self._cells[0].activation_name == "relu"}

    def _kernel(self, *args: Any) -> tuple[torch.Tensor, ...]:
        if self._cells[0].activation_name == "relu":
            return _VF.rnn_relu(*args)
        return _VF.rnn_tanh(*args)


class LSTM(_RecurrentLayer):
    """LSTM layer (``torch.nn.LSTM``); state ``(h, c)`` each (L*D, B, H).

    Example:
        >>> import torch
        >>> lstm = LSTM(4, 3, layer_norm=True)
        >>> out, (h, c) = lstm(torch.randn(2, 5, 4))
        >>> lstm.uses_fused_path, tuple(c.shape)
        (False, (1, 2, 3))
    """

    cell_class = LSTMCell
    kernel_kind = "lstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        activation: str | Activation | None = "tanh",
        recurrent_activation: str | Activation | None = "sigmoid",
        **options: Any,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            activation=activation,
            recurrent_activation=recurrent_activation,
            **options,
        )

    def _kernel(self, *args: Any) -> tuple[torch.Tensor, ...]:
        return _VF.lstm(*args)


class GRU(_RecurrentLayer):
    """GRU layer (``torch.nn.GRU``); ``reset_after=False`` gives the Cho et al. / old Keras GRU
    (cell loop only).

    Example:
        >>> import torch
        >>> gru = GRU(4, 3, bidirectional=True, merge_mode="mean")
        >>> out, h = gru(torch.randn(2, 5, 4), mask=torch.tensor([[1, 1, 1, 0, 0]] * 2).bool())
        >>> tuple(out.shape), tuple(h.shape)
        ((2, 5, 3), (2, 2, 3))
    """

    cell_class = GRUCell
    kernel_kind = "gru"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        activation: str | Activation | None = "tanh",
        recurrent_activation: str | Activation | None = "sigmoid",
        reset_after: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            activation=activation,
            recurrent_activation=recurrent_activation,
            reset_after=reset_after,
            **options,
        )

    @property
    def reset_after(self) -> bool:
        cell = self._cells[0]
        assert isinstance(cell, GRUCell)
        return cell.reset_after

    def _numba_options(self) -> dict[str, Any]:
        return {"reset_after": self.reset_after}

    def _kernel(self, *args: Any) -> tuple[torch.Tensor, ...]:
        return _VF.gru(*args)
