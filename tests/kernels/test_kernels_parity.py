"""numba kernels vs torch.nn with identical weights: outputs, final states and every gradient.

float64 to 1e-10, float32 to 1e-5; uni/bidirectional, lengths (including a zero length),
stacked layers, initial states; GRU reset_after=False against rnnkit's cell loop.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit import nn as rnn

B, T, F, H = 5, 6, 4, 3

KINDS: dict[str, tuple[type, type, dict[str, Any], dict[str, Any]]] = {
    "rnn_tanh": (rnn.SimpleRNN, nn.RNN, {}, {}),
    "rnn_relu": (rnn.SimpleRNN, nn.RNN, {"activation": "relu"}, {"nonlinearity": "relu"}),
    "gru": (rnn.GRU, nn.GRU, {}, {}),
    "lstm": (rnn.LSTM, nn.LSTM, {}, {}),
}


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RNNKIT_KERNELS", raising=False)


def _pair(kind: str, layers: int, bidirectional: bool, dtype: torch.dtype) -> tuple[Any, Any]:
    ours_cls, torch_cls, ours_kw, torch_kw = KINDS[kind]
    ours = ours_cls(F, H, layers, bidirectional=bidirectional, kernels="numba", dtype=dtype,
                    **ours_kw)
    theirs = torch_cls(F, H, layers, bidirectional=bidirectional, batch_first=True, dtype=dtype,
                       **torch_kw)
    with torch.no_grad():  # random biases too, so every gradient is exercised
        for p in ours.parameters():
            p.uniform_(-0.8, 0.8)
    theirs.load_state_dict(ours.state_dict())
    assert ours.backend == "numba"
    return ours, theirs


def _states(state: Any) -> tuple[torch.Tensor, ...]:
    return tuple(state) if isinstance(state, tuple) else (state,)


def _loss(out: torch.Tensor, state: Any) -> torch.Tensor:
    g = torch.Generator().manual_seed(5)
    total = (out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum()
    for s in _states(state):
        total = total + (s * torch.randn(s.shape, generator=g, dtype=s.dtype)).sum()
    return total


def _torch_run(layer: Any, x: torch.Tensor, lengths: torch.Tensor | None, hx: Any) -> Any:
    if lengths is None:
        return layer(x, hx)
    clamped = lengths.clamp(min=1)  # torch rejects empty sequences: fixed up by the caller
    packed = pack_padded_sequence(x, clamped, batch_first=True, enforce_sorted=False)
    out, state = layer(packed, hx)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, state


def _close(a: torch.Tensor, b: torch.Tensor, tol: float, what: str) -> None:
    assert a.shape == b.shape, what
    err = (a - b).abs().max().item()
    assert err <= tol, f"{what}: {err:.3g} > {tol}"


def _compare(
    kind: str, layers: int, bidirectional: bool, lengths: torch.Tensor | None,
    dtype: torch.dtype, tol: float, initial: bool = False,
) -> None:
    torch.manual_seed(layers * 10 + bidirectional)
    ours, theirs = _pair(kind, layers, bidirectional, dtype)
    x = torch.randn(B, T, F, dtype=dtype)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    hx_a = hx_b = None
    if initial:
        shape = (layers * (2 if bidirectional else 1), B, H)
        parts = [torch.randn(shape, dtype=dtype) for _ in range(2 if kind == "lstm" else 1)]
        hx_a = tuple(p.clone().requires_grad_() for p in parts)
        hx_b = tuple(p.clone().requires_grad_() for p in parts)
    out, state = ours(xa, lengths=lengths,
                      initial_state=None if hx_a is None else (hx_a if kind == "lstm" else hx_a[0]))
    ref_out, ref_state = _torch_run(
        theirs, xb, lengths, None if hx_b is None else (hx_b if kind == "lstm" else hx_b[0])
    )
    _close(out, ref_out, tol, "output")
    for mine, ref in zip(_states(state), _states(ref_state), strict=True):
        _close(mine, ref, tol, "state")
    _loss(out, state).backward()
    _loss(ref_out, ref_state).backward()
    _close(xa.grad, xb.grad, tol, "grad x")
    ref_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, ref_params[name].grad, tol, f"grad {name}")
    if hx_a is not None:
        for a, b in zip(hx_a, hx_b, strict=True):
            _close(a.grad, b.grad, tol, "grad initial state")


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", list(KINDS))
def test_float64_matches_torch(kind: str, layers: int, bidirectional: bool,
                               with_lengths: bool) -> None:
    lengths = torch.tensor([T, 2, 5, 1, 3]) if with_lengths else None
    _compare(kind, layers, bidirectional, lengths, torch.float64, 1e-10)


@pytest.mark.parametrize("kind", list(KINDS))
def test_float32_matches_torch(kind: str) -> None:
    lengths = torch.tensor([T, 2, 5, 4, 3])
    _compare(kind, 2, True, lengths, torch.float32, 1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_initial_state_and_its_gradient(kind: str) -> None:
    _compare(kind, 2, True, torch.tensor([T, 3, 4, 6, 2]), torch.float64, 1e-10, initial=True)


@pytest.mark.parametrize("kind", list(KINDS))
def test_zero_length_sequence_keeps_initial_state(kind: str) -> None:
    cls, _, kw, _ = KINDS[kind]
    layer = cls(F, H, bidirectional=True, kernels="numba", dtype=torch.float64, **kw)
    x = torch.randn(3, T, F, dtype=torch.float64, requires_grad=True)
    out, state = layer(x, lengths=torch.tensor([T, 0, 2]))
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    for s in _states(state):
        assert torch.equal(s[:, 1], torch.zeros_like(s[:, 1]))
    out.sum().backward()
    assert torch.equal(x.grad[1], torch.zeros_like(x.grad[1]))


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_gru_reset_before_matches_the_cell_loop(bidirectional: bool, with_lengths: bool) -> None:
    torch.manual_seed(2)
    ours = rnn.GRU(F, H, 2, bidirectional=bidirectional, reset_after=False, kernels="numba",
                   dtype=torch.float64)
    loop = rnn.GRU(F, H, 2, bidirectional=bidirectional, reset_after=False, fused=False,
                   dtype=torch.float64)
    with torch.no_grad():
        for p in ours.parameters():
            p.uniform_(-0.8, 0.8)
    loop.load_state_dict(ours.state_dict())
    assert (ours.backend, loop.backend) == ("numba", "loop")
    lengths = torch.tensor([T, 2, 5, 1, 3]) if with_lengths else None
    x = torch.randn(B, T, F, dtype=torch.float64)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, h = ours(xa, lengths=lengths)
    ref_out, ref_h = loop(xb, lengths=lengths)
    _close(out, ref_out, 1e-10, "output")
    _close(h, ref_h, 1e-10, "state")
    _loss(out, h).backward()
    _loss(ref_out, ref_h).backward()
    _close(xa.grad, xb.grad, 1e-10, "grad x")
    ref_params = dict(loop.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, ref_params[name].grad, 1e-10, f"grad {name}")


def test_no_bias_and_merge_mode_and_dropout_between_layers() -> None:
    torch.manual_seed(4)
    ours = rnn.LSTM(F, H, 2, bidirectional=True, bias=False, merge_mode="sum", kernels="numba",
                    dtype=torch.float64)
    loop = rnn.LSTM(F, H, 2, bidirectional=True, bias=False, merge_mode="sum", fused=False,
                    dtype=torch.float64)
    loop.load_state_dict(ours.state_dict())
    x = torch.randn(B, T, F, dtype=torch.float64)
    _close(ours(x)[0], loop(x)[0], 1e-10, "no-bias output")
    ours.dropout = loop.dropout = 0.5
    torch.manual_seed(9)
    a = ours(x)[0]
    torch.manual_seed(9)
    b = loop(x)[0]
    _close(a, b, 1e-10, "same dropout mask between layers")
