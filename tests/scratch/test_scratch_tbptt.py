"""Truncated BPTT and stateful layers."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.scratch import GRU, LSTM, RNN, Adam, Dense, ScratchError, TruncatedBPTT, mse

B, T, F, H = 2, 12, 3, 4


def _stream(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, F))
    return x, rng.normal(size=(B, T, 2))


def _models(cls=LSTM):
    return cls(F, H, dtype=np.float64, rng=1), Dense(H, 2, dtype=np.float64, rng=2)


def _grads(layer, head):
    return {**layer.gradients(), **{f"head.{k}": v for k, v in head.gradients().items()}}


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_k1_equals_k2_equals_t_is_full_bptt(cls) -> None:
    x, y = _stream()
    layer, head = _models(cls)
    out, _ = layer(x)
    loss, d_pred = mse(head(out), y)
    layer.backward(head.backward(d_pred))
    full_loss, full = loss, {k: v.copy() for k, v in _grads(layer, head).items()}

    layer.zero_grad()
    head.zero_grad()
    tb_loss = TruncatedBPTT(layer, head, "mse", k1=T, k2=T).run(x, y)
    assert tb_loss == pytest.approx(full_loss, abs=1e-12)
    for name, grad in _grads(layer, head).items():
        np.testing.assert_allclose(grad, full[name], atol=1e-12, err_msg=name)


@pytest.mark.parametrize("k1,k2", [(3, 3), (4, 4), (2, 5), (5, 7)])
def test_chunks_match_a_reference_built_from_the_full_forward_pass(k1, k2) -> None:
    x, y = _stream(1)
    layer, head = _models()
    TruncatedBPTT(layer, head, "mse", k1=k1, k2=k2).run(x, y)
    got = {k: v.copy() for k, v in _grads(layer, head).items()}

    # Reference: states come from one forward pass over the whole stream; each chunk ending at
    # `end` backpropagates its own losses from `end` back to max(0, end - k2) only.
    ref_layer, ref_head = _models()
    ref_layer(x)
    states = [ref_layer.state_at(s) for s in range(T + 1)]
    for end in range(k1, T + k1, k1):
        end = min(end, T)
        begin, start = ((end - 1) // k1) * k1, max(0, end - k2)  # chunk start, window start
        out, _ = ref_layer(x[:, start:end], initial_state=states[start])
        _, d_pred = mse(ref_head(out[:, begin - start :]), y[:, begin:end])
        d_out = np.zeros_like(out)
        d_out[:, begin - start :] = ref_head.backward(d_pred)
        ref_layer.backward(d_out)
    for name, grad in _grads(ref_layer, ref_head).items():
        np.testing.assert_allclose(got[name], grad, atol=1e-12, err_msg=name)


def test_longer_k2_reaches_further_back() -> None:
    x, y = _stream(2)
    results = []
    for k2 in (3, 6):
        layer, head = _models()
        TruncatedBPTT(layer, head, "mse", k1=3, k2=k2).run(x, y)
        results.append(layer.gradients()["weight_hh_l0"].copy())
    assert not np.allclose(results[0], results[1])


def test_stream_state_carries_over_and_training_lowers_the_loss() -> None:
    t = np.arange(400)
    wave = np.sin(0.3 * t)[None, :, None] * np.ones((2, 1, 1))
    x, y = wave[:, :-1], wave[:, 1:]
    layer, head = GRU(1, 8, dtype=np.float64, rng=3), Dense(8, 1, dtype=np.float64, rng=4)
    tb = TruncatedBPTT(layer, head, "mse", k1=20, k2=40, clip_norm=5.0)
    first = tb.run(x, y, optimizer=Adam(0.02))
    for _ in range(5):
        tb.reset()
        last = tb.run(x, y, optimizer=Adam(0.02))
    assert last < 0.3 * first
    # continuing a stream: two halves give the same final state as the whole
    tb.reset()
    tb.run(x[:, :200], y[:, :200])
    tb.run(x[:, 200:], y[:, 200:])
    _, whole = layer(x)
    np.testing.assert_allclose(tb.state, whole, atol=1e-12)


def test_k2_smaller_than_k1_or_bidirectional_is_refused() -> None:
    layer, head = _models()
    with pytest.raises(ScratchError, match="k1"):
        TruncatedBPTT(layer, head, "mse", k1=5, k2=2)
    with pytest.raises(ScratchError, match="bidirectional"):
        TruncatedBPTT(LSTM(F, H, bidirectional=True), head, "mse", k1=2)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_stateful_layer_carries_state_between_calls(cls) -> None:
    x, _ = _stream(3)
    whole, whole_state = cls(F, H, num_layers=2, dtype=np.float64, rng=5)(x)
    layer = cls(F, H, num_layers=2, stateful=True, dtype=np.float64, rng=5)
    first, _ = layer(x[:, :5])
    second, state = layer(x[:, 5:])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-12)
    for a, b in zip(
        state if isinstance(state, tuple) else (state,),
        whole_state if isinstance(whole_state, tuple) else (whole_state,),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, atol=1e-12)
    layer.reset_states()
    again, _ = layer(x[:, :5])
    np.testing.assert_allclose(again, first, atol=1e-12)
    with pytest.raises(ScratchError, match="reset_states"):
        layer(x[:1, :5])
