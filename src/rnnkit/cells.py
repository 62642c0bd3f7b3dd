"""The recurrent cells by name: the one table behind every task's ``cell=`` and ``--cell``.

Each name maps to the ``rnnkit.nn`` layer class that runs it. The estimators' option checks,
the command line's ``--cell`` help, ``rnnkit memory`` and the inside views all read this table;
:func:`rnnkit.nn.registry.make_layer` builds a layer from a name. Adding a recurrence to every
task is one line here (its layer must be exported by ``rnnkit.nn``; see docs/architecture.md,
"Where a new cell goes").

Imports nothing heavy (the command line reads it before torch is loaded), as
:mod:`rnnkit.charsets`.

An unknown name is one line listing the names (``cell: 'transformer' is unknown; use one of
rnn, lstm, gru, ...``).

Example:
    >>> CELL_NAMES[:3], CELLS["mingru"]
    (('rnn', 'lstm', 'gru'), 'MinGRU')
    >>> check_cell("lstm")
    'lstm'
"""

from __future__ import annotations

from typing import Any

from rnnkit.errors import ConfigError

#: Cell name -> the ``rnnkit.nn`` layer class (by its name in ``rnnkit.nn.__all__``).
CELLS: dict[str, str] = {
    "rnn": "SimpleRNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "mingru": "MinGRU",
    "minlstm": "MinLSTM",
    "lru": "LRU",
    "ssm": "SelectiveSSM",
    "mlstm": "MLSTM",
}
#: The cell names in the order the help and error messages list them.
CELL_NAMES: tuple[str, ...] = tuple(CELLS)
#: The cells whose classifiers ``rnnkit export`` writes to ONNX/TorchScript. A scan cell's
#: parallel scan traces to a graph of the example's length only (and an LRU's complex numbers
#: have no ONNX operator), so export refuses the others.
EXPORTABLE: tuple[str, ...] = ("rnn", "lstm", "gru")


def check_cell(cell: Any, option: str = "cell") -> str:
    """``cell`` when it is a registered name; else a one-line ConfigError listing the names,
    headed by ``option`` (``cell``, ``--cells``, ...)."""
    if not isinstance(cell, str) or cell not in CELLS:
        raise ConfigError(f"{option}: {cell!r} is unknown; use one of {', '.join(CELL_NAMES)}")
    return cell


def cells_listed(last: str = "or") -> str:
    """The names as prose: ``rnn, lstm, gru, mingru, minlstm, lru, ssm or mlstm``."""
    *head, tail = CELL_NAMES
    return f"{', '.join(head)} {last} {tail}" if head else tail


__all__ = ["CELLS", "CELL_NAMES", "EXPORTABLE", "check_cell", "cells_listed"]
