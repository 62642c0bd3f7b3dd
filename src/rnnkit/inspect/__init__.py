"""rnnkit.inspect: seeing inside recurrent networks.

- :mod:`rnnkit.inspect.record`: hidden states and gates at every step of an ``rnnkit.nn`` layer;
  dL/dh_t by autograd.
- :mod:`rnnkit.inspect.gradients`: gradient flow ``||dL/dh_t||`` for RNN vs LSTM vs GRU, from the
  nn engine and from the NumPy engine.
- :mod:`rnnkit.inspect.memory`: adding problem, copy task and the memory-length benchmark.
- :mod:`rnnkit.inspect.saliency`: per-token importance (integrated gradients, occlusion) and HTML.
- :mod:`rnnkit.inspect.views` / :mod:`rnnkit.inspect.report`: ``rnnkit inspect`` and
  ``rnnkit report``.
Pictures are drawn by :mod:`rnnkit.viz.inside`.

Example:
    >>> import torch
    >>> from rnnkit.nn import GRU
    >>> from rnnkit.inspect import record_layer
    >>> rec = record_layer(GRU(2, 3), torch.zeros(1, 4, 2))
    >>> rec.states["l0"]["update_gate"].shape
    (1, 4, 3)
"""

from __future__ import annotations

from rnnkit.inspect.gradients import compare_gradient_flow, gradient_flow, gradient_flow_scratch
from rnnkit.inspect.memory import adding_problem, copy_task, memory_benchmark, train_memory_task
from rnnkit.inspect.record import Recording, hidden_state_gradients, record_layer
from rnnkit.inspect.saliency import Explanation, explain_text

__all__ = [
    "Recording",
    "record_layer",
    "hidden_state_gradients",
    "gradient_flow",
    "gradient_flow_scratch",
    "compare_gradient_flow",
    "adding_problem",
    "copy_task",
    "train_memory_task",
    "memory_benchmark",
    "Explanation",
    "explain_text",
]
