"""rnnkit.nn layers vs torch.nn.RNN/LSTM/GRU with the same weights: outputs, states, gradients."""

from __future__ import annotations

import pytest
import torch
from nn_testutils import (
    KINDS,
    B,
    F,
    H,
    T,
    as_tuple,
    assert_close,
    make_pair,
    run_torch,
    weighted_loss,
)

from rnnkit import nn as rnn


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("kind", list(KINDS))
def test_layer_matches_torch(
    kind: str, num_layers: int, bidirectional: bool, fused: bool, with_lengths: bool
) -> None:
    torch.manual_seed(hash((kind, num_layers, bidirectional)) % 1000)
    ours, theirs = make_pair(kind, num_layers, bidirectional, fused=fused)
    assert ours.uses_fused_path is fused
    x = torch.randn(B, T, F, dtype=torch.float64)
    lengths = torch.tensor([T, 2, 4]) if with_lengths else None
    x_ours = x.clone().requires_grad_(True)
    x_theirs = x.clone().requires_grad_(True)

    out, state = ours(x_ours, lengths=lengths)
    ref_out, ref_state = run_torch(theirs, x_theirs, lengths)
    assert_close(out, ref_out, "output")
    for mine, ref in zip(as_tuple(state), as_tuple(ref_state), strict=True):
        assert_close(mine, ref, "final state")

    weighted_loss(out, state).backward()
    weighted_loss(ref_out, ref_state).backward()
    assert_close(x_ours.grad, x_theirs.grad, "grad x")
    ref_params = dict(theirs.named_parameters())
    names = [name for name, _ in ours.named_parameters()]
    assert names == list(ref_params)
    for name, param in ours.named_parameters():
        assert_close(param.grad, ref_params[name].grad, f"grad {name}")


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_initial_state_matches_torch_including_its_gradient(kind: str, fused: bool) -> None:
    torch.manual_seed(3)
    ours, theirs = make_pair(kind, 2, True, fused=fused)
    x = torch.randn(B, T, F, dtype=torch.float64)
    lengths = torch.tensor([1, T, 3])
    parts = 2 if kind == "lstm" else 1
    h0 = [torch.randn(4, B, H, dtype=torch.float64, requires_grad=True) for _ in range(parts)]
    h0_ref = [h.detach().clone().requires_grad_(True) for h in h0]
    init = tuple(h0) if parts == 2 else h0[0]
    init_ref = tuple(h0_ref) if parts == 2 else h0_ref[0]
    out, state = ours(x, lengths=lengths, initial_state=init)
    ref_out, ref_state = run_torch(theirs, x, lengths, init_ref)
    assert_close(out, ref_out, "output")
    weighted_loss(out, state).backward()
    weighted_loss(ref_out, ref_state).backward()
    for mine, ref in zip(h0, h0_ref, strict=True):
        assert_close(mine.grad, ref.grad, "grad initial_state")


@pytest.mark.parametrize("kind", list(KINDS))
def test_bias_false_matches_torch_on_both_paths(kind: str) -> None:
    ours_cls, torch_cls, ours_kw, torch_kw = KINDS[kind]
    theirs = torch_cls(F, H, bias=False, batch_first=True, dtype=torch.float64, **torch_kw)
    x = torch.randn(B, T, F, dtype=torch.float64)
    ref_out, _ = theirs(x)
    for fused in (True, False):
        ours = ours_cls(F, H, bias=False, fused=fused, dtype=torch.float64, **ours_kw)
        ours.load_state_dict(theirs.state_dict())
        assert_close(ours(x)[0], ref_out, f"output fused={fused}")


@pytest.mark.parametrize(
    "ours_cls, torch_cls",
    [(rnn.LSTMCell, torch.nn.LSTMCell), (rnn.GRUCell, torch.nn.GRUCell),
     (rnn.RNNCell, torch.nn.RNNCell)],
)
def test_cells_match_torch_cells(ours_cls: type, torch_cls: type) -> None:
    cell = ours_cls(F, H, dtype=torch.float64)
    ref = torch_cls(F, H, dtype=torch.float64)
    ref.load_state_dict(cell.state_dict())
    x = torch.randn(B, F, dtype=torch.float64)
    state = cell.initial_state(B)
    y, new_state = cell(x, state)
    ref_state = ref(x, state)
    assert_close(y, as_tuple(ref_state)[0], "cell output")
    for mine, theirs in zip(as_tuple(new_state), as_tuple(ref_state), strict=True):
        assert_close(mine, theirs, "cell state")


@pytest.mark.parametrize("kind", list(KINDS))
def test_state_dict_round_trips_through_torch(kind: str) -> None:
    ours, theirs = make_pair(kind, 2, True)
    for p in theirs.parameters():
        torch.nn.init.normal_(p)
    ours.load_state_dict(theirs.state_dict())  # strict: identical keys and shapes
    for name, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value)


def test_layer_norm_parameters_are_extra_keys() -> None:
    ours = rnn.LSTM(F, H, layer_norm=True)
    theirs = torch.nn.LSTM(F, H, batch_first=True)
    result = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert sorted(result.unexpected_keys) == sorted(
        f"layer_norm_{part}_{kind}_l0" for part in ("ih", "hh", "c") for kind in ("weight", "bias")
    )
    assert result.missing_keys == []


def test_float32_default_and_double_conversion_on_both_paths() -> None:
    for fused in (True, False):
        layer = rnn.GRU(F, H, fused=fused)
        assert layer.weight_ih_l0.dtype == torch.float32
        out32, _ = layer(torch.randn(B, T, F))
        assert out32.dtype == torch.float32
        layer.double()
        out64, h = layer(torch.randn(B, T, F, dtype=torch.float64))
        assert out64.dtype == h.dtype == torch.float64
