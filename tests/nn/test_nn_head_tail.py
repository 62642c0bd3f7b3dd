"""Nearly equal lengths (length-bucketed batches) take the fused head + cell-loop tail route:
it must match a packed torch.nn run exactly, forward and backward."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.nn import GRU, LSTM, SimpleRNN

PAIRS = [(LSTM, torch.nn.LSTM), (GRU, torch.nn.GRU), (SimpleRNN, torch.nn.RNN)]


@pytest.mark.parametrize(("ours_cls", "ref_cls"), PAIRS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_head_tail_matches_packed_torch(ours_cls, ref_cls, bidirectional, num_layers) -> None:
    torch.manual_seed(0)
    ours = ours_cls(4, 3, num_layers=num_layers, bidirectional=bidirectional, dtype=torch.float64)
    ref = ref_cls(4, 3, num_layers=num_layers, bidirectional=bidirectional, batch_first=True,
                  dtype=torch.float64)
    ref.load_state_dict(ours.state_dict())
    lengths = torch.tensor([17, 16, 15, 17, 16])  # spread 2 <= max(2, 17 // 8): head + tail
    x = torch.randn(5, 17, 4, dtype=torch.float64)
    x = x * (torch.arange(17)[None, :, None] < lengths[:, None, None])
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()

    out, state = ours(x1, lengths=lengths)
    packed = pack_padded_sequence(x2, lengths, batch_first=True, enforce_sorted=False)
    ref_packed, ref_state = ref(packed)
    ref_out, _ = pad_packed_sequence(ref_packed, batch_first=True, total_length=17)

    states = state if isinstance(state, tuple) else (state,)
    ref_states = ref_state if isinstance(ref_state, tuple) else (ref_state,)
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
    for a, b in zip(states, ref_states, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    weights = torch.randn_like(out)
    ((out * weights).sum() + sum(s.sum() for s in states)).backward()
    ((ref_out * weights).sum() + sum(s.sum() for s in ref_states)).backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-10, rtol=0)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, atol=1e-10, rtol=0, msg=name)
