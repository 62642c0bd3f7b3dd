"""Optimizers decrease a quadratic, follow PyTorch's update rules, and clipping behaves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.scratch import (
    SGD,
    Adagrad,
    Adam,
    RMSprop,
    ScratchError,
    clip_by_global_norm,
    clip_by_value,
    global_norm,
)

TARGET = np.array([1.0, -2.0, 3.0])
OPTIMIZERS = {
    "sgd": (lambda: SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd_momentum": (
        lambda: SGD(lr=0.05, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    ),
    "rmsprop": (lambda: RMSprop(lr=0.05), lambda p: torch.optim.RMSprop(p, lr=0.05)),
    "adagrad": (lambda: Adagrad(lr=0.5), lambda p: torch.optim.Adagrad(p, lr=0.5)),
    "adam": (lambda: Adam(lr=0.1), lambda p: torch.optim.Adam(p, lr=0.1)),
}


def quadratic(w: np.ndarray) -> tuple[float, np.ndarray]:
    diff = w - TARGET
    return float((diff**2).sum()), 2 * diff


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_decreases_a_quadratic(name) -> None:
    opt = OPTIMIZERS[name][0]()
    params = {"w": np.zeros(3)}
    start, _ = quadratic(params["w"])
    for _ in range(100):
        _, grad = quadratic(params["w"])
        opt.step(params, {"w": grad})
    end, _ = quadratic(params["w"])
    assert end < 0.05 * start


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_matches_torch_optim(name) -> None:
    make_mine, make_theirs = OPTIMIZERS[name]
    mine, params = make_mine(), {"w": np.array([0.5, -1.0, 2.0])}
    weight = torch.tensor(params["w"].copy(), requires_grad=True)
    theirs = make_theirs([weight])
    for _ in range(5):
        _, grad = quadratic(params["w"])
        mine.step(params, {"w": grad})
        theirs.zero_grad()
        ((weight - torch.from_numpy(TARGET)) ** 2).sum().backward()
        theirs.step()
    np.testing.assert_allclose(params["w"], weight.detach().numpy(), atol=1e-12)


def test_adam_first_step_by_hand() -> None:
    params = {"w": np.array([1.0, -1.0])}
    Adam(lr=0.1, betas=(0.9, 0.999), eps=1e-8).step(params, {"w": np.array([2.0, -0.5])})
    # m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2: the first step is lr * g / (|g| + eps)
    expected = np.array([1.0 - 0.1 * 2.0 / (2.0 + 1e-8), -1.0 + 0.1 * 0.5 / (0.5 + 1e-8)])
    np.testing.assert_allclose(params["w"], expected, rtol=0, atol=1e-15)


def test_clip_by_value() -> None:
    grads = {"a": np.array([-3.0, 0.5, 2.0]), "b": np.array([[1.5, -0.2]])}
    clip_by_value(grads, 1.0)
    assert grads["a"].tolist() == [-1.0, 0.5, 1.0]
    assert grads["b"].tolist() == [[1.0, -0.2]]


def test_clip_by_global_norm_matches_torch() -> None:
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([4.0])}
    norm = clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    assert global_norm(grads) == pytest.approx(1.0, abs=1e-6)
    tensors = [
        torch.tensor([3.0, 0.0], dtype=torch.float64),
        torch.tensor([4.0], dtype=torch.float64),
    ]
    for t in tensors:
        t.grad = t.clone()
    torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    np.testing.assert_allclose(grads["a"], tensors[0].grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(grads["b"], tensors[1].grad.numpy(), atol=1e-12)
    small = {"a": np.array([0.3, 0.4])}
    clip_by_global_norm(small, 1.0)
    assert small["a"].tolist() == [0.3, 0.4]


def test_bad_settings_raise() -> None:
    with pytest.raises(ScratchError, match="lr"):
        Adam(lr=0.0)
    with pytest.raises(ScratchError):
        clip_by_value({}, -1.0)
