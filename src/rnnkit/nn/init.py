"""Weight initialization for gate-stacked recurrent weights (PyTorch layout).

Two schemes:

- ``"keras"`` (default): input weights glorot-uniform over the Keras-shaped ``(in, G*H)`` kernel,
  i.e. ``U(-a, a)`` with ``a = sqrt(6 / (in + G*H))``; each ``(H, H)`` gate block of the recurrent
  weights orthogonal; biases zero; LSTM forget-gate bias 1 (in ``bias_ih`` only, so the sum of the
  two biases is 1). Note: Keras' ``Orthogonal`` on the whole ``(H, G*H)`` recurrent kernel makes its
  *rows* orthonormal, so its individual gate blocks are not orthogonal; rnnkit makes every gate
  block orthogonal, which is the property the scheme is meant to give each gate's recurrence.
- ``"torch"``: every parameter ``U(-1/sqrt(H), 1/sqrt(H))`` as ``torch.nn.LSTM/GRU/RNN`` do.

Layer-norm gains start at 1 and layer-norm offsets at 0 in both schemes.

Example:
    >>> import torch
    >>> w = torch.empty(4 * 3, 3)
    >>> orthogonal_blocks_(w, gates=4)
    >>> block = w[3:6]
    >>> torch.allclose(block @ block.T, torch.eye(3), atol=1e-5)
    True
"""

from __future__ import annotations

import math

import torch

from rnnkit.errors import ConfigError

INIT_SCHEMES = ("keras", "torch")


def check_init(init: str) -> str:
    """Validate an ``init`` option; raises :class:`ConfigError`."""
    if init not in INIT_SCHEMES:
        raise ConfigError(f"init: unknown scheme {init!r}; use 'keras' or 'torch'")
    return init


@torch.no_grad()
def glorot_uniform_(weight_ih: torch.Tensor) -> None:
    """Glorot-uniform for a ``(G*H, in)`` weight, fans taken from the ``(in, G*H)`` Keras kernel."""
    fan_out, fan_in = weight_ih.shape
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    weight_ih.uniform_(-limit, limit)


@torch.no_grad()
def orthogonal_blocks_(weight_hh: torch.Tensor, gates: int) -> None:
    """Make each ``(H, H)`` gate block of a ``(G*H, H)`` recurrent weight a random orthogonal
    matrix.
    """
    hidden = weight_hh.shape[1]
    for g in range(gates):
        block = torch.empty(hidden, hidden, dtype=torch.float64)
        torch.nn.init.orthogonal_(block)
        weight_hh[g * hidden : (g + 1) * hidden].copy_(block)


@torch.no_grad()
def init_gate_weights_(
    params: dict[str, torch.Tensor | None],
    *,
    gates: int,
    hidden_size: int,
    scheme: str,
    forget_gate: int | None = None,
) -> None:
    """Initialize one cell's parameters in place.

    ``params`` maps ``weight_ih, weight_hh, bias_ih, bias_hh`` (and optional ``layer_norm_*``
    names) to tensors or ``None``. ``forget_gate`` is the index of the LSTM forget gate block.
    """
    check_init(scheme)
    for name, p in params.items():
        if p is None:
            continue
        if name.startswith("layer_norm_"):
            p.fill_(1.0 if name.endswith("weight") else 0.0)
        elif scheme == "torch":
            bound = 1.0 / math.sqrt(hidden_size)
            p.uniform_(-bound, bound)
        elif name == "weight_ih":
            glorot_uniform_(p)
        elif name == "weight_hh":
            orthogonal_blocks_(p, gates)
        else:
            p.zero_()
    bias_ih = params.get("bias_ih")
    if scheme == "keras" and forget_gate is not None and bias_ih is not None:
        bias_ih[forget_gate * hidden_size : (forget_gate + 1) * hidden_size] = 1.0
