"""The fused kernel run straight through the padding (``return_state=False``, and GRU/SimpleRNN
on torch's kernels) must match a packed torch.nn run exactly at every real step, forward and
backward, for any spread of lengths, including empty sequences."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.nn import GRU, LSTM, SimpleRNN

PAIRS = [(LSTM, torch.nn.LSTM), (GRU, torch.nn.GRU), (SimpleRNN, torch.nn.RNN)]
LENGTHS = torch.tensor([17, 3, 9, 0, 12])  # wide spread: packing would be the old route


def _reference(ref: torch.nn.Module, x: torch.Tensor, lengths: torch.Tensor):
    real = lengths.clamp(min=1)  # packing rejects empty sequences; zero them afterwards
    packed = pack_padded_sequence(x, real, batch_first=True, enforce_sorted=False)
    out_packed, state = ref(packed)
    out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=x.shape[1])
    h = state[0] if isinstance(state, tuple) else state
    keep = (lengths > 0).to(x.dtype)
    return out * keep[:, None, None], h * keep[None, :, None]


@pytest.mark.parametrize(("ours_cls", "ref_cls"), PAIRS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_through_padding_matches_packed_torch(ours_cls, ref_cls, bidirectional, num_layers) -> None:
    torch.manual_seed(0)
    ours = ours_cls(4, 3, num_layers=num_layers, bidirectional=bidirectional,
                    dtype=torch.float64, kernels="torch")
    ref = ref_cls(4, 3, num_layers=num_layers, bidirectional=bidirectional, batch_first=True,
                  dtype=torch.float64)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(5, 17, 4, dtype=torch.float64)
    x = x * (torch.arange(17)[None, :, None] < LENGTHS[:, None, None])
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()

    out, state = ours(x1, lengths=LENGTHS, return_state=False)
    assert state is None
    ref_out, _ = _reference(ref, x2, LENGTHS)
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)

    weights = torch.randn_like(out)
    (out * weights).sum().backward()
    (ref_out * weights).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-10, rtol=0)
    for (name, p), q in zip(ours.named_parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-10, rtol=0, msg=name)


@pytest.mark.parametrize(("ours_cls", "ref_cls"), [(GRU, torch.nn.GRU), (SimpleRNN, torch.nn.RNN)])
def test_hidden_only_cells_also_get_exact_final_states_through_padding(ours_cls, ref_cls) -> None:
    torch.manual_seed(1)
    ours = ours_cls(4, 3, num_layers=2, bidirectional=True, dtype=torch.float64, kernels="torch")
    ref = ref_cls(4, 3, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(5, 17, 4, dtype=torch.float64)
    x = x * (torch.arange(17)[None, :, None] < LENGTHS[:, None, None])
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    _, h = ours(x1, lengths=LENGTHS)
    _, ref_h = _reference(ref, x2, LENGTHS)
    torch.testing.assert_close(h, ref_h, atol=1e-10, rtol=0)
    (h**2).sum().backward()
    (ref_h**2).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-10, rtol=0)


def test_an_lstm_asked_for_its_state_still_returns_the_exact_cell_state() -> None:
    torch.manual_seed(2)
    ours = LSTM(4, 3, bidirectional=True, dtype=torch.float64)
    ref = torch.nn.LSTM(4, 3, bidirectional=True, batch_first=True, dtype=torch.float64)
    ref.load_state_dict(ours.state_dict())
    lengths = torch.tensor([17, 3, 9, 2, 12])
    x = torch.randn(5, 17, 4, dtype=torch.float64)
    _, (h, c) = ours(x, lengths=lengths)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, (ref_h, ref_c) = ref(packed)
    torch.testing.assert_close(c, ref_c, atol=1e-10, rtol=0)
    torch.testing.assert_close(h, ref_h, atol=1e-10, rtol=0)
