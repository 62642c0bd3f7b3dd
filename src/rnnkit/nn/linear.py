"""``Linear``: ``torch.nn.Linear`` whose large float32 CPU products run on oneDNN's GEMM.

Same parameters, ``state_dict`` and results (to float32 rounding) as ``torch.nn.Linear``; only
the library that multiplies changes (see :mod:`rnnkit.nn.kernels.gemm`: about 2x faster than
torch's MKL call on AMD processors for products of a million multiply-adds and more, such as a
decoder's projection onto a vocabulary). Small products, float64, other devices and
tracing/export use ``torch.nn.functional.linear``.

Example:
    >>> import torch
    >>> from rnnkit.nn import Linear
    >>> layer = Linear(256, 1000)
    >>> reference = torch.nn.Linear(256, 1000)
    >>> reference.load_state_dict(layer.state_dict())
    <All keys matched successfully>
    >>> x = torch.randn(64, 256)
    >>> bool(torch.allclose(layer(x), reference(x), atol=1e-4))
    True
"""

from __future__ import annotations

import torch
from torch import nn

from rnnkit.nn.kernels import gemm


class Linear(nn.Linear):
    """Drop-in ``torch.nn.Linear`` (x (..., in_features) -> (..., out_features))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gemm.linear(x, self.weight, self.bias)
