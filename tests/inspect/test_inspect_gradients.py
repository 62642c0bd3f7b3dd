"""Gradient flow: the nn engine agrees with the NumPy engine's dL/dh_t; vanishing and exploding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.inspect.gradients import (
    compare_gradient_flow,
    example_input,
    gradient_flow,
    gradient_flow_scratch,
    make_layer,
    readout,
)
from rnnkit.nn import SimpleRNN


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_flow_matches_numpy_engine(cell: str) -> None:
    x, v = example_input(40, seed=3), readout(12, seed=3)
    layer = make_layer(cell, 2, 12, seed=3)
    torch_norms = gradient_flow(layer, x, v)
    numpy_norms = gradient_flow_scratch(layer, x, v)
    assert torch_norms.shape == (40,)
    np.testing.assert_allclose(torch_norms, numpy_norms, rtol=1e-9, atol=1e-300)
    # the last step receives exactly the readout
    assert torch_norms[-1] == pytest.approx(float(v.norm()), rel=1e-12)


def test_vanilla_rnn_gradient_vanishes_with_small_weights() -> None:
    torch.manual_seed(0)
    layer = SimpleRNN(2, 16, init="torch", dtype=torch.float64)
    norms = gradient_flow(layer, example_input(60), readout(16))
    assert norms[0] < 1e-6 * norms[-1]
    assert np.all(np.diff(np.log(norms[30:])) > 0)  # grows monotonically towards the loss


def test_large_recurrent_weights_explode() -> None:
    norms = compare_gradient_flow(("rnn",), length=60, hidden_size=16, recurrent_scale=3.0)["rnn"]
    assert norms[0] > 1e3 * norms[-1]


def test_compare_engines_same_keys() -> None:
    a = compare_gradient_flow(("rnn", "gru"), length=20, hidden_size=8)
    b = compare_gradient_flow(("rnn", "gru"), length=20, hidden_size=8, engine="scratch")
    assert a.keys() == b.keys() == {"rnn", "gru"}
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-9)
