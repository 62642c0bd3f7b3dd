"""rnnkit.scratch: recurrent networks in NumPy with hand-written backpropagation through time.

Everything a learner needs to see an RNN work, in files that read in one sitting:

* cells, each with a forward pass that caches what backward needs and a backward pass that mirrors
  it line by line: :class:`RNNLayer` (tanh/relu), :class:`LSTMLayer`, :class:`GRULayer`
  (reset-after and reset-before), batched over (B, T, F) with per-sequence ``lengths``;
* :class:`MinGRULayer`, trained through a parallel scan: :func:`linear_scan` of
  ``h_t = a_t h_{t-1} + b_t`` and its hand-derived backward :func:`linear_scan_backward`;
* :class:`Bidirectional` and :class:`Stacked` wrappers, and :class:`RNN`, :class:`LSTM`,
  :class:`GRU` with the signature, parameter names and state layout of ``torch.nn``;
* :class:`Embedding`, :class:`Dense`, :class:`LastStep`, :class:`ManyToOne`, :class:`ManyToMany`;
* losses (cross-entropy with a mask, BCE from logits, MSE), optimizers (SGD with momentum,
  RMSprop, Adagrad, Adam), clipping by value and by global norm;
* :class:`TruncatedBPTT` and ``stateful=True`` for long streams; :class:`Sequential` with
  ``fit``/``evaluate``/``predict``; finite-difference checks in :mod:`rnnkit.scratch.gradcheck`.

It imports only NumPy -- never torch, never the rest of rnnkit. Weights move to and from PyTorch
through ``state_dict()`` / ``load_state_dict()`` with torch.nn's names and layouts.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import LSTM
    >>> lstm = LSTM(input_size=3, hidden_size=5, dtype=np.float64)
    >>> x = np.random.default_rng(0).normal(size=(2, 4, 3))
    >>> out, (h, c) = lstm(x, lengths=np.array([4, 2]))
    >>> dx, _ = lstm.backward(np.ones_like(out))
    >>> dx.shape, lstm.gradients()["weight_hh_l0"].shape
    ((2, 4, 3), (20, 5))
"""

from __future__ import annotations

from .errors import ScratchError
from .functional import last_step, lengths_to_mask, reverse_padded, sigmoid, softmax
from .gradcheck import numerical_gradient, relative_error
from .gru import GRULayer
from .layers import Dense, Embedding, LastStep, ManyToMany, ManyToOne
from .losses import bce_with_logits, cross_entropy, mse
from .lstm import LSTMLayer
from .mingru import MinGRULayer
from .model import Sequential
from .module import Module
from .optimizers import (
    SGD,
    Adagrad,
    Adam,
    Optimizer,
    RMSprop,
    clip_by_global_norm,
    clip_by_value,
    global_norm,
)
from .recurrent import RecurrentLayer
from .rnn import RNNLayer
from .scan import linear_scan, linear_scan_backward
from .stacked import GRU, LSTM, RNN, Bidirectional, SimpleRNN, Stacked
from .tbptt import TruncatedBPTT

__all__ = [
    "ScratchError",
    "Module",
    "RecurrentLayer",
    "RNNLayer",
    "LSTMLayer",
    "GRULayer",
    "MinGRULayer",
    "linear_scan",
    "linear_scan_backward",
    "Bidirectional",
    "Stacked",
    "RNN",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Embedding",
    "Dense",
    "LastStep",
    "ManyToOne",
    "ManyToMany",
    "cross_entropy",
    "bce_with_logits",
    "mse",
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adam",
    "clip_by_value",
    "clip_by_global_norm",
    "global_norm",
    "TruncatedBPTT",
    "Sequential",
    "numerical_gradient",
    "relative_error",
    "sigmoid",
    "softmax",
    "last_step",
    "lengths_to_mask",
    "reverse_padded",
]
