"""BPT3C: a document read in windows with the state carried equals reading it whole (float64)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.classifier_model import RecurrentClassifier


def _pair(pooling: str, cell: str, window: int) -> tuple[RecurrentClassifier, RecurrentClassifier]:
    options = {"vocab_size": 30, "embedding_dim": 5, "cell": cell, "hidden_size": 6,
               "num_layers": 2, "bidirectional": False, "pooling": pooling}
    torch.manual_seed(0)
    whole = RecurrentClassifier(3, **options).double()
    windowed = RecurrentClassifier(3, window=window, **options).double()
    windowed.load_state_dict(whole.state_dict())
    return whole, windowed


@pytest.mark.parametrize(("pooling", "cell"), [("concat", "lstm"), ("max", "gru"),
                                               ("mean", "rnn")])
def test_windowed_reading_equals_reading_whole_outputs_and_gradients(pooling, cell) -> None:
    whole, windowed = _pair(pooling, cell, window=4)
    lengths = torch.tensor([23, 9, 4, 1, 0])  # several windows, one exact, one short, one empty
    ids = torch.randint(2, 30, (5, 23))
    ids[torch.arange(23)[None, :] >= lengths[:, None]] = 0  # padding
    results = []
    for model in (whole, windowed):
        model.zero_grad()
        logits = model(ids, lengths)
        (logits * torch.linspace(-1, 1, 3, dtype=torch.float64)).sum().backward()
        results.append((logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                                          if p.grad is not None}))
    (a, grads_a), (b, grads_b) = results
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert grads_a.keys() == grads_b.keys() and "encoder.weight_hh_l0" in grads_a
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-9, atol=1e-12)
    # the empty row pools to zeros, the other rows depend on their tokens
    assert float(windowed.encode(ids, lengths)[4].detach().abs().sum()) == 0.0


def test_weight_drop_draws_one_mask_for_all_windows_of_a_batch() -> None:
    torch.manual_seed(0)
    model = RecurrentClassifier(2, vocab_size=20, embedding_dim=4, hidden_size=5,
                                bidirectional=False, pooling="concat", weight_drop=0.5, window=3)
    model.train()
    draws = []
    original = model.encoder._weights_dropped

    def counting():
        draws.append(1)
        return original()

    model.encoder._weights_dropped = counting  # type: ignore[method-assign]
    model.encoder.one_weight_mask = counting  # type: ignore[method-assign]
    model(torch.randint(2, 20, (2, 10)), torch.tensor([10, 7]))
    assert len(draws) == 1 + 4  # the scope, then one (mask-keeping) entry per window
    assert model.encoder._dropped_weights == {}  # released after the batch


def test_window_needs_a_unidirectional_encoder_and_a_pooling_it_can_accumulate() -> None:
    with pytest.raises(ConfigError, match="unidirectional"):
        RecurrentClassifier(2, vocab_size=10, bidirectional=True, window=8)
    with pytest.raises(ConfigError, match="attention"):
        RecurrentClassifier(2, vocab_size=10, bidirectional=False, pooling="attention", window=8)


def test_concat_pooling_is_last_max_mean() -> None:
    from rnnkit.nn.pooling import TimePooling

    out = torch.tensor([[[1.0], [3.0], [2.0], [9.0]]])
    pooled = TimePooling("concat", 1)(out, None, torch.tensor([3]))
    assert pooled.tolist() == [[2.0, 3.0, 2.0]]
