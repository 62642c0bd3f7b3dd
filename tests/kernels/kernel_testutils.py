"""Shared helpers for the kernel tests: a layer's outputs and every gradient of a random loss."""

from __future__ import annotations

from typing import Any

import torch


def outputs_and_gradients(
    layer: Any, x: torch.Tensor, h0: torch.Tensor, lengths: Any
) -> list[torch.Tensor]:
    """Outputs, final state and the gradients of a random loss w.r.t. x, h0 and every weight."""
    x, h0 = x.clone().requires_grad_(), h0.clone().requires_grad_()
    out, h = layer(x, lengths=lengths, initial_state=h0)
    g = torch.Generator().manual_seed(5)
    loss = (out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum()
    loss = loss + (h * torch.randn(h.shape, generator=g, dtype=h.dtype)).sum()
    return [out, h, *torch.autograd.grad(loss, [x, h0, *layer.parameters()])]
