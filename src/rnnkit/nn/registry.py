"""Layers and cells from the names of :mod:`rnnkit.cells`, and what a task reads of their state.

Every task builds its recurrent layers here (``cell="mingru"``), so a name added to
``rnnkit.cells.CELLS`` works in every task. What the tasks assume of a registered layer, and the
tests check for every name:

- it is a :class:`rnnkit.nn.RecurrentLayer` (``(output, state)``, ``lengths``, ``initial_state``,
  ``bidirectional``, ``num_layers``); its ``output`` (B, T, D*H) is what pooling, attention and
  the output layers read -- never the state;
- the state is one tensor (L*D, B, S), or a tuple of such tensors (``(h, c)``: one per state part,
  :func:`state_parts`), all of width S = :func:`state_size`, which may differ from H (a complex
  LRU carries 2N);
- its ``cell_class(input_size, hidden_size)`` builds a standalone cell with its own parameters
  whose call ``cell(x (B, F), state) -> (output (B, H), new state)`` is one step (the Bahdanau
  decoder steps such cells);
- a state that is a memory rather than a vector of units (:func:`state_is_memory`: a Mamba block's
  conv buffer and (E, N) state, an mLSTM's (C, n, m), S = O(H * N) or O(H^2 / heads)) is only
  carried and mapped through H: the translation bridge goes through H and the Bahdanau query is
  the decoder's previous output, never the state (a square map of it would hold S^2 weights).

Example:
    >>> import torch
    >>> layer = make_layer("lru", 3, 4)
    >>> type(layer).__name__, state_size(layer), state_parts(layer), state_is_memory(layer)
    ('LRU', 8, 1, False)
    >>> state_size(make_layer("mlstm", 3, 8)), state_is_memory(make_layer("mlstm", 3, 8))
    (28, True)
    >>> cell_name(make_layer("lstm", 3, 4).cell(0, 0))
    'lstm'
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import rnnkit.nn as nn_package
from rnnkit.cells import CELLS, check_cell
from rnnkit.errors import ConfigError
from rnnkit.nn.cells import RecurrentCell
from rnnkit.nn.layers import RecurrentLayer


def layer_class(cell: str) -> type[RecurrentLayer]:
    """The ``rnnkit.nn`` layer class of a cell name (ConfigError listing the names if unknown)."""
    return getattr(nn_package, CELLS[check_cell(cell)])  # type: ignore[no-any-return]


def make_layer(cell: str, input_size: int, hidden_size: int, **options: Any) -> RecurrentLayer:
    """The layer of ``cell`` with the layer options given (``num_layers``, ``bidirectional``,
    ``dropout``, ``weight_drop``, ...) and cell options such as ``recurrent_activation``; an
    option the cell has no use for is refused with one line naming it."""
    cls = layer_class(cell)
    for option in options:
        if not _takes(cell, option):
            raise ConfigError(
                f"{option}: the {cell} cell does not take it; drop it or use a cell that does "
                f"({', '.join(name for name in CELLS if _takes(name, option))})"
            )
    return cls(input_size, hidden_size, **options)


def cell_name(cell: RecurrentCell) -> str:
    """The registered name of a cell instance's type (``lstm`` for an LSTM layer's cells)."""
    for name in CELLS:
        if type(cell) is layer_class(name).cell_class:
            return name
    raise ConfigError(
        f"cell: {type(cell).__name__} is not a registered cell; use one of {', '.join(CELLS)}"
    )


def state_size(layer: RecurrentLayer) -> int:
    """S, the width of each part of the layer's state (H, or 2N for a complex LRU)."""
    return int(layer.cell(0, 0).state_size)


def state_parts(layer: RecurrentLayer) -> int:
    """How many tensors the state has: 2 for ``(h, c)`` (LSTM), else 1."""
    return 2 if layer.cell_class.has_cell_state else 1


def state_is_memory(layer: RecurrentLayer) -> bool:
    """True when the state is a memory (ssm, mlstm) rather than a vector of units to map square
    or to read as a query (H wide, or 2N for a complex LRU)."""
    return bool(layer.cell_class.state_is_memory)


def step_cell(cell: str, input_size: int, hidden_size: int) -> RecurrentCell:
    """A standalone cell of ``cell`` (own parameters) to step by hand: ``cell(x, state)``."""
    return layer_class(cell).cell_class(input_size, hidden_size)


def _takes(cell: str, option: str) -> bool:
    cls = layer_class(cell)
    return option in _named_arguments(cls.__init__) or option in _named_arguments(
        cls.cell_class.__init__
    )


@cache
def _named_arguments(function: Any) -> frozenset[str]:
    named = inspect.signature(function).parameters
    return frozenset(name for name, p in named.items() if p.kind is not p.VAR_KEYWORD)


__all__ = [
    "cell_name",
    "layer_class",
    "make_layer",
    "state_is_memory",
    "state_parts",
    "state_size",
    "step_cell",
]
