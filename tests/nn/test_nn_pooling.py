"""TimePooling: padded steps never count, and ``last`` read off the outputs equals the final state.
"""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.nn import GRU, LSTM
from rnnkit.nn.pooling import POOLINGS, TimePooling

LENGTHS = torch.tensor([5, 2, 0, 4])


def _outputs(seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randn(4, 5, 6, dtype=torch.float64)


@pytest.mark.parametrize("mode", POOLINGS)
def test_padded_steps_do_not_change_the_pooled_vector(mode: str) -> None:
    pool = TimePooling(mode, 6).double()
    out = _outputs()
    noisy = out.clone()
    for b, n in enumerate(LENGTHS.tolist()):
        noisy[b, n:] = 1e3  # garbage in the padding
    assert torch.allclose(pool(out, None, LENGTHS), pool(noisy, None, LENGTHS))


def test_mean_and_max_use_each_sequences_own_steps() -> None:
    out = _outputs()
    mean = TimePooling("mean", 6)(out, None, LENGTHS)
    peak = TimePooling("max", 6)(out, None, LENGTHS)
    assert torch.allclose(mean[1], out[1, :2].mean(0))
    assert torch.allclose(peak[3], out[3, :4].amax(0))
    assert torch.equal(mean[2], torch.zeros(6, dtype=torch.float64))  # zero-length: zeros
    assert torch.equal(peak[2], torch.zeros(6, dtype=torch.float64))


def test_attention_gives_padding_exactly_zero_weight() -> None:
    pool = TimePooling("attention", 6).double()
    pool(_outputs(), None, LENGTHS)
    assert pool.last_weights is not None
    assert torch.all(pool.last_weights[1, 2:] == 0)
    assert torch.allclose(pool.last_weights[0].sum(), torch.tensor(1.0, dtype=torch.float64))


@pytest.mark.parametrize("layer_class", [LSTM, GRU])
def test_last_from_outputs_equals_last_from_the_final_state(layer_class: type) -> None:
    torch.manual_seed(1)
    layer = layer_class(3, 4, bidirectional=True, dtype=torch.float64)
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 1, 4])
    out, state = layer(x, lengths=lengths)
    pool = TimePooling("last", 8, directions=2)
    assert torch.allclose(pool(out, None, lengths), pool(out, state, lengths), atol=1e-12)


def test_unknown_mode_and_directions_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="pooling"):
        TimePooling("median", 4)
    with pytest.raises(ConfigError, match="directions"):
        TimePooling("last", 4, directions=3)
