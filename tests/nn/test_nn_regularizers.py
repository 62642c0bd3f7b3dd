"""AWD-LSTM regularisers: weight drop on every execution, locked and embedding dropout, AR/TAR."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from nn_testutils import weighted_loss

from rnnkit import nn as rnn
from rnnkit.errors import ConfigError
from rnnkit.nn import layers as layers_module
from rnnkit.nn.regularizers import (
    LockedDropout,
    activation_penalty,
    embedding_dropout,
    locked_dropout,
)

B, T, F, H = 3, 7, 4, 5
TOL = 1e-10
CLASSES = {"lstm": rnn.LSTM, "gru": rnn.GRU, "rnn": rnn.SimpleRNN}
# backend request -> (fused, kernels)
EXECUTIONS = {"torch": (None, "torch"), "numba": (None, "numba"), "loop": (False, None)}


def _layer(kind: str, execution: str, **options: Any) -> rnn.RecurrentLayer:
    fused, kernels = EXECUTIONS[execution]
    torch.manual_seed(0)  # the same weights for every execution
    layer = CLASSES[kind](F, H, dtype=torch.float64, fused=fused, kernels=kernels, **options)
    return layer.train()


def _run(layer: rnn.RecurrentLayer, lengths: torch.Tensor | None, return_state: bool = True):
    torch.manual_seed(1)  # the same masks for every execution
    x = torch.randn(B, T, F, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    out, state = layer(x, lengths=lengths, return_state=return_state)
    loss = weighted_loss(out, state if return_state else ())
    grads = torch.autograd.grad(loss, list(layer.parameters()))
    return out, state, grads


FULL, TAIL, RAGGED = None, torch.tensor([7, 6, 6]), torch.tensor([7, 2, 0])


@pytest.mark.parametrize(
    ("kind", "lengths"),
    [("lstm", FULL), ("lstm", TAIL), ("lstm", RAGGED), ("gru", RAGGED), ("rnn", FULL)],
    ids=["lstm-full", "lstm-head-tail", "lstm-packed", "gru-ragged", "rnn-full"],
)
def test_weight_drop_fused_kernels_and_cell_loop_agree_under_one_mask(kind, lengths) -> None:
    options = dict(num_layers=2, bidirectional=True, weight_drop=0.4, dropout=0.3,
                   locked_dropout=True)
    runs = {name: _run(_layer(kind, name, **options), lengths) for name in EXECUTIONS}
    ran = {name: _layer(kind, name, **options).backend for name in EXECUTIONS}
    assert ran == {"torch": "torch", "numba": "numba", "loop": "loop"}
    ref_out, ref_state, ref_grads = runs["loop"]
    for name in ("torch", "numba"):
        out, state, grads = runs[name]
        torch.testing.assert_close(out, ref_out, rtol=0, atol=TOL)
        for a, b in zip(state if isinstance(state, tuple) else (state,),
                        ref_state if isinstance(ref_state, tuple) else (ref_state,), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=TOL)
        for a, b in zip(grads, ref_grads, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=TOL)


def test_weight_drop_through_padding_without_state_agrees_with_the_loop() -> None:
    lengths = torch.tensor([7, 3, 1])
    fused = _run(_layer("lstm", "torch", weight_drop=0.5), lengths, return_state=False)
    loop = _run(_layer("lstm", "loop", weight_drop=0.5), lengths, return_state=False)
    torch.testing.assert_close(fused[0], loop[0], rtol=0, atol=TOL)
    for a, b in zip(fused[2], loop[2], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=TOL)


def _recording_masks(monkeypatch: pytest.MonkeyPatch) -> list[torch.Tensor]:
    """Patch the layers' ``drop_weight`` to record each dropped weight it returns."""
    drawn: list[torch.Tensor] = []
    original = layers_module.drop_weight

    def recording(weight: torch.Tensor, p: float) -> torch.Tensor:
        dropped = original(weight, p)
        drawn.append(dropped.detach().clone())
        return dropped

    monkeypatch.setattr(layers_module, "drop_weight", recording)
    return drawn


@pytest.mark.parametrize("execution", ["torch", "numba", "loop"])
def test_weight_drop_draws_one_mask_per_call_used_at_every_step(monkeypatch, execution) -> None:
    drawn = _recording_masks(monkeypatch)
    layer = _layer("gru", execution, num_layers=2, weight_drop=0.5)
    x = torch.randn(B, 40, F, dtype=torch.float64)
    out, h = layer(x)
    assert len(drawn) == 2  # one draw per weight_hh (2 layers), not one per step (40)
    # Every step used those same dropped weights: eval mode (no drop) with them set by hand
    # gives the training outputs exactly.
    reference = _layer("gru", execution, num_layers=2).eval()
    with torch.no_grad():
        reference.weight_hh_l0.copy_(drawn[0])
        reference.weight_hh_l1.copy_(drawn[1])
    ref_out, ref_h = reference(x)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=TOL)
    torch.testing.assert_close(h, ref_h, rtol=0, atol=TOL)
    # Inverted dropout: kept entries are scaled by 1 / (1 - p), dropped ones are zero.
    weight = layer.weight_hh_l0.detach()
    kept = drawn[0] != 0
    assert 0.3 < kept.double().mean() < 0.7
    torch.testing.assert_close(drawn[0][kept], 2 * weight[kept], rtol=0, atol=0)
    # The next call (the next batch) draws a new mask.
    layer(x)
    assert len(drawn) == 4 and not torch.equal(drawn[2] != 0, kept)


def test_weight_drop_gradient_reaches_the_kept_weights_only() -> None:
    layer = _layer("lstm", "torch", weight_drop=0.5)
    drawn = []
    original = layers_module.drop_weight
    layers_module.drop_weight = lambda w, p: drawn.append(original(w, p)) or drawn[-1]
    try:
        out, _ = layer(torch.randn(B, T, F, dtype=torch.float64))
    finally:
        layers_module.drop_weight = original
    out.sum().backward()
    grad = layer.weight_hh_l0.grad
    assert grad is not None and bool((grad[drawn[0] == 0] == 0).all())
    assert bool((grad[drawn[0] != 0] != 0).any())


def test_weight_drop_is_off_in_eval_mode_and_at_zero() -> None:
    x = torch.randn(B, T, F, dtype=torch.float64)
    plain = _layer("lstm", "torch")
    dropped = _layer("lstm", "torch", weight_drop=0.5)
    assert torch.equal(dropped.eval()(x)[0], plain.eval()(x)[0])
    torch.manual_seed(3)
    first = plain.train()(x)[0]
    torch.manual_seed(3)
    assert torch.equal(_layer("lstm", "torch", weight_drop=0.0)(x)[0], first)
    assert "weight_drop=0.5" in repr(dropped)
    with pytest.raises(ConfigError, match="weight_drop"):
        rnn.LSTM(F, H, weight_drop=1.0)


def test_locked_dropout_between_layers_keeps_one_mask_per_sequence(monkeypatch) -> None:
    seen: list[torch.Tensor] = []
    original = layers_module.locked_dropout
    monkeypatch.setattr(layers_module, "locked_dropout",
                        lambda x, p: seen.append(original(x, p) / x) or x * seen[-1])
    layer = _layer("lstm", "torch", num_layers=2, dropout=0.5, locked_dropout=True)
    layer(torch.rand(B, T, F, dtype=torch.float64) + 0.5)
    (ratio,) = seen
    assert torch.equal(ratio, ratio[:, :1].expand_as(ratio))  # the same mask at every step
    assert set(ratio.unique().tolist()) == {0.0, 2.0}
    assert layer.eval()(torch.ones(1, 2, F, dtype=torch.float64))[0].shape == (1, 2, H)


def test_locked_dropout_masks_features_not_steps() -> None:
    torch.manual_seed(0)
    x = torch.ones(4, 9, 6)
    y = locked_dropout(x, 0.5)
    assert torch.equal(y, y[:, :1].expand_as(y))
    assert set(y.unique().tolist()) == {0.0, 2.0}
    module = LockedDropout(0.5).eval()
    assert module(x) is x and locked_dropout(x, 0.0) is x


def test_embedding_dropout_drops_whole_words_of_the_vocabulary() -> None:
    embedding = torch.nn.Embedding(12, 3).double()
    ids = torch.tensor([[1, 2, 2, 5], [5, 1, 7, 2]])
    torch.manual_seed(4)
    out = embedding_dropout(embedding, ids, 0.5)
    torch.manual_seed(4)
    rows = torch.empty(12, dtype=torch.float64).bernoulli_(0.5) / 0.5
    # The paper's form: the lookup in the masked matrix.
    expected = torch.nn.functional.embedding(ids, embedding.weight * rows[:, None])
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert torch.equal(embedding_dropout(embedding, ids, 0.5, training=False), embedding(ids))
    out.sum().backward()
    assert embedding.weight.grad is not None
    torch.testing.assert_close(embedding.weight.grad[3], torch.zeros(3, dtype=torch.float64))


def test_activation_penalty_values_and_gradient() -> None:
    raw = torch.tensor([[[1.0, -1.0], [3.0, 0.0], [2.0, 2.0]]], dtype=torch.float64)
    dropped = raw * torch.tensor([[[2.0, 0.0]]], dtype=torch.float64)
    ar = (4 + 36 + 16) / 6
    tar = (4 + 1 + 1 + 4) / 4
    assert float(activation_penalty(dropped, raw, alpha=2.0)) == pytest.approx(2 * ar)
    assert float(activation_penalty(dropped, raw, beta=3.0)) == pytest.approx(3 * tar)
    assert float(activation_penalty(dropped, raw)) == 0.0
    raw.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda r: activation_penalty(r * 1.5, r, alpha=0.7, beta=1.3), (raw,)
    )
