"""Chrono initialization: every gated cell remembers across hundreds of steps from the start."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.nn import chrono_init_
from rnnkit.nn.chrono import has_timescale
from rnnkit.nn.registry import make_layer

GATED = ("lstm", "gru", "mingru", "minlstm", "mlstm", "lru", "ssm")
STEPS = 200


def _reach(layer: torch.nn.Module) -> float:
    """max |d (sum of the outputs at step T) / d (initial state)|: how much of the state a layer
    starts from is still there T steps later (the memory, apart from how inputs are scaled)."""
    torch.manual_seed(1)
    x = 0.1 * torch.randn(2, STEPS, 3, dtype=torch.float64)
    _, state = layer(x[:, :1])
    parts = state if isinstance(state, tuple) else (state,)
    start = tuple(part.detach().requires_grad_() for part in parts)
    out, _ = layer(x, initial_state=start if isinstance(state, tuple) else start[0])
    grads = torch.autograd.grad(out[:, -1].sum(), start)
    return max(float(grad.abs().max()) for grad in grads)


def _layer(cell: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return make_layer(cell, 3, 8, dtype=torch.float64)


@pytest.mark.parametrize("cell", GATED)
def test_chrono_init_keeps_more_of_the_state_across_200_steps(cell: str) -> None:
    layer = _layer(cell)
    before = _reach(layer)
    chrono_init_(layer, 10 * STEPS, generator=torch.Generator().manual_seed(0))
    after = _reach(layer)
    assert after > before
    if cell not in ("mlstm", "ssm"):  # their outputs are gated and normalized: smaller scale
        assert after > 0.3


@pytest.mark.parametrize("cell", ("lstm", "gru", "mingru", "minlstm"))
def test_the_default_init_forgets_within_the_same_span(cell: str) -> None:
    # what chrono_init_ changes: the usual biases keep about half the state per step
    assert _reach(_layer(cell)) < 1e-2


def test_mingru_timescales_span_the_range_and_are_seeded() -> None:
    def timescales(seed: int) -> torch.Tensor:
        layer = chrono_init_(make_layer("mingru", 2, 256), 1000,
                             generator=torch.Generator().manual_seed(seed))
        return 1 / torch.sigmoid(layer.bias_ih_l0[:256].detach())  # 1 / z = 1 + u

    first = timescales(0)
    assert torch.equal(first, timescales(0)) and not torch.equal(first, timescales(1))
    assert float(first.min()) >= 2 - 1e-3 and float(first.max()) <= 1000 + 1e-2
    assert float(first.median()) == pytest.approx(500, rel=0.2)


def test_every_layer_and_direction_is_set_and_other_weights_kept() -> None:
    torch.manual_seed(0)
    layer = make_layer("lstm", 3, 4, num_layers=2, bidirectional=True)
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    chrono_init_(layer, 100)
    for name, value in layer.state_dict().items():
        if name.startswith("bias_ih"):
            forget, entry = value[4:8], value[0:4]
            assert bool((forget > 0).all()) and torch.allclose(entry, -forget)
        elif name.startswith("bias_hh"):
            assert bool((value[:8] == 0).all()) and torch.equal(value[8:], before[name][8:])
        else:
            assert torch.equal(value, before[name]), name


@pytest.mark.parametrize(
    ("build", "max_timescale", "message"),
    [
        (lambda: make_layer("rnn", 3, 4), 100, "no gate"),
        (lambda: make_layer("gru", 3, 4, bias=False), 100, "bias=False"),
        (lambda: make_layer("mingru", 3, 4), 1, "max_timescale"),
        (lambda: make_layer("mingru", 3, 4), float("inf"), "max_timescale"),
        (lambda: make_layer("mingru", 3, 4), True, "max_timescale"),
        (lambda: torch.nn.Linear(3, 4), 100, "recurrent layer"),
    ],
)
def test_what_cannot_be_set_is_a_one_line_error(build, max_timescale, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message) as info:
        chrono_init_(build(), max_timescale)
    assert "\n" not in str(info.value)


def test_which_layers_have_a_timescale_to_set() -> None:
    assert all(has_timescale(make_layer(cell, 3, 4)) for cell in GATED)
    assert not has_timescale(make_layer("rnn", 3, 4))
    assert not has_timescale(torch.nn.Linear(3, 4))
