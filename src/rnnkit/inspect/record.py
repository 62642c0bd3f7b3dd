"""Record hidden states and gates at every time step of an ``rnnkit.nn`` recurrent layer.

:func:`record_layer` runs the layer's own weights through the cell loop (the ``fused=False``
execution: the same equations as the fused kernels, parity-tested in ``tests/nn``) and keeps, for
every (layer, direction), arrays shaped (B, T, H):

- all cells: ``hidden`` (h_t);
- LSTM: ``input_gate``, ``forget_gate``, ``output_gate`` (after the sigmoid), ``candidate`` (g_t),
  ``cell`` (c_t);
- GRU: ``reset_gate``, ``update_gate`` (after the sigmoid), ``candidate`` (n_t).

The gates are the cells' own (``cell.step_with_gates``): recording computes no equation itself.

Padded steps hold zeros. The fast path is untouched: recording is a separate, slower loop used only
when you ask for it. Keys are ``"l0"``, ``"l0_reverse"``, ``"l1"``... like the parameter suffixes.

:func:`hidden_state_gradients` returns dL/dh_t for every step (B, T, H) of one direction layer:
the total gradient reaching each hidden state through the output and through the recurrence,
the same quantity as ``rnnkit.scratch``'s ``hidden_grads``.

Example:
    >>> import torch
    >>> from rnnkit.nn import LSTM
    >>> rec = record_layer(LSTM(3, 4), torch.randn(2, 5, 3))
    >>> sorted(rec.states["l0"]), rec.states["l0"]["forget_gate"].shape
    (['candidate', 'cell', 'forget_gate', 'hidden', 'input_gate', 'output_gate'], (2, 5, 4))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import ConfigError
from rnnkit.nn.masking import mask_from_lengths, resolve_padding, reverse_padded, rotate_time
from rnnkit.nn.recurrent import check_sequence_input
from rnnkit.nn.registry import cell_name

#: Which arrays the classic cells record; any other cell records ``hidden`` (its output), then
#: the gates its ``step_with_gates`` names (a minGRU: ``update_gate``, ``candidate``).
RECORDED = {
    "rnn": ("hidden",),
    "lstm": ("hidden", "cell", "input_gate", "forget_gate", "output_gate", "candidate"),
    "gru": ("hidden", "reset_gate", "update_gate", "candidate"),
}


@dataclass
class Recording:
    """What :func:`record_layer` returns.

    ``states[key][name]``: NumPy (B, T, H) per direction layer ``key`` ("l0", "l0_reverse", ...).
    ``output``: the layer's output (B, T, D*H) as a tensor, equal to ``layer(x, lengths)[0]``.
    ``hidden_tensors[key]``: the T hidden-state tensors h_t (B, H) as used by the loop (for
    autograd).
    """

    cell_type: str
    states: dict[str, dict[str, np.ndarray]]
    output: Tensor
    hidden_tensors: dict[str, list[Tensor]] = field(default_factory=dict)


def cell_type(cell: Any) -> str:
    """The registered name of an rnnkit cell (``lstm``, ``mingru``, ...; :mod:`rnnkit.cells`)."""
    try:
        return cell_name(cell)
    except ConfigError:
        raise ConfigError(
            f"layer: cannot record a {type(cell).__name__}; use a layer of a registered cell "
            "(rnnkit.cells)"
        ) from None


def _recorded_step(cell: Any, xp: Tensor, state: Any) -> tuple[Any, dict[str, Tensor]]:
    """One step of ``cell`` (no recurrent dropout): the new state and the values it records,
    ``hidden`` and the cell's own gates (:meth:`rnnkit.nn.LSTMCell.step_with_gates`), plus
    ``cell`` for an LSTM."""
    h_new, new_state, gates = cell.step_with_gates(xp, state)
    values = {"hidden": h_new, **gates}
    if isinstance(new_state, tuple):
        values["cell"] = new_state[1]
    return new_state, values


def record_layer(
    layer: Any,
    x: Tensor,
    lengths: Tensor | None = None,
    mask: Tensor | None = None,
    *,
    keep_graph: bool = False,
) -> Recording:
    """Run ``layer`` (an rnnkit.nn layer of a registered cell) on x (B, T, F) and record every
    step with its cell's step form.

    ``keep_graph=True`` keeps autograd (needed for :func:`hidden_state_gradients`); otherwise
    the run is under ``torch.no_grad()``. Dropout is not applied (the layer is read as in eval).
    """
    if not hasattr(layer, "cell") or not hasattr(layer, "num_layers"):
        raise ConfigError(
            f"layer: expected an rnnkit.nn recurrent layer, got {type(layer).__name__}"
        )
    check_sequence_input(x, layer.input_size)
    kind = cell_type(layer.cell(0, 0))
    batch, steps = x.shape[:2]
    padding = resolve_padding(batch, steps, lengths, mask)
    if padding.shift is not None:
        x = rotate_time(x, padding.shift)
    lens = padding.lengths
    keeps = None if lens is None else mask_from_lengths(lens, steps)
    states: dict[str, dict[str, np.ndarray]] = {}
    hidden_tensors: dict[str, list[Tensor]] = {}
    context = torch.enable_grad() if keep_graph else torch.no_grad()
    with context:
        layer_input = x
        for index in range(layer.num_layers):
            outputs = []
            for direction in range(layer.num_directions):
                cell = layer.cell(index, direction)
                key = f"l{index}" + ("_reverse" if direction else "")
                projected = cell.project_inputs(layer_input)
                if direction:
                    projected = reverse_padded(projected, lens)
                state = cell.initial_state(batch, x.dtype, x.device)
                traces: dict[str, list[Tensor]] = {name: [] for name in RECORDED.get(kind, ())}
                hs: list[Tensor] = []
                for t, xp_t in enumerate(projected.unbind(1)):
                    new_state, gates = _recorded_step(cell, xp_t, state)
                    if keeps is not None:
                        keep = keeps[:, t].view(-1, 1)
                        if isinstance(new_state, tuple):
                            new_state = tuple(torch.where(keep, n, o)
                                              for n, o in zip(new_state, state, strict=True))
                        else:
                            new_state = torch.where(keep, new_state, state)
                        gates = {k: torch.where(keep, v, torch.zeros_like(v))
                                 for k, v in gates.items()}
                    if not traces:  # a cell beyond RECORDED: what its step names
                        traces = {name: [] for name in gates}
                    for name in traces:
                        traces[name].append(gates[name])
                    hs.append(new_state[0] if isinstance(new_state, tuple) else new_state)
                    state = new_state
                stacked = {name: torch.stack(v, dim=1) for name, v in traces.items()}
                out = stacked["hidden"]
                if direction:
                    stacked = {name: reverse_padded(v, lens) for name, v in stacked.items()}
                    out = stacked["hidden"]
                    hs = _reverse_list(hs, lens)
                states[key] = {name: _numpy(v, padding.shift) for name, v in stacked.items()}
                hidden_tensors[key] = hs
                outputs.append(out)
            layer_input = torch.cat(outputs, dim=-1) if len(outputs) == 2 else outputs[0]
        output = layer_input
        if layer.bidirectional and layer.merge_mode != "concat":
            from rnnkit.nn.bidirectional import merge_concatenated

            output = merge_concatenated(output, layer.merge_mode)
        if padding.shift is not None:
            output = rotate_time(output, -padding.shift)
    return Recording(kind, states, output, hidden_tensors)


def _reverse_list(hs: list[Tensor], lengths: Tensor | None) -> list[Tensor]:
    # Only exact for equal lengths; reverse-direction gradients with padding are not supported.
    return hs[::-1] if lengths is None or bool((lengths == len(hs)).all()) else hs


def _numpy(v: Tensor, shift: Tensor | None) -> np.ndarray:
    if shift is not None:
        v = rotate_time(v, -shift)
    return v.detach().cpu().numpy()


def hidden_state_gradients(
    layer: Any,
    x: Tensor,
    loss_fn: Callable[[Tensor], Tensor],
    key: str = "l0",
) -> np.ndarray:
    """dL/dh_t (B, T, H) for every step of direction layer ``key``, with ``L = loss_fn(output)``.

    ``output`` is the layer's output (B, T, D*H) from :func:`record_layer` (no padding).
    """
    rec = record_layer(layer, x, keep_graph=True)
    if key not in rec.hidden_tensors:
        raise ConfigError(f"key: {key!r} is not one of {', '.join(rec.hidden_tensors)}")
    loss = loss_fn(rec.output)
    hs = rec.hidden_tensors[key]
    raw = torch.autograd.grad(loss, hs, allow_unused=True)
    grads = [torch.zeros_like(h) if g is None else g for g, h in zip(raw, hs, strict=True)]
    return torch.stack(grads, dim=1).detach().cpu().numpy()
