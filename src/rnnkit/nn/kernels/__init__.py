"""rnnkit's fused CPU kernels for SimpleRNN, GRU and LSTM (numba), used by the layers' fast path.

Importing this package imports neither numba nor any kernel; the first layer call that needs a
kernel imports numba and compiles it (or loads it from numba's on-disk cache, ``cache=True``).

- :mod:`.activations`: float32 rational tanh (and sigmoid from it) and exp, exact in float64;
- :mod:`.linalg`: the per-step products as vectorizable loops;
- :mod:`.rnn`, :mod:`.gru`, :mod:`.lstm`: forward and hand-derived BPTT backward per cell type;
- :mod:`.minrnn`, :mod:`.lru`, :mod:`.ssm`: the minGRU/minLSTM scans, the LRU's recurrence and
  SelectiveSSM's selective scan, autograd in :mod:`.minrnn_autograd`, :mod:`.lru_autograd`,
  :mod:`.ssm_autograd`;
- :mod:`.autograd`: the ``torch.autograd.Function`` and the thread split over the batch;
- :mod:`.dispatch`: the choice numba / torch (``RNNKIT_KERNELS``, ``kernels=``, size rule) and the
  fallback after a compile failure.

Example:
    >>> import torch
    >>> from rnnkit.nn import GRU
    >>> gru = GRU(4, 8, bidirectional=True, kernels="numba")
    >>> out, h = gru(torch.randn(2, 5, 4), lengths=torch.tensor([5, 3]))
    >>> gru.backend, tuple(out.shape), tuple(h.shape)
    ('numba', (2, 5, 16), (2, 2, 8))
"""

from __future__ import annotations

from rnnkit.nn.kernels.dispatch import ENV_VAR, NUMBA_MAX_HIDDEN, numba_preferred

__all__ = ["ENV_VAR", "NUMBA_MAX_HIDDEN", "numba_preferred"]
