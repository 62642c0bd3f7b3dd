"""rnnkit.nn.attention: padded source positions get exactly zero weight, for every score."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn import AdditiveAttention, DotAttention, GeneralAttention
from rnnkit.nn.attention import make_attention, masked_softmax

LENGTHS = torch.tensor([5, 3, 1])


def _modules() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [AdditiveAttention(6, 6, units=4), GeneralAttention(6, 6), DotAttention(),
            DotAttention(scaled=True)]


@pytest.mark.parametrize("index", range(4))
@pytest.mark.parametrize("steps", [None, 4])
def test_padded_positions_get_exactly_zero_weight(index: int, steps: int | None) -> None:
    attn = _modules()[index].double()
    keys = torch.randn(3, 5, 6, dtype=torch.float64) * 3
    keys[1, 3:] = 1e6  # huge padded keys must still get no weight
    mask = torch.arange(5)[None, :] < LENGTHS[:, None]
    query = (
        torch.randn(3, 6, dtype=torch.float64)
        if steps is None
        else torch.randn(3, steps, 6, dtype=torch.float64)
    )
    context, weights = attn(query, keys, mask=mask)
    w = weights if steps is not None else weights.unsqueeze(1)
    padded = ~mask[:, None, :].expand_as(w)
    assert torch.all(w[padded] == 0.0)
    torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:2], dtype=torch.float64))
    # The context is the weighted sum of the real keys only.
    expected = torch.einsum("bts,bsk->btk", w, keys.masked_fill(~mask[..., None], 0.0))
    torch.testing.assert_close(context if steps is not None else context.unsqueeze(1), expected)


def test_masked_positions_do_not_change_results_or_get_gradient() -> None:
    torch.manual_seed(1)
    attn = AdditiveAttention(4, 4).double()
    keys = torch.randn(2, 6, 4, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True] * 6, [True, True, True, False, False, False]])
    query = torch.randn(2, 4, dtype=torch.float64)
    context, _ = attn(query, keys, mask=mask)
    context.sum().backward()
    assert torch.all(keys.grad[1, 3:] == 0.0)
    short_context, _ = attn(query[1:], keys[1:, :3].detach())
    torch.testing.assert_close(context[1], short_context[0].detach(), rtol=1e-12, atol=1e-12)


def test_empty_source_gives_zero_weights_not_nan() -> None:
    scores = torch.randn(2, 3, 4)
    mask = torch.tensor([[True, True, False, False], [False, False, False, False]])
    weights = masked_softmax(scores, mask)
    assert torch.all(weights[1] == 0.0) and not torch.isnan(weights).any()
    torch.testing.assert_close(weights[0].sum(-1), torch.ones(3))


def test_prepared_keys_give_the_same_result() -> None:
    torch.manual_seed(2)
    attn = GeneralAttention(3, 5)
    keys, query = torch.randn(2, 4, 5), torch.randn(2, 3)
    a, wa = attn(query, keys)
    b, wb = attn(query, keys, prepared=attn.prepare(keys))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(wa, wb)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="general"):
        make_attention("dot", 4, 8)
    with pytest.raises(ConfigError, match="unknown"):
        make_attention("cosine", 4, 4)
    with pytest.raises(ShapeError, match="mask"):
        DotAttention()(torch.randn(2, 4), torch.randn(2, 3, 4),
                       mask=torch.ones(2, 5, dtype=torch.bool))
