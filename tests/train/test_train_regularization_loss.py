"""A model's ``regularization_loss()`` is trained on, not reported."""

from __future__ import annotations

import torch

from rnnkit.train import Trainer


class _Penalised(torch.nn.Module):
    """A linear model whose forward leaves a penalty ``strength * |w|²`` for the trainer."""

    def __init__(self, strength: float) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            self.linear.weight.fill_(1.0)
        self.strength = strength
        self.calls = 0
        self._penalty: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._penalty = self.strength * self.linear.weight.pow(2).sum()
        return self.linear(x)

    def regularization_loss(self) -> torch.Tensor | None:
        self.calls += 1
        penalty, self._penalty = self._penalty, None
        return penalty


def _fit(strength: float) -> tuple[_Penalised, float]:
    x = torch.ones(4, 2)
    y = torch.full((4, 1), 2.0)  # w = (1, 1) fits exactly: the data loss is zero
    model = _Penalised(strength)
    history = Trainer(loss="mse", optimizer="sgd", lr=0.1, metrics=(), seed=0,
                      verbose=0).fit(model, [(x, y)], epochs=1)
    return model, history.last()["loss"]


def test_the_penalty_moves_the_weights_but_not_the_logged_loss() -> None:
    plain, plain_loss = _fit(0.0)
    penalised, logged = _fit(1.0)
    assert penalised.calls == 1
    assert torch.equal(plain.linear.weight, torch.ones(1, 2))  # zero data gradient
    # one SGD step on |w|²: w - 0.1 * 2w = 0.8 w
    torch.testing.assert_close(penalised.linear.weight, torch.full((1, 2), 0.8))
    assert logged == plain_loss == 0.0
