"""Layers of the recurrences linear in their state: :class:`MinGRU`, :class:`MinLSTM`, :class:`LRU`.

Same conventions as :class:`rnnkit.nn.LSTM` and :class:`rnnkit.nn.GRU`: batch-first input
(B, T, F), ``(output, h)`` with output (B, T, D*H) (zeros at padded steps) and the final state h
(L*D, B, S) in PyTorch's order, ``lengths``/``mask`` (the final state is each sequence's own last
real step), ``bidirectional``, ``num_layers`` with ``dropout`` between layers, float32/float64.
S is the state width: H for minGRU/minLSTM, 2N for a complex LRU (``[Re | Im]``), N for a real
one.

The executions, same parameters, bound by tests to 1e-10 in float64:

- ``layer.backend == "numba"`` (the default): the fused CPU kernels
  (:mod:`rnnkit.nn.kernels.minrnn`, :mod:`rnnkit.nn.kernels.lru`), one pass over time forward
  and one backward per layer, from one input GEMM (the LRU's readout ``Re(C x) + D u`` stays
  GEMMs in torch); ``kernels="torch"`` (or ``RNNKIT_KERNELS=torch``) gives the scan below. The
  LRU's kernel also runs calls with one time step (generation); MinGRU/MinLSTM run those in the
  step form.
- ``layer.backend == "scan"`` (``kernels="torch"``, or an explicit ``scan="log"``/
  ``"sequential"``): each direction of each layer computes the coefficients of all steps at once
  and runs a parallel scan (:mod:`rnnkit.nn.scan`). A call with a single time step runs the step
  form instead.
- ``fused=False``: ``backend == "loop"``, the cells' step form driven step by step, as for
  every other cell (what generation and streaming use: constant memory per step).

Parameter names (``state_dict``): minGRU ``weight_ih_l{k}`` (2H, F), ``bias_ih_l{k}`` (2H,);
minLSTM ``weight_ih_l{k}`` (3H, F), ``bias_ih_l{k}`` (3H,); LRU ``nu_log_l{k}``,
``theta_log_l{k}``, ``gamma_log_l{k}`` (N,), ``B_re_l{k}``, ``B_im_l{k}`` (N, F),
``C_re_l{k}``, ``C_im_l{k}`` (H, N), ``D_l{k}`` (H, F); ``_reverse`` appended for the backward
direction. Equations: :mod:`rnnkit.nn.scan_cells`.

Example:
    >>> import torch
    >>> layer = MinGRU(4, 8, num_layers=2, bidirectional=True)
    >>> out, h = layer(torch.randn(3, 10, 4), lengths=torch.tensor([10, 6, 0]))
    >>> tuple(out.shape), tuple(h.shape), layer.backend
    ((3, 10, 16), (4, 3, 8), 'numba')
    >>> list(MinGRU(4, 8).state_dict())
    ['weight_ih_l0', 'bias_ih_l0']
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

import torch

from rnnkit.nn.kernels import gemm
from rnnkit.nn.layers import Parts, RecurrentLayer
from rnnkit.nn.masking import mask_from_lengths
from rnnkit.nn.scan_cells import LRUCell, MinGRUCell, MinLSTMCell


class MinGRU(RecurrentLayer):
    """minGRU layer (Feng et al. 2024): ``h' = (1 - z) h + z h̃`` with z and h̃ from x alone.

    ``MinGRU(input_size, hidden_size, num_layers=1, *, bidirectional=False, merge_mode="concat",
    dropout=0.0, bias=True, init="keras", fused=None, scan="chunked", dtype=None, device=None)``.
    ``scan="log"`` runs the paper's log-space scan instead of the chunked one (slower on the CPU,
    see docs/nn.md). State h (L*D, B, H).

    Example:
        >>> import torch
        >>> layer = MinGRU(4, 3)
        >>> out, h = layer(torch.randn(2, 5, 4))
        >>> torch.equal(out[:, -1], h[0])
        True
    """

    cell_class = MinGRUCell
    kernel_kind = "mingru"


class MinLSTM(RecurrentLayer):
    """minLSTM layer (Feng et al. 2024): ``h' = f' h + i' h̃`` with normalized gates from x alone.

    Options as :class:`MinGRU`. State h (L*D, B, H) (minLSTM has no separate cell state).

    Example:
        >>> import torch
        >>> layer = MinLSTM(4, 3, dtype=torch.float64)
        >>> x = torch.randn(2, 5, 4, dtype=torch.float64)
        >>> scanned, _ = layer(x)
        >>> layer.fused = False                          # the step form, step by step
        >>> stepped, _ = layer(x)
        >>> torch.allclose(scanned, stepped, rtol=0, atol=1e-12)
        True
    """

    cell_class = MinLSTMCell
    kernel_kind = "minlstm"


class LRU(RecurrentLayer):
    """Linear Recurrent Unit layer (Orvieto et al. 2023): ``x' = λ x + γ B u``,
    ``y = Re(C x') + D u`` with a diagonal complex (or real) λ.

    ``LRU(input_size, hidden_size, num_layers=1, *, bidirectional=False, dropout=0.0,
    state_size=None, complex=True, r_min=0.0, r_max=1.0, max_phase=2π, fused=None,
    scan="chunked", dtype=None, device=None)``. ``state_size`` N (default H) complex units; the
    state is real: (L*D, B, 2N) holding ``[Re x | Im x]``, or (L*D, B, N) with
    ``complex=False``. For long memory the paper starts |λ| near 1 (e.g. ``r_min=0.9,
    r_max=0.999, max_phase=π/10``).

    Example:
        >>> import torch
        >>> lru = LRU(4, 6, state_size=8)
        >>> out, h = lru(torch.randn(2, 5, 4))
        >>> tuple(out.shape), tuple(h.shape)
        ((2, 5, 6), (1, 2, 16))
    """

    cell_class = LRUCell
    kernel_kind = "lru"
    single_steps_on_kernels = True

    def _scan_kernel_layer(
        self, kernels: Any, lengths: torch.Tensor, layer: int, x: torch.Tensor, state: Parts
    ) -> tuple[torch.Tensor, Parts]:
        """One layer (all directions) through :func:`rnnkit.nn.kernels.lru_autograd.
        lru_recurrence`: one GEMM for ``γ B u`` of both directions, the recurrence in numba,
        then per direction ``y = [C_re | -C_im] x + D u`` (GEMMs, D u from one more)."""
        weights = self._kernel_weights(layer)
        bu = gemm.linear(x, weights.state_input)
        states, h_n = kernels.lru_recurrence(
            bu, weights.decay_re, weights.decay_im, state[0], lengths
        )
        du = gemm.linear(x, weights.skip)
        out = _read_out(states, du, weights.readouts)
        steps = x.shape[1]
        if lengths.numel() and int(lengths.min()) < steps:
            real = mask_from_lengths(lengths.to(out.device), steps)[..., None]
            out = torch.where(real, out, out.new_zeros(()))
        return out, (h_n,)

    def _kernel_weights(self, layer: int) -> _KernelWeights:
        """The matrices and decays of ``layer``'s directions for the kernel path. Calls without
        autograd (generation: one call per token) reuse them while no parameter changed (same
        storage, dtype and version counter: an optimizer step, ``load_state_dict`` or ``.to``
        all change one), which saves ~20 small torch ops per call."""
        if torch.is_grad_enabled():
            return self._derive_kernel_weights(layer)
        key = tuple((p.data_ptr(), p.dtype, p._version) for p in self.parameters())
        cache = _KERNEL_WEIGHTS.setdefault(self, {})
        cached = cache.get(layer)
        if cached is None or cached[0] != key:
            cached = (key, self._derive_kernel_weights(layer))
            cache[layer] = cached
        return cached[1]

    def _derive_kernel_weights(self, layer: int) -> _KernelWeights:
        cells: list[Any] = [
            self.cell(layer, direction).bound() for direction in range(self.num_directions)
        ]
        decays = [cell.decay() for cell in cells]
        return _KernelWeights(
            state_input=torch.cat([cell.state_input_weight() for cell in cells]),
            decay_re=torch.stack([re for re, _ in decays]),
            decay_im=torch.stack([im for _, im in decays]) if cells[0].complex else None,
            skip=torch.cat([cell.D for cell in cells]),
            readouts=[cell.readout_weight() for cell in cells],
        )


class _KernelWeights(NamedTuple):
    """One LRU layer's parameters as the kernel path uses them (D directions)."""

    state_input: torch.Tensor  # γ B, (D*S, F)
    decay_re: torch.Tensor  # Re λ, (D, N)
    decay_im: torch.Tensor | None  # Im λ, (D, N); None for a real LRU
    skip: torch.Tensor  # D, (D*H, F)
    readouts: list[torch.Tensor]  # [C_re | -C_im] per direction, (H, S)


# Per LRU layer: {layer index: (parameter key, weights)}, for calls without autograd. Weakly
# keyed, so that the cache neither keeps a layer alive nor travels with it (pickle, deepcopy).
_KERNEL_WEIGHTS: weakref.WeakKeyDictionary[LRU, dict[int, tuple[Any, _KernelWeights]]] = (
    weakref.WeakKeyDictionary()
)


def _read_out(states: torch.Tensor, du: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
    """``y_d = W_d x_d + (D u)_d`` per direction d: states (B, T, D*S), du (B, T, D*H), weights
    D x (H, S) -> (B, T, D*H), one addmm per direction on strided views (no copies; no slices
    at all for one direction, whose backward would allocate and fill a full-size gradient)."""
    batch, steps, outputs = du.shape
    flat_states = states.reshape(batch * steps, states.shape[2])
    flat_du = du.reshape(batch * steps, outputs)
    if len(weights) == 1:
        return torch.addmm(flat_du, flat_states, weights[0].t()).view(batch, steps, outputs)
    width, hidden = weights[0].shape[1], weights[0].shape[0]
    parts = [
        torch.addmm(
            flat_du[:, d * hidden : (d + 1) * hidden],
            flat_states[:, d * width : (d + 1) * width],
            weight.t(),
        )
        for d, weight in enumerate(weights)
    ]
    return torch.cat(parts, dim=1).view(batch, steps, outputs)


__all__ = ["MinGRU", "MinLSTM", "LRU"]
