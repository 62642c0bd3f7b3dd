"""Windows, transforms, scalers and splits: shapes, inverses and the absence of leaks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.series_transforms import (
    Scaler,
    SeriesTransform,
    WindowLoader,
    targets,
    valid_origins,
    windows,
)
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import Forecaster


@settings(max_examples=60, deadline=None)
@given(n=st.integers(5, 80), lookback=st.integers(1, 10), offset=st.integers(0, 13),
       horizon=st.integers(1, 5), stride=st.integers(1, 4), data=st.data())
def test_valid_origins_keep_windows_and_targets_inside(
    n, lookback, offset, horizon, stride, data
) -> None:
    start = data.draw(st.integers(0, n))
    stop = data.draw(st.integers(start, n))
    origins = valid_origins(n, lookback, offset, horizon, start=start, stop=stop, stride=stride)
    if origins.size:
        assert origins.min() - lookback >= offset  # the whole window has differenced values
        # targets in [start, stop)
        assert origins.min() >= start and origins.max() + horizon <= stop
        assert origins.max() == stop - horizon  # the most recent data is always used
        assert np.all(np.diff(origins) == stride)
    else:
        assert stop - horizon < max(start, lookback + offset)


def test_windows_and_targets_pick_the_right_rows() -> None:
    series = np.arange(20.0)[:, None]
    origins = np.array([5, 9])
    assert windows(series, origins, 3)[:, :, 0].tolist() == [[2, 3, 4], [6, 7, 8]]
    out = targets(series, np.array([17, 19]), 2)[:, :, 0]
    assert out[0].tolist() == [17, 18] and out[1, 0] == 19 and np.isnan(out[1, 1])


@pytest.mark.parametrize("differencing", ["none", "first", "seasonal", "both"])
@pytest.mark.parametrize("log", [False, True])
def test_one_step_target_is_the_differenced_value_and_inverts(differencing, log) -> None:
    rng = np.random.default_rng(1)
    y = np.exp(rng.normal(3, 0.3, size=(40, 2)))
    tf = SeriesTransform(log, differencing, season=4)
    z = tf.forward(y)
    w = tf.inputs(z)
    assert np.all(np.isnan(w[:tf.offset])) and not np.any(np.isnan(w[tf.offset:]))
    origins = np.arange(tf.offset + 1, 40)
    ref = tf.reference(z, origins, 1)
    if differencing == "none":
        np.testing.assert_allclose(ref, 0.0)
    else:  # one step ahead, target - reference is exactly the differenced value
        np.testing.assert_allclose(z[origins] - ref[:, 0], w[origins], atol=1e-12)
    np.testing.assert_allclose(tf.inverse(ref[:, 0] + (z[origins] - ref[:, 0])), y[origins],
                               rtol=1e-12)


def test_reference_over_several_steps_uses_only_the_history() -> None:
    z = np.arange(30.0)[:, None] ** 1.5
    tf = SeriesTransform(False, "both", season=4)
    ref = tf.reference(z, np.array([20]), 9)[0, :, 0]
    change = z[19, 0] - z[15, 0]
    expected = [z[16 + s % 4, 0] + (s // 4 + 1) * change for s in range(9)]
    np.testing.assert_allclose(ref, expected)
    with pytest.raises(ConfigError, match="season >= 2"):
        SeriesTransform(False, "seasonal", season=1)
    with pytest.raises(DataError, match="<= 0"):
        SeriesTransform(True).forward(np.array([[1.0], [0.0]]))


@pytest.mark.parametrize("kind", ["standard", "minmax", "none"])
def test_scaler_round_trip_and_json(kind) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(50, 3))
    x[:, 2] = 7.0  # a constant column must not divide by zero
    scaler = Scaler(kind).fit(x)
    scaled = scaler.transform(x)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), x, atol=1e-12)
    if kind == "standard":
        np.testing.assert_allclose(scaled[:, :2].mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(scaled[:, :2].std(axis=0), 1, atol=1e-12)
    if kind == "minmax":
        assert scaled[:, :2].min() == 0.0 and scaled[:, :2].max() == 1.0
    again = Scaler.from_dict(scaler.to_dict())
    np.testing.assert_allclose(again.transform(x), scaled)


def test_window_loader_shuffles_by_seed_and_epoch() -> None:
    x = np.arange(40, dtype=np.float32).reshape(10, 4, 1)
    loader = WindowLoader(x, np.zeros((10, 1, 1)), batch_size=3, shuffle=True, seed=1)
    first = [b[0]["x"][:, 0, 0].tolist() for b in loader]
    again = [b[0]["x"][:, 0, 0].tolist() for b in loader]
    loader.set_epoch(1)
    other = [b[0]["x"][:, 0, 0].tolist() for b in loader]
    assert len(loader) == 4 and first == again and first != other
    assert sorted(sum(first, [])) == sorted(x[:, 0, 0].tolist())


def test_no_test_value_leaks_into_training_or_scaling(make_seasonal) -> None:
    """Changing the test part changes nothing that was fitted: choices, scalers, weights, AR."""
    y = make_seasonal(96)
    changed = y.copy()
    changed[64:] = changed[64:] * 3 + 100
    options = dict(ensemble=1, epochs=3, hidden_size=4, verbose=0)
    a = Forecaster(**options).fit(y, test_size=32)
    b = Forecaster(**options).fit(changed, test_size=32)
    assert a.split_ == b.split_ == (64, 64)
    assert a.resolved_ == b.resolved_
    assert a.input_scaler_.to_dict() == b.input_scaler_.to_dict()
    assert a.target_scaler_.to_dict() == b.target_scaler_.to_dict()
    np.testing.assert_array_equal(a.linear_.coef_, b.linear_.coef_)
    for (name, pa), pb in zip(
        a.model_.state_dict().items(), b.model_.state_dict().values(), strict=True
    ):
        assert np.array_equal(pa.numpy(), pb.numpy()), name
    # ... while the test errors do change
    assert a.metrics_["test"]["rmse"] != b.metrics_["test"]["rmse"]
