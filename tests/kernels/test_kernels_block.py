"""A residual block's fused kernels (rnnkit.nn.kernels.block): the causal depthwise convolution
against torch's shifted multiply-adds (values and every gradient in float64 to 1e-12, gradcheck,
float32 close), the dropout-then-add (keep rate, scale, a backward that uses the forward's mask,
seeded by torch's generator, gradcheck with a fixed seed), bits independent of the thread count,
and the block's choice of path (the fused and torch paths agree; RNNKIT_KERNELS=torch runs
torch's ops)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import ResidualBlocks
from rnnkit.nn.blocks import block_kernels
from rnnkit.nn.kernels.block_autograd import (
    CausalConvFunction,
    DropoutAddFunction,
    causal_conv,
    dropout_add,
)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RNNKIT_KERNELS", raising=False)


def _shifted(u: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    steps = u.shape[1] - weight.shape[1] + 1
    return bias + sum(weight[:, k] * u[:, k:k + steps] for k in range(weight.shape[1]))


def _conv_inputs(batch: int, steps: int, hidden: int, width: int,
                 dtype: torch.dtype) -> list[torch.Tensor]:
    torch.manual_seed(batch + steps + width)
    return [
        torch.randn(batch, steps + width - 1, hidden, dtype=dtype, requires_grad=True),
        torch.randn(hidden, width, dtype=dtype, requires_grad=True),
        torch.randn(hidden, dtype=dtype, requires_grad=True),
    ]


@pytest.mark.parametrize(("batch", "steps", "hidden", "width"),
                         [(1, 1, 1, 1), (3, 5, 4, 4), (19, 9, 7, 3), (40, 3, 5, 2)])
def test_conv_equals_the_shifted_sum_with_every_gradient(batch: int, steps: int, hidden: int,
                                                         width: int) -> None:
    inputs = _conv_inputs(batch, steps, hidden, width, torch.float64)
    grad = torch.randn(batch, steps, hidden, dtype=torch.float64)
    got = causal_conv(*inputs)
    got_grads = torch.autograd.grad(got, inputs, grad)
    expected = _shifted(*inputs)
    expected_grads = torch.autograd.grad(expected, inputs, grad)
    assert torch.allclose(got, expected, atol=1e-12, rtol=0)
    for mine, theirs in zip(got_grads, expected_grads, strict=True):
        assert mine.shape == theirs.shape
        assert torch.allclose(mine, theirs, atol=1e-12, rtol=0)


def test_conv_gradcheck_and_float32() -> None:
    inputs = _conv_inputs(9, 4, 3, 3, torch.float64)
    assert torch.autograd.gradcheck(CausalConvFunction.apply, inputs)
    small = [t.detach().float().requires_grad_() for t in inputs]
    got = causal_conv(*small)
    assert got.dtype == torch.float32
    assert torch.allclose(got.double(), _shifted(*inputs), atol=1e-5)


def test_dropout_add_keeps_one_minus_p_scaled_and_its_backward_uses_the_same_mask() -> None:
    x = torch.randn(64, 32, 100, requires_grad=True)
    y = torch.randn(64, 32, 100, requires_grad=True)
    p = 0.3
    out = dropout_add(x, y, p)
    branch = (out - x).detach()
    kept = branch != 0
    rate = kept.double().mean().item()
    assert abs(rate - (1 - p)) < 0.005  # 204800 draws: the standard error is 0.001
    assert torch.allclose(branch[kept], y.detach()[kept] / (1 - p), atol=1e-6)
    dx, dy = torch.autograd.grad(out, [x, y], torch.ones_like(out))
    assert torch.equal(dx, torch.ones_like(x))
    assert torch.equal(dy != 0, kept)
    assert torch.allclose(dy[kept], torch.full_like(dy[kept], 1 / (1 - p)))


def test_dropout_add_masks_follow_torchs_generator() -> None:
    x, y = torch.zeros(4, 8, 16), torch.ones(4, 8, 16)
    torch.manual_seed(3)
    first, second = dropout_add(x, y, 0.5), dropout_add(x, y, 0.5)
    torch.manual_seed(3)
    assert torch.equal(dropout_add(x, y, 0.5), first)
    assert not torch.equal(first, second)
    assert torch.equal(dropout_add(x, y, 0.0), y)


def test_dropout_add_gradcheck_with_a_fixed_seed() -> None:
    x = torch.randn(3, 5, 4, dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: DropoutAddFunction.apply(a, b, 0.4, 12345),
                                    [x, y])


def test_bits_do_not_depend_on_the_thread_count() -> None:
    inputs = _conv_inputs(48, 40, 64, 4, torch.float32)  # big enough to split between threads
    grad = torch.randn(48, 40, 64)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            torch.manual_seed(0)
            out = dropout_add(causal_conv(*inputs), inputs[0][:, 3:], 0.2)
            results.append([out, *torch.autograd.grad(out, inputs, grad)])
    finally:
        torch.set_num_threads(before)
    for one, two in zip(*results, strict=True):
        assert torch.equal(one, two)


def test_blocks_agree_on_the_fused_and_torch_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    stack = ResidualBlocks("mingru", 3, 6, num_layers=2, dropout=0.2).double().eval()
    x = torch.randn(4, 9, 3, dtype=torch.float64)
    assert block_kernels(x) is not None

    def run() -> list[torch.Tensor]:
        out, state = stack(x)
        return [out, state, *torch.autograd.grad(out.sum() + state.sum(), stack.parameters())]

    fused = run()
    monkeypatch.setenv("RNNKIT_KERNELS", "torch")
    assert block_kernels(x) is None
    for got, expected in zip(fused, run(), strict=True):
        assert torch.allclose(got, expected, atol=1e-12, rtol=0)


def test_a_training_block_drops_at_the_rate_on_either_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """With dropout 0.5 in training, about half the branch reaches the output on both paths."""
    torch.manual_seed(0)
    stack = ResidualBlocks("mingru", 8, 8, num_layers=1, dropout=0.5, conv_kernel=1).train()
    block = stack.blocks[0]
    x = torch.randn(16, 50, 8)
    for env in ("auto", "torch"):
        monkeypatch.setenv("RNNKIT_KERNELS", env)
        branch, _ = block.rnn(block.conv_bias + block.conv_weight[:, 0] * block.norm(x))
        out, _ = block(x, None)
        kept = (out - x).abs() > 1e-6
        assert abs(kept.float().mean().item() - 0.5) < 0.03, env
        assert torch.allclose((out - x)[kept], 2 * branch[kept], atol=1e-5), env
