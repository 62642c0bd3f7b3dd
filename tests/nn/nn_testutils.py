"""Shared helpers for the rnnkit.nn tests: layer pairs, torch reference runs, comparisons."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit import nn as rnn

B, T, F, H = 3, 5, 4, 3
TOL = 1e-10

# name -> (rnnkit class, torch class, rnnkit kwargs, torch kwargs)
KINDS: dict[str, tuple[type, type, dict[str, Any], dict[str, Any]]] = {
    "rnn_tanh": (rnn.SimpleRNN, nn.RNN, {}, {}),
    "rnn_relu": (rnn.SimpleRNN, nn.RNN, {"activation": "relu"}, {"nonlinearity": "relu"}),
    "lstm": (rnn.LSTM, nn.LSTM, {}, {}),
    "gru": (rnn.GRU, nn.GRU, {}, {}),
}


def make_pair(
    kind: str, num_layers: int = 1, bidirectional: bool = False, **options: Any
) -> tuple[nn.Module, nn.Module]:
    """An rnnkit layer and a torch layer (float64) holding identical weights."""
    ours_cls, torch_cls, ours_kw, torch_kw = KINDS[kind]
    ours = ours_cls(
        F, H, num_layers, bidirectional=bidirectional, dtype=torch.float64, **ours_kw, **options
    )
    theirs = torch_cls(
        F, H, num_layers, bidirectional=bidirectional, batch_first=True, dtype=torch.float64,
        **torch_kw,
    )
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def as_tuple(state: Any) -> tuple[torch.Tensor, ...]:
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def run_torch(
    layer: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None, hx: Any = None
) -> tuple[torch.Tensor, Any]:
    """torch.nn reference; with lengths it runs a packed sequence (enforce_sorted=False)."""
    if lengths is None:
        return layer(x, hx)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, state = layer(packed, hx)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, state


def weighted_loss(out: torch.Tensor, state: Any, seed: int = 7) -> torch.Tensor:
    """A scalar that depends on every output and state entry with distinct random weights."""
    generator = torch.Generator().manual_seed(seed)
    total = (out * torch.randn(out.shape, generator=generator, dtype=out.dtype)).sum()
    for s in as_tuple(state):
        total = total + (s * torch.randn(s.shape, generator=generator, dtype=s.dtype)).sum()
    return total


def assert_close(a: torch.Tensor, b: torch.Tensor, what: str, tol: float = TOL) -> None:
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    err = (a - b).abs().max().item() if a.numel() else 0.0
    assert err <= tol, f"{what}: max abs difference {err:.3g} > {tol}"
