"""rnnkit.nn: PyTorch recurrent cells and layers with a fused fast path and a generic cell loop.

Three levels, each usable alone (as in Flax/Keras):

- cells :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell` (one step, explicit equations);
- :class:`Recurrent` (a scan over time for any cell) and :class:`Bidirectional` (a combinator);
- layers :class:`SimpleRNN`, :class:`LSTM`, :class:`GRU` (stacked, bidirectional, masked; torch's
  fused kernels when the configuration allows, the cell loop otherwise).

Recurrences linear in their state, which train with a parallel scan over time
(:mod:`rnnkit.nn.scan`) and generate with their step form: :class:`MinGRU`, :class:`MinLSTM`,
:class:`LRU`, :class:`SelectiveSSM` (a Mamba block; cells :class:`MinGRUCell`,
:class:`MinLSTMCell`, :class:`LRUCell`, :class:`SelectiveSSMCell`), and xLSTM's matrix-memory
:class:`MLSTM` (cell :class:`MLSTMCell`), which trains chunkwise in parallel.

A new recurrence subclasses :class:`RecurrentCell` (its equations) and :class:`RecurrentLayer`
(``cell_class = ...``) and gets all three levels.

Example:
    >>> import torch
    >>> from rnnkit.nn import LSTM, last_step
    >>> x, lengths = torch.randn(3, 7, 4), torch.tensor([7, 3, 5])
    >>> out, (h, c) = LSTM(4, 8)(x, lengths=lengths)
    >>> torch.allclose(last_step(out, lengths), h[-1])
    True
"""

from __future__ import annotations

from rnnkit.nn.attention import AdditiveAttention, DotAttention, GeneralAttention
from rnnkit.nn.bidirectional import Bidirectional
from rnnkit.nn.blocks import ResidualBlocks
from rnnkit.nn.cells import GRUCell, LSTMCell, RecurrentCell, RNNCell
from rnnkit.nn.chrono import chrono_init_
from rnnkit.nn.layers import GRU, LSTM, RecurrentLayer, SimpleRNN
from rnnkit.nn.linear import Linear
from rnnkit.nn.masking import last_step, mask_from_lengths
from rnnkit.nn.mlstm import MLSTM, MLSTMCell
from rnnkit.nn.recurrent import Recurrent
from rnnkit.nn.scan_cells import LRUCell, MinGRUCell, MinLSTMCell, ScanCell
from rnnkit.nn.scan_layers import LRU, MinGRU, MinLSTM
from rnnkit.nn.ssm import SelectiveSSM, SelectiveSSMCell

__all__ = [
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "RecurrentCell",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "RecurrentLayer",
    "MinGRUCell",
    "MinLSTMCell",
    "LRUCell",
    "ScanCell",
    "MinGRU",
    "MinLSTM",
    "LRU",
    "SelectiveSSMCell",
    "SelectiveSSM",
    "MLSTMCell",
    "MLSTM",
    "Recurrent",
    "Bidirectional",
    "Linear",
    "last_step",
    "mask_from_lengths",
    "AdditiveAttention",
    "GeneralAttention",
    "DotAttention",
    "chrono_init_",
    "ResidualBlocks",
]
