"""Variable-length batches: masks (left/right padding), lengths, zero-length sequences, last_step.
"""

from __future__ import annotations

import pytest
import torch
from nn_testutils import F, H, as_tuple, assert_close

from rnnkit import nn as rnn
from rnnkit.nn.masking import reverse_padded, rotate_time

LENGTHS = [5, 2, 4, 1]
LAYERS = {"rnn": rnn.SimpleRNN, "lstm": rnn.LSTM, "gru": rnn.GRU}


def _padded_batch(lengths: list[int], left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    max_len = max(lengths)
    x = torch.randn(len(lengths), max_len, F, dtype=torch.float64)
    steps = torch.arange(max_len)[None, :]
    lens = torch.tensor(lengths)[:, None]
    mask = steps >= max_len - lens if left else steps < lens
    return x, mask


@pytest.mark.parametrize("left", [False, True], ids=["right", "left"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("fused", [None, False], ids=["auto", "loop"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_masked_batch_equals_each_sequence_alone(
    kind: str, fused: bool | None, bidirectional: bool, left: bool
) -> None:
    torch.manual_seed(5)
    layer = LAYERS[kind](F, H, 2, bidirectional=bidirectional, fused=fused, dtype=torch.float64)
    x, mask = _padded_batch(LENGTHS, left)
    x = x.masked_fill(~mask[..., None], 123.0)  # garbage at padding must not leak
    out, state = layer(x, mask=mask)
    assert (out[~mask] == 0).all(), "padded outputs must be zero"
    for b, length in enumerate(LENGTHS):
        alone_out, alone_state = layer(x[b : b + 1][mask[b : b + 1]].view(1, length, F))
        assert_close(out[b][mask[b]], alone_out[0], f"outputs of sequence {b}")
        for mine, ref in zip(as_tuple(state), as_tuple(alone_state), strict=True):
            assert_close(mine[:, b], ref[:, 0], f"final state of sequence {b}")


@pytest.mark.parametrize("fused", [None, False], ids=["auto", "loop"])
def test_lengths_and_equivalent_mask_agree(fused: bool | None) -> None:
    layer = rnn.GRU(F, H, bidirectional=True, fused=fused, dtype=torch.float64)
    x, mask = _padded_batch(LENGTHS, left=False)
    out_mask, h_mask = layer(x, mask=mask)
    out_len, h_len = layer(x, lengths=torch.tensor(LENGTHS))
    assert torch.equal(out_mask, out_len) and torch.equal(h_mask, h_len)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_zero_length_sequence_gives_zero_state_and_outputs(
    kind: str, fused: bool, bidirectional: bool
) -> None:
    layer = LAYERS[kind](F, H, 2, bidirectional=bidirectional, fused=fused, dtype=torch.float64)
    x = torch.randn(3, 4, F, dtype=torch.float64, requires_grad=True)
    out, state = layer(x, lengths=torch.tensor([4, 0, 2]))
    assert (out[1] == 0).all()
    for s in as_tuple(state):
        assert (s[:, 1] == 0).all()
        assert (s[:, 0] != 0).any()
    out.sum().backward()  # no crash in backward either
    assert (x.grad[1] == 0).all()


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
def test_zero_length_sequence_keeps_given_initial_state(fused: bool) -> None:
    layer = rnn.LSTM(F, H, fused=fused, dtype=torch.float64)
    h0 = torch.randn(1, 2, H, dtype=torch.float64)
    c0 = torch.randn(1, 2, H, dtype=torch.float64)
    _, (h, c) = layer(torch.randn(2, 3, F, dtype=torch.float64), torch.tensor([0, 3]),
                      initial_state=(h0, c0))
    assert torch.equal(h[:, 0], h0[:, 0]) and torch.equal(c[:, 0], c0[:, 0])


def test_all_empty_and_zero_time_steps() -> None:
    for fused in (True, False):
        layer = rnn.GRU(F, H, fused=fused)
        out, h = layer(torch.randn(2, 3, F), lengths=torch.tensor([0, 0]))
        assert (out == 0).all() and (h == 0).all()
        out, h = layer(torch.randn(2, 0, F))
        assert out.shape == (2, 0, H) and h.shape == (1, 2, H)


def test_last_step_picks_last_real_output() -> None:
    layer = rnn.LSTM(F, H, dtype=torch.float64)
    x, mask = _padded_batch([3, 1, 0], left=False)
    out, (h, _) = layer(x, mask=mask)
    assert_close(rnn.last_step(out, torch.tensor([3, 1, 0])), h[-1], "last_step lengths")
    x_left, mask_left = _padded_batch([3, 1, 0], left=True)
    out_left, (h_left, _) = layer(x_left, mask=mask_left)
    assert_close(rnn.last_step(out_left, mask=mask_left), h_left[-1], "last_step left mask")
    assert torch.equal(rnn.last_step(out), out[:, -1])


def test_reverse_and_rotate_helpers_are_invertible() -> None:
    x = torch.arange(12.0).view(2, 6, 1)
    lengths = torch.tensor([4, 6])
    rev = reverse_padded(x, lengths)
    assert rev[0, :, 0].tolist() == [3.0, 2.0, 1.0, 0.0, 4.0, 5.0]
    assert torch.equal(reverse_padded(rev, lengths), x)
    shift = torch.tensor([2, 0])
    assert torch.equal(rotate_time(rotate_time(x, shift), -shift), x)
    assert rotate_time(x, shift)[0, :, 0].tolist() == [2.0, 3.0, 4.0, 5.0, 0.0, 1.0]
