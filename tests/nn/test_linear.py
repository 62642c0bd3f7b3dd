"""rnnkit.nn.Linear: a drop-in torch.nn.Linear (same state_dict, values, gradients, tying)."""

from __future__ import annotations

import torch

from rnnkit.nn import Linear


def test_same_state_dict_values_and_gradients_as_torch_linear() -> None:
    torch.manual_seed(0)
    ours, reference = Linear(128, 300), torch.nn.Linear(128, 300)
    reference.load_state_dict(ours.state_dict())
    assert list(ours.state_dict()) == ["weight", "bias"]
    x = torch.randn(6, 50, 128)
    for layer in (ours, reference):
        (layer(x) * torch.linspace(-1, 1, 300)).sum().backward()
    torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(ours.weight.grad, reference.weight.grad, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(ours.bias.grad, reference.bias.grad, rtol=1e-5, atol=1e-3)


def test_tied_weight_gets_both_gradients() -> None:
    torch.manual_seed(1)
    embedding, decoder = torch.nn.Embedding(400, 64), Linear(64, 400)
    decoder.weight = embedding.weight
    ids = torch.randint(0, 400, (32, 40))
    decoder(embedding(ids)).logsumexp(-1).sum().backward()
    assert embedding.weight.grad is not None
    reference = torch.nn.Embedding(400, 64)
    reference.weight.data.copy_(embedding.weight.data)
    torch.nn.functional.linear(reference(ids), reference.weight).logsumexp(-1).sum().backward()
    torch.testing.assert_close(embedding.weight.grad, reference.weight.grad, rtol=1e-4, atol=1e-3)
