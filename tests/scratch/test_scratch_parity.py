"""Parity with PyTorch: same weights and lengths -> same outputs, final states and gradients.

Targets: ``torch.nn.RNN/LSTM/GRU(batch_first=True)`` with packed sequences, and ``rnnkit.nn``'s
``SimpleRNN/LSTM/GRU`` on both of its executions (torch's fused kernels and its own cell loop).
The reset-before GRU has no torch.nn counterpart; it is compared with ``rnnkit.nn.GRU
(reset_after=False)`` here and with finite differences in test_scratch_gradcheck.py.
(Tests may import torch; the package ``rnnkit.scratch`` itself never does.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scratch_helpers import VARIANTS, as_tuple, random_probe
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit.nn as rnn_nn
from rnnkit.scratch import GRU, LSTM, RNN

ATOL = 1e-10
B, T, F, H = 4, 6, 3, 5
SHAPES = [(1, False), (1, True), (2, False), (2, True)]

TORCH_CLASSES = {
    "rnn_tanh": torch.nn.RNN,
    "rnn_relu": torch.nn.RNN,
    "lstm": torch.nn.LSTM,
    "gru_reset_after": torch.nn.GRU,
}
NN_CLASSES = {
    "rnn_tanh": rnn_nn.SimpleRNN,
    "rnn_relu": rnn_nn.SimpleRNN,
    "lstm": rnn_nn.LSTM,
    "gru_reset_after": rnn_nn.GRU,
    "gru_reset_before": rnn_nn.GRU,
}


def _torch_options(name: str) -> dict:
    return {"nonlinearity": "relu"} if name == "rnn_relu" else {}


def _nn_options(name: str) -> dict:
    if name.startswith("rnn"):
        return {"activation": name.split("_")[1]}
    if name == "gru_reset_before":
        return {"reset_after": False}
    return {}


def _run_torch(module, x, lengths, packed: bool):
    xt = torch.tensor(x, requires_grad=True)
    if packed:
        seq = pack_padded_sequence(
            xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False
        )
        out, state = module(seq)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    elif lengths is None:
        out, state = module(xt)
    else:
        out, state = module(xt, lengths=torch.tensor(lengths))
    return xt, out, state


def _compare(scratch, reference, x, lengths, packed: bool) -> None:
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in scratch.state_dict().items()})
    out, state = scratch(x, lengths)
    xt, ref_out, ref_state = _run_torch(reference, x, lengths, packed)
    np.testing.assert_allclose(out, ref_out.detach().numpy(), atol=ATOL, rtol=0)
    for mine, theirs in zip(as_tuple(state), as_tuple(ref_state), strict=True):
        np.testing.assert_allclose(mine, theirs.detach().numpy(), atol=ATOL, rtol=0)

    d_out, d_state = random_probe(np.random.default_rng(0), out, state)
    loss = (ref_out * torch.from_numpy(d_out)).sum()
    for s, d in zip(as_tuple(ref_state), as_tuple(d_state), strict=True):
        loss = loss + (s * torch.from_numpy(d)).sum()
    loss.backward()
    scratch.zero_grad()
    dx, _ = scratch.backward(d_out, d_state)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=ATOL, rtol=0)
    grads = scratch.gradients()
    names = [name for name, _ in reference.named_parameters()]
    assert sorted(names) == sorted(grads)
    for name, param in reference.named_parameters():
        np.testing.assert_allclose(grads[name], param.grad.numpy(), atol=ATOL, rtol=0, err_msg=name)


def _scratch(cls, options, layers, bidirectional):
    return cls(
        F, H, num_layers=layers, bidirectional=bidirectional, dtype=np.float64, rng=11, **options
    )


@pytest.mark.parametrize("shape", SHAPES, ids=[f"L{n}{'bi' if b else ''}" for n, b in SHAPES])
@pytest.mark.parametrize("variant", VARIANTS[:4], ids=[v[0] for v in VARIANTS[:4]])
def test_matches_torch_nn(variant, shape) -> None:
    name, cls, options = variant
    layers, bidirectional = shape
    x = np.random.default_rng(1).normal(size=(B, T, F))
    reference = TORCH_CLASSES[name](
        F,
        H,
        num_layers=layers,
        bidirectional=bidirectional,
        batch_first=True,
        dtype=torch.float64,
        **_torch_options(name),
    )
    scratch = _scratch(cls, options, layers, bidirectional)
    _compare(scratch, reference, x, np.array([6, 3, 1, 5]), packed=True)
    reference.zero_grad()
    _compare(scratch, reference, x, None, packed=False)


@pytest.mark.parametrize("fused", [None, False], ids=["auto", "cell_loop"])
@pytest.mark.parametrize("shape", [(1, False), (2, True)], ids=["L1", "L2bi"])
@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_matches_rnnkit_nn(variant, shape, fused) -> None:
    name, cls, options = variant
    layers, bidirectional = shape
    x = np.random.default_rng(2).normal(size=(B, T, F))
    reference = NN_CLASSES[name](
        F,
        H,
        num_layers=layers,
        bidirectional=bidirectional,
        dtype=torch.float64,
        fused=fused,
        **_nn_options(name),
    )
    scratch = _scratch(cls, options, layers, bidirectional)
    # rnnkit.nn also defines zero-length sequences (zero state, zero outputs)
    _compare(scratch, reference, x, np.array([6, 3, 0, 5]), packed=False)


def test_weights_load_from_torch_tensors_and_back() -> None:
    reference = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    scratch = LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float32)
    scratch.load_state_dict(reference.state_dict())
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(scratch.state_dict()[key], value.numpy())
    x = np.random.default_rng(3).normal(size=(2, 5, 3)).astype(np.float32)
    out, _ = scratch(x)
    ref_out, _ = reference(torch.from_numpy(x))
    np.testing.assert_allclose(out, ref_out.detach().numpy(), atol=1e-5)
    assert out.dtype == np.float32


def test_state_dict_shapes_and_names_follow_torch() -> None:
    for scratch, reference in [
        (RNN(3, 4, num_layers=2), torch.nn.RNN(3, 4, num_layers=2)),
        (GRU(3, 4, bidirectional=True), torch.nn.GRU(3, 4, bidirectional=True)),
    ]:
        mine = {k: v.shape for k, v in scratch.state_dict().items()}
        theirs = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
        assert mine == theirs


def test_load_state_dict_rejects_wrong_keys_and_shapes() -> None:
    from rnnkit.scratch import ScratchError

    layer = GRU(3, 4)
    with pytest.raises(ScratchError, match="missing keys"):
        layer.load_state_dict({"weight_ih_l0": np.zeros((12, 3))})
    bad = layer.state_dict()
    bad["weight_hh_l0"] = np.zeros((4, 4))
    with pytest.raises(ScratchError, match="weight_hh_l0"):
        layer.load_state_dict(bad)
