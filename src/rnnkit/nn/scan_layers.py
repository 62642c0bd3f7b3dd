"""Layers of the recurrences linear in their state: :class:`MinGRU`, :class:`MinLSTM`, :class:`LRU`.

Same conventions as :class:`rnnkit.nn.LSTM` and :class:`rnnkit.nn.GRU`: batch-first input
(B, T, F), ``(output, h)`` with output (B, T, D*H) (zeros at padded steps) and the final state h
(L*D, B, S) in PyTorch's order, ``lengths``/``mask`` (the final state is each sequence's own last
real step), ``bidirectional``, ``num_layers`` with ``dropout`` between layers, float32/float64.
S is the state width: H for minGRU/minLSTM, 2N for a complex LRU (``[Re | Im]``), N for a real
one.

The executions, same parameters, bound by tests to 1e-10 in float64:

- ``layer.backend == "numba"`` (MinGRU, MinLSTM by default): the fused CPU kernels
  (:mod:`rnnkit.nn.kernels.minrnn`), one pass over time forward and one backward per layer, from
  one input GEMM; ``kernels="torch"`` (or ``RNNKIT_KERNELS=torch``) gives the scan below.
- ``layer.backend == "scan"`` (LRU; MinGRU/MinLSTM with ``kernels="torch"``): each direction
  of each layer computes the coefficients of all steps at once and runs a parallel scan
  (:mod:`rnnkit.nn.scan`). A call with a single time step runs the step form instead.
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

from rnnkit.nn.layers import RecurrentLayer
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


__all__ = ["MinGRU", "MinLSTM", "LRU"]
