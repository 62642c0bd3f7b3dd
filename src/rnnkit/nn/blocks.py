"""Residual blocks around a recurrence: the stack the modern recurrent language models use.

A plain stack feeds each layer the previous layer's output. The recurrences linear in their
state (minGRU, minLSTM, LRU, ...) compute their gates from the input of the step alone, so the
way they are stacked matters more than for an LSTM. Mamba (Gu & Dao 2023), the LRU (Orvieto et
al. 2023) and the minGRU paper's language model (Feng et al. 2024, appendix) all wrap the
recurrence in a pre-norm residual block, and Mamba adds a short causal convolution in front of
it, so that the gates see the last few tokens and not the current one alone. One block reads::

    u_t  = LayerNorm(x_t)
    u'_t = sum_k conv_weight[:, k] * u_{t-K+1+k} + conv_bias     causal, one filter per unit
    y_t  = recurrence(u'_t, h_{t-1})
    x'_t = x_t + dropout(y_t)

and the stack is ``input projection (F -> H) -> L blocks -> LayerNorm``. The residual path lets
gradients skip the recurrences, the normalisation keeps every block's input at unit scale (a
higher learning rate trains), and the convolution gives each gate the last K inputs.

The state of a block is one tensor: its last K - 1 normalised inputs (the convolution's window,
oldest first, H each), then the recurrence's state (S). So a call continued from the state a
previous call returned equals one call over the whole sequence, and generation steps one token
at a time with the same weights (the tests bind both to the whole-sequence call in float64).

Only causal, one-directional, unpadded sequences: this is the stack of a language model. The
cell must keep one state tensor (every registered cell but ``lstm``, whose state is ``(h, c)``).
``cell="ssm"`` works too, though the Mamba layer has its own convolution inside.

Parameter names (``state_dict``): ``input_proj.weight`` (H, F) and ``input_proj.bias`` when
F != H; ``blocks.{k}.norm.weight``/``.bias`` (H,), ``blocks.{k}.conv_weight`` (H, K),
``blocks.{k}.conv_bias`` (H,), ``blocks.{k}.rnn.*`` (the cell layer's own names, e.g.
``weight_ih_l0``), ``final_norm.weight``/``.bias``.

Example:
    >>> import torch
    >>> stack = ResidualBlocks("mingru", 4, 8, num_layers=2)
    >>> x = torch.randn(3, 10, 4)
    >>> y, state = stack(x)
    >>> tuple(y.shape), tuple(state.shape)          # state: 3 conv inputs of 8, then h of 8
    ((3, 10, 8), (2, 3, 32))
    >>> first, s = stack(x[:, :6])
    >>> rest, _ = stack(x[:, 6:], initial_state=s)  # continues exactly
    >>> torch.allclose(torch.cat([first, rest], 1), y, atol=1e-5)
    True
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn.cells import _positive_int, check_probability
from rnnkit.nn.recurrent import check_sequence_input

#: Mamba's convolution width: the gates see the current input and the three before it.
DEFAULT_CONV_KERNEL = 4


def check_block_cell(cell: str, layer: Any = None) -> None:
    """ConfigError unless ``cell`` (or its built ``layer``) keeps one state tensor, what a block
    carries; the ``lstm`` keeps two, ``(h, c)``."""
    from rnnkit.nn.registry import make_layer, state_parts

    if state_parts(layer if layer is not None else make_layer(cell, 1, 1)) != 1:
        raise ConfigError(
            f"cell={cell!r}: residual blocks need a cell with one state tensor, and {cell} keeps "
            "two ((h, c)); use rnn, gru, mingru, minlstm, lru, ssm or mlstm"
        )


class ResidualBlock(nn.Module):
    """One pre-norm residual block: LayerNorm -> causal depthwise conv -> recurrence -> + x.

    ``ResidualBlock(cell, hidden_size, *, conv_kernel=4, dropout=0.0)``; ``conv_kernel=1`` is
    no convolution (a learned scale and shift per unit). ``forward(x (B, T, H), state (B, W) or
    None) -> (x' (B, T, H), state (B, W))`` with W = (conv_kernel - 1) * H + S.
    """

    def __init__(self, cell: str, hidden_size: int, *, conv_kernel: int = DEFAULT_CONV_KERNEL,
                 dropout: float = 0.0) -> None:
        super().__init__()
        from rnnkit.nn.registry import make_layer, state_size

        self.hidden_size = hidden_size
        self.conv_kernel = _positive_int(conv_kernel, "conv_kernel")
        self.dropout = check_probability(dropout, "dropout")
        self.norm = nn.LayerNorm(hidden_size)
        self.rnn = make_layer(cell, hidden_size, hidden_size)
        check_block_cell(cell, self.rnn)
        self.cell_state_size = state_size(self.rnn)
        # Mamba's conv init: uniform in +-1/sqrt(K), as torch's Conv1d with one input per filter.
        bound = 1.0 / math.sqrt(self.conv_kernel)
        self.conv_weight = nn.Parameter(torch.empty(hidden_size, self.conv_kernel).uniform_(-bound,
                                                                                            bound))
        self.conv_bias = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))

    @property
    def window_size(self) -> int:
        """Width of the carried convolution window: (K - 1) * H."""
        return (self.conv_kernel - 1) * self.hidden_size

    @property
    def state_size(self) -> int:
        """W, the width of the block's state: the conv window, then the recurrence's S."""
        return self.window_size + self.cell_state_size

    def forward(self, x: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor,
                                                                            torch.Tensor]:
        batch, steps, hidden = x.shape
        normed = self.norm(x)
        if state is None:
            state = normed.new_zeros(batch, self.state_size)
        window = state[:, :self.window_size].reshape(batch, self.conv_kernel - 1, hidden)
        u = torch.cat([window.to(normed.dtype), normed], dim=1)  # (B, K - 1 + T, H), oldest first
        fused = block_kernels(u)
        if fused is not None:
            mixed = fused.causal_conv(u, self.conv_weight, self.conv_bias)
        else:
            mixed = self.conv_bias + sum(
                self.conv_weight[:, k] * u[:, k:k + steps] for k in range(self.conv_kernel)
            )
        cell_state = state[None, :, self.window_size:].to(mixed.dtype)
        y, h = self.rnn(mixed, initial_state=cell_state)
        if not (self.dropout and self.training):
            out = x + y
        elif fused is not None:
            out = fused.dropout_add(x, y, self.dropout)
        else:
            out = x + nn.functional.dropout(y, self.dropout, training=True)
        new_window = u[:, u.shape[1] - (self.conv_kernel - 1):].reshape(batch, self.window_size)
        return out, torch.cat([new_window.to(h.dtype), h[0]], dim=1)


def block_kernels(u: torch.Tensor) -> Any:
    """The kernel module whose fused convolution and dropout-add a block runs on ``u``, or None
    for torch's ops: off the CPU, other dtypes, inside exports and torch.compile, under
    ``RNNKIT_KERNELS=torch``, or after a kernel compile failure. The fused forms are one pass
    over memory each where torch makes several (benchmarks/results/blocks.md), so there is no
    size rule."""
    from rnnkit.nn.kernels import dispatch

    if not dispatch.kernels_can_run(u) or dispatch.requested(None) == "torch":
        return None
    return dispatch.kernels_for("block", u.dtype)


class ResidualBlocks(nn.Module):
    """``input projection -> num_layers`` :class:`ResidualBlock` ``-> LayerNorm``, causal.

    Args:
        cell: a registered cell name with one state tensor (``mingru``, ``minlstm``, ``lru``,
            ``gru``, ...). input_size: F. hidden_size: H, the width of every block.
        num_layers: L blocks. conv_kernel: K, the causal convolution's width (1 = none).
        dropout: on each block's recurrence output before the residual add (training only).

    ``forward(x (B, T, F), initial_state=None)`` -> ``(y (B, T, H), state (L, B, W))``, W =
    (K - 1) * H + S (:attr:`state_size`); ``initial_state`` is such a state (None = zeros).
    Same call as a :class:`rnnkit.nn.RecurrentLayer` without ``lengths``: a language model's
    stack, fed unpadded windows.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 conv_kernel: int = DEFAULT_CONV_KERNEL, dropout: float = 0.0) -> None:
        super().__init__()
        self.input_size = _positive_int(input_size, "input_size")
        self.hidden_size = _positive_int(hidden_size, "hidden_size")
        self.num_layers = _positive_int(num_layers, "num_layers")
        self.input_proj: nn.Module = (nn.Linear(input_size, hidden_size)
                                      if input_size != hidden_size else nn.Identity())
        self.blocks = nn.ModuleList(
            ResidualBlock(cell, hidden_size, conv_kernel=conv_kernel, dropout=dropout)
            for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(hidden_size)

    @property
    def state_size(self) -> int:
        """W, the width of each block's state."""
        first: ResidualBlock = self.blocks[0]  # type: ignore[assignment]
        return first.state_size

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """The parameters block by block, bottom first (the input projection with the first
        block, the final norm with the last): for discriminative learning rates."""
        groups = [list(block.parameters()) for block in self.blocks]
        groups[0] = [*self.input_proj.parameters(), *groups[0]]
        groups[-1] = [*groups[-1], *self.final_norm.parameters()]
        return groups

    def forward(self, x: torch.Tensor, initial_state: torch.Tensor | None = None,
                **options: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if options:
            raise ConfigError(
                f"{', '.join(options)}: residual blocks run unpadded causal windows only "
                "(a language model's stack); drop it"
            )
        check_sequence_input(x, self.input_size)
        weight = self.final_norm.weight
        if x.dtype != weight.dtype:
            raise ShapeError(f"x: dtype {x.dtype} does not match the blocks' {weight.dtype}; "
                             f"convert x or the blocks (e.g. blocks.to({x.dtype}))")
        expected = (self.num_layers, x.shape[0], self.state_size)
        if initial_state is not None and (not isinstance(initial_state, torch.Tensor)
                                          or tuple(initial_state.shape) != expected):
            raise ShapeError(
                f"initial_state: expected shape {expected} (blocks, batch, conv window + cell "
                f"state), got {_shape_of(initial_state)}"
            )
        hidden = self.input_proj(x)
        states = []
        for k, block in enumerate(self.blocks):
            hidden, state = block(hidden, None if initial_state is None else initial_state[k])
            states.append(state)
        return self.final_norm(hidden), torch.stack(states)


def _shape_of(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__


__all__ = [
    "DEFAULT_CONV_KERNEL", "block_kernels", "check_block_cell", "ResidualBlock", "ResidualBlocks",
]
