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
  ``reset_after=False``, which torch cannot fuse; LSTM stays on oneDNN's fused kernel).
  ``kernels="numba"|"torch"`` or the environment variable ``RNNKIT_KERNELS`` forces either;
  ``layer.backend`` says which runs.
- **fused path**: torch's fused kernels (``torch._VF.lstm/gru/rnn_tanh/rnn_relu``) -- for
  ``lengths`` that differ by a few steps, the kernel on the common head plus a cell-loop tail,
  otherwise packed sequences -- when the configuration is standard (no layer norm, tanh/sigmoid
  activations, ReLU or tanh SimpleRNN, GRU ``reset_after=True``, no recurrent dropout *in
  training*).
- **cell loop**: :mod:`rnnkit.nn.cells` driven by :func:`rnnkit.nn.recurrent.scan` for everything.

The choice is automatic (``layer.backend``: "numba", "torch" or "loop"; ``layer.uses_fused_path``
is True when a torch-compatible configuration runs fused, by torch or by the numba kernels) and
can be forced with ``fused=False`` (the cell loop) or ``fused=True`` (raises :class:`ConfigError`
for a configuration torch's kernels cannot run).
Between stacked layers the two directions are concatenated (as in PyTorch) and ``dropout`` applies
in training; ``merge_mode`` applies to the top layer's output only.

AWD-LSTM regularisation (:mod:`rnnkit.nn.regularizers`): ``weight_drop=p`` drops entries of every
``weight_hh`` with one mask per call (DropConnect, applied to the weights before the run, so every
execution above still runs, with the same mask at every step); ``locked_dropout=True`` draws the
``dropout`` between layers once per sequence instead of once per step (the whole-stack ``_VF`` call
is then split per layer). Both act in training only.

How a call runs (the three levels): the layer is a stack of :mod:`rnnkit.nn.cells`, one per
(layer, direction), each reading this layer's parameters (:meth:`cell`). One loop,
``_stack``, walks the layers, feeds each the previous one's output and applies ``dropout``
between them; what runs one layer is supplied by the execution, at the largest unit its kernel
serves in one call, so that no kernel is called more often than its unit requires:

- *one direction of one layer* -- the cell loop (``scan``), torch's kernel through the padding,
  and the head/tail run; ``_each_direction`` turns such a run into a layer run (reversing each
  sequence's real steps for the backward direction, as :class:`rnnkit.nn.Bidirectional`);
- *one layer, all directions* -- the numba kernels: one input GEMM and one kernel call per layer,
  the two directions running in parallel inside the kernel;
- *the whole stack* -- torch's fused ``_VF`` call on unpadded or packed input, which runs every
  layer, both directions and the dropout between layers in one C++ call; splitting it per layer
  would add calls, so it bypasses ``_stack``.

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
    >>> lstm.cell(1, 1).weight_ih is lstm.weight_ih_l1_reverse
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import _VF, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn.bidirectional import check_merge_mode, merge_concatenated
from rnnkit.nn.cells import (
    GRUCell,
    LayerWeights,
    LSTMCell,
    RecurrentCell,
    RNNCell,
    _positive_int,
    check_probability,
)
from rnnkit.nn.init import check_init
from rnnkit.nn.kernels import dispatch, gemm
from rnnkit.nn.masking import resolve_padding, reverse_padded, rotate_time
from rnnkit.nn.recurrent import check_sequence_input, scan
from rnnkit.nn.regularizers import drop_weight, locked_dropout

_FLAT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

#: A state as its parts: ``(h,)``, or ``(h, c)`` for an LSTM.
Parts = tuple[torch.Tensor, ...]
#: Runs one direction of one layer: ``(cell index, inputs (B, T, F) in reading order, state parts
#: each (B, H)) -> (outputs (B, T, H) in reading order, final state parts each (B, H))``.
DirectionRun = Callable[[int, torch.Tensor, Parts], tuple[torch.Tensor, Parts]]
#: Runs one layer, all directions: ``(layer, inputs (B, T, F), state parts each (D, B, H))
#: -> (outputs (B, T, D*H), final state parts each (D, B, H))``.
LayerRun = Callable[[int, torch.Tensor, Parts], tuple[torch.Tensor, Parts]]
_Layer = TypeVar("_Layer", bound="RecurrentLayer")


class RecurrentLayer(nn.Module):
    """Base of the layers: stacked, bidirectional, masked runs of ``cell_class``.

    :class:`SimpleRNN`, :class:`LSTM` and :class:`GRU` set ``cell_class`` (and ``kernel_kind``
    for the fused kernels). A new recurrence subclasses :class:`rnnkit.nn.cells.RecurrentCell`
    and sets it here: it runs on the cell loop (see docs/architecture.md for a worked example).
    """

    cell_class: type[RecurrentCell] = RecurrentCell
    kernel_kind = ""  # "rnn" | "gru" | "lstm": which numba kernels serve this layer
    # A scan layer whose kernel also runs calls with one time step (else the step form runs them)
    single_steps_on_kernels = False

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
        weight_drop: float = 0.0,
        locked_dropout: bool = False,
        **cell_options: Any,
    ) -> None:
        super().__init__()
        # AWD-LSTM (rnnkit.nn.regularizers): DropConnect on weight_hh, one mask per call, and
        # the dropout between layers with one mask per sequence instead of per step.
        self.weight_drop = check_probability(weight_drop, "weight_drop")
        self.locked_dropout = bool(locked_dropout)
        self._dropped_weights: dict[str, torch.Tensor] = {}
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
        # One cell per (layer, direction), in PyTorch's order. The cells hold the equations and
        # options, not the parameters: they read them from this layer (LayerWeights), which
        # registers them under PyTorch's flat names. A plain list, so that the cells are not
        # submodules (their parameters would be listed twice, under other names).
        self._cells: list[RecurrentCell] = []
        self._flat_names: list[
            list[str]
        ] = []  # per cell: its weight/bias names for torch's kernels
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                cell = self.cell_class(
                    layer_input,
                    self.hidden_size,
                    bias=self.bias,
                    layer_norm=self.layer_norm,
                    recurrent_dropout=self.recurrent_dropout,
                    init=self.init,
                    weights_from=LayerWeights(self, suffix),
                    **cell_options,
                )
                self._register_cell_parameters(cell, suffix, dtype, device)
                self._cells.append(cell)
        if fused and not self._cells[0].fused_compatible:
            raise ConfigError(
                "fused: torch's fused kernels cannot run this configuration (layer norm, "
                "non-standard activations or GRU reset_after=False); use fused=None or False"
            )
        if fused and self.recurrent_dropout:
            raise ConfigError("fused: torch's fused kernels cannot apply recurrent_dropout")
        if self.weight_drop and not any(name.startswith("weight_hh") for name in self._parameters):
            raise ConfigError(
                f"weight_drop: {type(self).__name__} has no recurrent weights (weight_hh) to "
                "drop; use dropout instead"
            )
        self.reset_parameters()

    def _register_cell_parameters(
        self,
        cell: RecurrentCell,
        suffix: str,
        dtype: torch.dtype | None,
        device: torch.device | str | None,
    ) -> None:
        """Register ``cell``'s parameters on this layer as ``name + suffix`` (``weight_ih_l0``)."""
        flat_names = []
        for name, shape in cell.parameter_shapes().items():
            if shape is None:
                continue
            tensor = torch.empty(shape, dtype=dtype, device=device)
            self.register_parameter(name + suffix, nn.Parameter(tensor))
            if name in _FLAT_NAMES:
                flat_names.append(name + suffix)
        self._flat_names.append(flat_names)

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
        ``"numba"`` (rnnkit's kernels), ``"torch"`` (torch's fused kernels), ``"loop"``, or
        ``"scan"`` (a cell linear in its state: the parallel scan, see
        :mod:`rnnkit.nn.scan_layers`; calls with one time step run its step form). MinGRU,
        MinLSTM and LRU report ``"numba"`` when their fused kernels run (:mod:`.kernels.minrnn`,
        :mod:`.kernels.lru`: default ``scan="chunked"``, unless ``kernels="torch"``/
        ``RNNKIT_KERNELS=torch``).

        ``fused=False`` always gives the loop; otherwise the layer's ``kernels=`` argument, else
        ``RNNKIT_KERNELS``, else the measured size rule decides between numba and torch (see
        :mod:`rnnkit.nn.kernels.dispatch`); after a kernel compile failure it is never numba.
        One exception to the size rule: calls without autograd on a few sequences (LSTM with
        batch x hidden <= 256) run numba, whose per-call cost is lower (serving latency).
        """
        return self._backend(inference_batch=None)

    def _backend(self, inference_batch: int | None) -> str:
        cell = self._cells[0]
        if cell.has_parallel_scan:
            if self.fused is False:
                return "loop"
            return "numba" if self._scan_kernel_allowed(inference_batch) else "scan"
        if self.fused is False or (self.recurrent_dropout and self.training):
            return "loop"
        choice = dispatch.requested(self.kernels)
        numba_ok = cell.has_fused_kernels and not cell.layer_norm and cell._standard_activations()
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

    def _scan_kernel_allowed(self, inference_batch: int | None) -> bool:
        """A scan cell with a fused kernel (``kernel_kind``: minGRU, minLSTM, LRU, mLSTM) and no
        other scan method asked for (``scan="log"``/``"sequential"`` asks for the torch scan):
        the kernel unless ``kernels="torch"``, a failure, or the size rule."""
        kind = self.kernel_kind
        if not kind or getattr(self._cells[0], "scan", "chunked") != "chunked":
            return False
        choice = dispatch.requested(self.kernels)
        if choice == "torch" or dispatch.failure() is not None:
            return False
        if choice == "numba" or dispatch.numba_preferred(kind, self.hidden_size):
            return True
        return inference_batch is not None and dispatch.numba_preferred_for_inference(
            kind, self.hidden_size, inference_batch
        )

    def reset_parameters(self, init: str | None = None) -> None:
        """Re-initialize all parameters ("keras" or "torch"; default: the constructor's ``init``).
        """
        scheme = check_init(init or self.init)
        for cell in self._cells:
            cell.reset_parameters(scheme)

    def cell(self, layer: int = 0, direction: int = 0) -> RecurrentCell:
        """The cell of ``layer``/``direction``. It owns no parameters: it reads this layer's
        (``cell.weight_ih`` is ``weight_ih_l{layer}``, ``_reverse`` for direction 1) at each
        access, and follows this layer's train/eval mode.
        """
        if not (0 <= layer < self.num_layers and 0 <= direction < self.num_directions):
            raise ConfigError(
                f"cell: no layer {layer}, direction {direction} in a layer with "
                f"num_layers={self.num_layers} and {self.num_directions} direction(s)"
            )
        return self._cells[layer * self.num_directions + direction]

    def train(self: _Layer, mode: bool = True) -> _Layer:
        """Set train/eval mode, for this layer and its cells (which are not submodules)."""
        super().train(mode)
        for cell in self._cells:
            cell.train(mode)
        return self

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if self.bidirectional:
            parts.append(f"bidirectional=True, merge_mode={self.merge_mode!r}")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.locked_dropout:
            parts.append("locked_dropout=True")
        if self.weight_drop:
            parts.append(f"weight_drop={self.weight_drop}")
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
        straight through the padding, 3-10x faster than packing (see ``_padded_direction``).
        """
        check_sequence_input(x, self.input_size)
        weight = next(p for p in self._parameters.values() if p is not None)
        if x.dtype != weight.dtype:
            raise ShapeError(
                f"x: dtype {x.dtype} does not match the layer's {weight.dtype}; convert x or "
                f"the layer (e.g. layer.to({x.dtype}))"
            )
        batch_size, max_len = x.shape[:2]
        padding = resolve_padding(batch_size, max_len, lengths, mask)
        hx = self._check_initial_state(initial_state, batch_size, x)
        if hx is None:
            hx = self._zero_state(x)
        if max_len == 0:
            return x.new_zeros(batch_size, 0, self.output_size), self._state(hx)
        if padding.shift is not None:
            x = rotate_time(x, padding.shift)
        with self._weights_dropped():
            out, state = self._run(x, padding.lengths, hx, return_state)
        if self.bidirectional:
            out = merge_concatenated(out, self.merge_mode)
        if padding.shift is not None:
            out = rotate_time(out, -padding.shift)
        return out, self._state(state) if return_state else None

    def _run(
        self, x: torch.Tensor, lengths: torch.Tensor | None, hx: Parts, return_state: bool
    ) -> tuple[torch.Tensor, Parts]:
        """Choose the execution for this call and run the stack with it."""
        if self._cells[0].has_parallel_scan:
            return self._run_linear(x, lengths, hx)
        kernels = self._numba_kernels(x)
        if kernels is not None:
            if lengths is None:  # the kernels always take lengths
                lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.int64)
            return self._stack(partial(self._numba_layer, kernels, lengths), x, hx)
        if not self.uses_fused_path:
            loop = partial(self._loop_direction, lengths=lengths)
            return self._stack(self._each_direction(loop, lengths), x, hx)
        if lengths is None:
            if self._locked_between_layers():  # one mask per sequence: layer by layer
                return self._stack(self._each_direction(self._fused_direction, None), x, hx)
            return self._fused_stack(x, hx)
        # An LSTM's final cell state cannot be read off its outputs, so a caller that wants
        # the state gets the exact head/tail or packed run; ReLU states may overflow in padding.
        cell_state = len(hx) == 2
        if not (cell_state and return_state) and getattr(self, "nonlinearity", None) != "relu":
            return self._stack(
                self._each_direction(self._through_padding(x, lengths), lengths), x, hx
            )
        shortest, longest = int(lengths.min()), int(lengths.max())
        if shortest > 0 and longest - shortest <= max(2, longest // 8):
            head_tail = partial(self._head_tail_direction, shortest=shortest, lengths=lengths)
            return self._stack(self._each_direction(head_tail, lengths), x, hx)
        if self._locked_between_layers():  # torch's packed stack applies per-step dropout
            loop = partial(self._loop_direction, lengths=lengths)
            return self._stack(self._each_direction(loop, lengths), x, hx)
        return self._packed_stack(x, lengths, hx)

    def _run_linear(
        self, x: torch.Tensor, lengths: torch.Tensor | None, hx: Parts
    ) -> tuple[torch.Tensor, Parts]:
        """A cell linear in its state: the fused kernels (minGRU/minLSTM/LRU/mLSTM) or the
        parallel scan; the step form for ``fused=False`` and for one time step (except on the
        LRU's and mLSTM's kernels, which serve generation steps too:
        ``single_steps_on_kernels``)."""
        several = x.shape[1] > 1
        if self.fused is not False and (several or self.single_steps_on_kernels):
            kernels = self._numba_kernels(x)
            if kernels is not None:
                if lengths is None:
                    lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.int64)
                return self._stack(partial(self._scan_kernel_layer, kernels, lengths), x, hx)
        if self.fused is not False and several:
            scan_run = partial(self._scan_direction, lengths=lengths)
            return self._stack(self._each_direction(scan_run, lengths), x, hx)
        loop = partial(self._loop_direction, lengths=lengths)
        return self._stack(self._each_direction(loop, lengths), x, hx)

    # -- AWD-LSTM regularisation (rnnkit.nn.regularizers) ---------------------------------------
    @contextmanager
    def _weights_dropped(self) -> Iterator[None]:
        """In training with ``weight_drop``: every ``weight_hh`` replaced, for this call, by one
        DropConnect draw of it (inverted: kept entries scaled by 1 / (1 - p)). All executions
        read the weights through :meth:`_weight` or the cells' :class:`LayerWeights`, so the
        fused kernels run the dropped weights and every step of the call uses the same mask.
        Inside :meth:`one_weight_mask` the mask drawn there is kept (no new draw per call)."""
        if not (self.training and self.weight_drop) or self._dropped_weights:
            yield
            return
        self._dropped_weights = {
            name: drop_weight(self._parameters[name], self.weight_drop)  # type: ignore[arg-type]
            for names in self._flat_names
            for name in names
            if name.startswith("weight_hh")
        }
        try:
            yield
        finally:
            self._dropped_weights = {}

    def one_weight_mask(self) -> Any:
        """A context in which every call of the layer uses one ``weight_drop`` mask, drawn on
        entry: a document read window by window (carrying the state) is then one batch for
        DropConnect, as when read whole. Without ``weight_drop`` or in eval mode: nothing."""
        return self._weights_dropped()

    def _weight(self, name: str) -> torch.Tensor | None:
        """The parameter ``name`` as this call uses it (dropped by ``weight_drop`` in training)."""
        dropped = self._dropped_weights.get(name)
        return dropped if dropped is not None else self._parameters[name]

    def _locked_between_layers(self) -> bool:
        return self.locked_dropout and bool(self.dropout) and self.training and self.num_layers > 1

    # -- the loop over layers ------------------------------------------------------------------
    def _stack(self, run_layer: LayerRun, x: torch.Tensor, hx: Parts) -> tuple[torch.Tensor, Parts]:
        """Run the layers bottom-up with ``run_layer``, ``dropout`` between them (in training).

        ``hx``: initial state parts each (L*D, B, H); returns the top layer's output
        (B, T, D*H) and the final state parts each (L*D, B, H).
        """
        directions = self.num_directions
        finals: list[Parts] = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout and self.training:
                if self.locked_dropout:
                    x = locked_dropout(x, self.dropout)
                else:
                    x = F.dropout(x, self.dropout, training=True)
            rows = slice(layer * directions, (layer + 1) * directions)
            x, final = run_layer(layer, x, tuple(h[rows] for h in hx))
            finals.append(final)
        return x, tuple(torch.cat(part) for part in zip(*finals, strict=True))

    def _each_direction(
        self, run_direction: DirectionRun, lengths: torch.Tensor | None
    ) -> LayerRun:
        """A layer run made of one ``run_direction`` per direction. The backward direction reads
        each sequence from its last real step back (padding stays behind the real steps), and
        its outputs are put back in time order before the two are concatenated."""
        directions = self.num_directions

        def run_layer(layer: int, x: torch.Tensor, state: Parts) -> tuple[torch.Tensor, Parts]:
            outputs, finals = [], []
            for direction in range(directions):
                backward = direction == 1
                inputs = reverse_padded(x, lengths) if backward else x
                index = layer * directions + direction
                out, final = run_direction(index, inputs, tuple(s[direction] for s in state))
                outputs.append(reverse_padded(out, lengths) if backward else out)
                finals.append(final)
            out = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
            return out, tuple(torch.stack(part) for part in zip(*finals, strict=True))

        return run_layer

    # -- states --------------------------------------------------------------------------------
    def _state_parts(self) -> int:
        return 2 if self.cell_class.has_cell_state else 1

    def _state(self, parts: Parts) -> Any:
        """The state as callers and torch's kernels take it: h, or ``(h, c)`` for an LSTM."""
        return tuple(parts) if len(parts) == 2 else parts[0]

    @staticmethod
    def _parts(state: Any) -> Parts:
        return state if isinstance(state, tuple) else (state,)

    def _check_initial_state(
        self, initial_state: Any, batch_size: int, x: torch.Tensor
    ) -> Parts | None:
        if initial_state is None:
            return None
        parts = self._state_parts()
        expected = (self.num_layers * self.num_directions, batch_size, self._cells[0].state_size)
        what = "(h0, c0) tuple" if parts == 2 else "tensor h0"
        tensors = initial_state if isinstance(initial_state, (tuple, list)) else (initial_state,)
        if parts == 1 and isinstance(initial_state, (tuple, list)):
            tensors = ("not a tensor",)
        if len(tensors) != parts or not all(isinstance(t, torch.Tensor) for t in tensors):
            raise ShapeError(f"initial_state: expected a {what} of shape {expected}")
        width = "H" if expected[2] == self.hidden_size else "S"  # S: a wider state (LRU, SSM)
        for t in tensors:
            if tuple(t.shape) != expected:
                raise ShapeError(
                    f"initial_state: expected shape (L*D, B, {width}) = {expected}, "
                    f"got {tuple(t.shape)}"
                )
            if t.dtype != x.dtype:
                raise ShapeError(f"initial_state: dtype {t.dtype} does not match x's {x.dtype}")
        return tuple(t.to(x.device) for t in tensors)

    def _zero_state(self, x: torch.Tensor) -> Parts:
        shape = (self.num_layers * self.num_directions, x.shape[0], self._cells[0].state_size)
        return tuple(x.new_zeros(shape) for _ in range(self._state_parts()))

    def _cell_weights(self, index: int) -> list[torch.Tensor | None]:
        """The flat parameters of cell ``index`` (= layer * directions + direction), torch's order.
        """
        return [self._weight(name) for name in self._flat_names[index]]

    # -- one direction: the cell loop ----------------------------------------------------------
    def _loop_direction(
        self, index: int, inputs: torch.Tensor, state: Parts, *, lengths: torch.Tensor | None
    ) -> tuple[torch.Tensor, Parts]:
        """The cell loop: one input projection for all steps, then :func:`scan`."""
        cell = self._cells[index].bound()
        out, final = scan(
            cell,
            cell.project_inputs(inputs),
            self._state(state),
            lengths,
            projected=True,
            recurrent_mask=cell.make_recurrent_mask(inputs.shape[0]),
        )
        return out, self._parts(final)

    # -- one direction: a parallel scan -------------------------------------------------------
    def _scan_direction(
        self, index: int, inputs: torch.Tensor, state: Parts, *, lengths: torch.Tensor | None
    ) -> tuple[torch.Tensor, Parts]:
        """A cell linear in its state (``has_parallel_scan``): one input projection, then its
        parallel form over all steps (:meth:`rnnkit.nn.scan_cells.ScanCell.scan_sequence`)."""
        cell: Any = self._cells[index].bound()
        out, final = cell.scan_sequence(cell.project_inputs(inputs), state[0], lengths)
        return out, (final,)

    def _scan_kernel_layer(
        self, kernels: Any, lengths: torch.Tensor, layer: int, x: torch.Tensor, state: Parts
    ) -> tuple[torch.Tensor, Parts]:
        """One minGRU/minLSTM layer through the fused kernels
        (:func:`rnnkit.nn.kernels.minrnn_autograd.linear_recurrent`): one input GEMM for both
        directions, then one pass over time forward (and one backward) per row block."""
        gx = self._input_projections(layer, x)
        out, h_n = kernels.linear_recurrent(self.kernel_kind, gx, state[0], lengths)
        return out, (h_n,)

    def _input_projections(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """``x W_ih^T + b_ih`` of every direction of ``layer`` in one GEMM: (B, T, D*rows)."""
        directions = self.num_directions
        cells = [
            [p for p in self._cell_weights(layer * directions + direction) if p is not None]
            for direction in range(directions)
        ]
        w_ih = torch.cat([c[0] for c in cells]) if directions == 2 else cells[0][0]
        b_ih = None
        if self.bias:
            b_ih = torch.cat([c[1] for c in cells]) if directions == 2 else cells[0][1]
        return gemm.linear(x, w_ih, b_ih)

    # -- one direction: torch's fused kernel on padded input -----------------------------------
    def _kernel(self, *args: Any) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def _fused_direction(
        self, index: int, inputs: torch.Tensor, state: Parts
    ) -> tuple[torch.Tensor, Parts]:
        """Torch's fused kernel on cell ``index`` alone, over every step of ``inputs``."""
        hx = self._state(tuple(s.unsqueeze(0) for s in state))
        out, *final = self._kernel(
            inputs.contiguous(),
            hx,
            self._cell_weights(index),
            self.bias,
            1,
            0.0,
            self.training,
            False,
            True,
        )
        return out, tuple(f[0] for f in final)

    def _through_padding(self, x: torch.Tensor, lengths: torch.Tensor) -> DirectionRun:
        """A :meth:`_padded_direction` run for right-padded x with ``lengths``."""
        steps = x.shape[1]
        return partial(
            self._padded_direction,
            real=(torch.arange(steps, device=x.device)[None, :] < lengths[:, None])[..., None],
            rows=torch.arange(x.shape[0], device=x.device),
            last=(lengths - 1).clamp(min=0),
            empty=(lengths == 0)[:, None],
        )

    def _padded_direction(
        self,
        index: int,
        inputs: torch.Tensor,
        state: Parts,
        *,
        real: torch.Tensor,
        rows: torch.Tensor,
        last: torch.Tensor,
        empty: torch.Tensor,
    ) -> tuple[torch.Tensor, Parts]:
        """Torch's fused kernel run over the whole padded width (``real`` (B, T, 1) marks the
        real steps; ``last`` (B,) each sequence's last one, ``empty`` (B, 1) the empty ones).

        Padding only ever follows the real steps (the backward direction reads each sequence's
        own steps reversed), so outputs at real steps are exact; padded outputs are set to zero,
        and the final hidden state is the output at each sequence's last real step (its initial
        state when it is empty). Gradients are exact too: nothing after a sequence's last real
        step reaches the loss. Returns ``(output, (h_n,))``: an LSTM's final cell state is not
        available this way. The price is the padded cells (few in length-bucketed batches); the
        gain is staying on oneDNN's fused LSTM, which torch leaves for a 5-10x slower kernel
        once input is packed.
        """
        out, _ = self._fused_direction(index, inputs, state)
        out = torch.where(real, out, out.new_zeros(()))
        return out, (torch.where(empty, state[0], out[rows, last]),)

    def _head_tail_direction(
        self,
        index: int,
        inputs: torch.Tensor,
        state: Parts,
        *,
        shortest: int,
        lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, Parts]:
        """Lengths that differ only a little (length-bucketed batches): torch's fused kernel runs
        the first ``shortest`` steps, which every sequence has, and the cell loop the few
        remaining steps with per-sequence masking.

        Exact (same outputs, states and gradients as a packed run), and much faster: torch
        leaves oneDNN's fused LSTM for its slower native kernel as soon as the input is packed.
        """
        head, carried = self._fused_direction(index, inputs[:, :shortest], state)
        if inputs.shape[1] == shortest:
            return head, carried
        tail_lengths = lengths - shortest
        tail, final = self._loop_direction(
            index, inputs[:, shortest:], carried, lengths=tail_lengths
        )
        return torch.cat([head, tail], dim=1), final

    # -- one layer, all directions: the numba kernels ------------------------------------------
    def _numba_kernels(self, x: torch.Tensor) -> Any:
        """The loaded kernel module when this call should run on numba, else None."""
        if not self.kernel_kind:
            return None
        if not dispatch.kernels_can_run(x):
            return None
        # Only a speed choice (the kernels do autograd too), so the first weight stands for all.
        names = self._flat_names[0]  # empty for cells with their own names (SelectiveSSM)
        weight = self._parameters[names[0]] if names else next(self.parameters(), None)
        needs_grad = torch.is_grad_enabled() and (
            x.requires_grad or weight is None or weight.requires_grad
        )
        if self._backend(None if needs_grad else x.shape[0]) != "numba":
            return None
        return dispatch.kernels_for(self.kernel_kind, x.dtype)

    def _numba_options(self) -> dict[str, Any]:
        return {}

    def _numba_layer(
        self, kernels: Any, lengths: torch.Tensor, layer: int, x: torch.Tensor, state: Parts
    ) -> tuple[torch.Tensor, Parts]:
        """One layer through :func:`rnnkit.nn.kernels.autograd.recurrent`: one input GEMM for
        both directions, then one numba kernel call (directions and row blocks in parallel)."""
        directions = self.num_directions
        first = layer * directions
        cells = [
            [p for p in self._cell_weights(first + direction) if p is not None]
            for direction in range(directions)
        ]
        w_ih = torch.cat([c[0] for c in cells]) if directions == 2 else cells[0][0]
        whh = torch.stack([c[1] for c in cells])
        if self.bias:
            b_ih = torch.cat([c[2] for c in cells]) if directions == 2 else cells[0][2]
            bhh = torch.stack([c[3] for c in cells])
        else:
            b_ih = None
            bhh = x.new_zeros(whh.shape[:2])
        gx = gemm.linear(x, w_ih, b_ih)
        h0, c0 = state[0], state[1] if len(state) == 2 else None
        out, *final = kernels.recurrent(
            self.kernel_kind, gx, whh, bhh, h0, c0, lengths, **self._numba_options()
        )
        return out, tuple(final)

    # -- the whole stack: torch's fused call ---------------------------------------------------
    def _flat_weights(self) -> list[torch.Tensor | None]:
        return [self._weight(name) for names in self._flat_names for name in names]

    def _stack_kernel(self, inputs: tuple[torch.Tensor, ...], hx: Parts) -> list[torch.Tensor]:
        """Torch's fused kernel on every layer and direction, with the dropout between layers:
        ``inputs`` is ``(x,)`` (batch first) or ``(packed data, batch sizes)``."""
        options = (self.bias, self.num_layers, self.dropout, self.training, self.bidirectional)
        batch_first = (True,) if len(inputs) == 1 else ()
        weights = self._flat_weights()
        return list(self._kernel(*inputs, self._state(hx), weights, *options, *batch_first))

    def _fused_stack(self, x: torch.Tensor, hx: Parts) -> tuple[torch.Tensor, Parts]:
        """The whole stack on unpadded input, in one ``_VF`` call."""
        out, *state = self._stack_kernel((x,), hx)
        return out, tuple(state)

    def _packed_stack(
        self, x: torch.Tensor, lengths: torch.Tensor, hx: Parts
    ) -> tuple[torch.Tensor, Parts]:
        """The whole stack on packed sequences, in one ``_VF`` call."""
        empty = lengths == 0
        has_empty = bool(empty.any())
        # pack_padded_sequence rejects empty sequences: run them for one step, then restore
        # their initial state and zero their outputs below.
        packed = pack_padded_sequence(
            x,
            lengths.clamp(min=1) if has_empty else lengths,
            batch_first=True,
            enforce_sorted=False,
        )
        assert packed.sorted_indices is not None and packed.unsorted_indices is not None
        sorted_hx = tuple(h.index_select(1, packed.sorted_indices) for h in hx)
        data, *state = self._stack_kernel((packed.data, packed.batch_sizes), sorted_hx)
        out_packed = PackedSequence(
            data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=x.shape[1])
        state = [s.index_select(1, packed.unsorted_indices) for s in state]
        if has_empty:
            real = (~empty).to(x.device)
            out = out * real[:, None, None].to(out.dtype)
            state = [torch.where(real[None, :, None], s, h) for s, h in zip(state, hx, strict=True)]
        return out, tuple(state)


class SimpleRNN(RecurrentLayer):
    """Elman RNN layer (``torch.nn.RNN``), ``activation`` "tanh" (default) or "relu" (fused), or
    any other activation (cell loop). ``nonlinearity`` is accepted as an alias. The layer's
    keyword options beyond :class:`LSTM`'s common ones go to its cells (:class:`RNNCell`).

    Example:
        >>> import torch
        >>> rnn = SimpleRNN(4, 3, activation="relu")
        >>> out, h = rnn(torch.randn(2, 5, 4))
        >>> tuple(out.shape), tuple(h.shape), rnn.uses_fused_path
        ((2, 5, 3), (1, 2, 3), True)
    """

    cell_class = RNNCell
    kernel_kind = "rnn"

    @property
    def nonlinearity(self) -> str | None:
        return self._cells[0].activation_name

    def _numba_options(self) -> dict[str, Any]:
        return {"relu": self.nonlinearity == "relu"}

    def _kernel(self, *args: Any) -> tuple[torch.Tensor, ...]:
        if self.nonlinearity == "relu":
            return _VF.rnn_relu(*args)
        return _VF.rnn_tanh(*args)


class LSTM(RecurrentLayer):
    """LSTM layer (``torch.nn.LSTM``); state ``(h, c)`` each (L*D, B, H).

    ``LSTM(input_size, hidden_size, num_layers=1, *, bidirectional=False, merge_mode="concat",
    dropout=0.0, recurrent_dropout=0.0, layer_norm=False, bias=True, init="keras", fused=None,
    kernels=None, dtype=None, device=None, weight_drop=0.0, locked_dropout=False,
    activation="tanh", recurrent_activation="sigmoid")``; the options after ``locked_dropout`` go
    to its cells (:class:`LSTMCell`).

    Example:
        >>> import torch
        >>> lstm = LSTM(4, 3, layer_norm=True)
        >>> out, (h, c) = lstm(torch.randn(2, 5, 4))
        >>> lstm.uses_fused_path, tuple(c.shape)
        (False, (1, 2, 3))
    """

    cell_class = LSTMCell
    kernel_kind = "lstm"

    def _kernel(self, *args: Any) -> tuple[torch.Tensor, ...]:
        return _VF.lstm(*args)


class GRU(RecurrentLayer):
    """GRU layer (``torch.nn.GRU``); ``reset_after=False`` gives the Cho et al. / old Keras GRU
    (cell loop only). Options as :class:`LSTM`, plus ``reset_after=True``, for its
    cells (:class:`GRUCell`).

    Example:
        >>> import torch
        >>> gru = GRU(4, 3, bidirectional=True, merge_mode="mean")
        >>> out, h = gru(torch.randn(2, 5, 4), mask=torch.tensor([[1, 1, 1, 0, 0]] * 2).bool())
        >>> tuple(out.shape), tuple(h.shape)
        ((2, 5, 3), (2, 2, 3))
    """

    cell_class = GRUCell
    kernel_kind = "gru"

    @property
    def reset_after(self) -> bool:
        cell = self._cells[0]
        assert isinstance(cell, GRUCell)
        return cell.reset_after

    def _numba_options(self) -> dict[str, Any]:
        return {"reset_after": self.reset_after}

    def _kernel(self, *args: Any) -> tuple[torch.Tensor, ...]:
        return _VF.gru(*args)
