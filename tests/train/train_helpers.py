"""Small loaders and models for the trainer tests (plain torch; no rnnkit.nn / rnnkit.data)."""

from __future__ import annotations

import time

import torch


class TensorLoader:
    """Batches of ``({"x": x[idx]}, y[idx])``; the order is a pure function of (seed, epoch)."""

    def __init__(self, x, y, batch_size=16, shuffle=True, seed=0, delay=0.0, extra=None):
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.delay = delay
        self.extra = extra or {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.x)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
            order = torch.randperm(n, generator=gen)
        else:
            order = torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            if self.delay:
                time.sleep(self.delay)
            inputs = {"x": self.x[idx], **{k: v[idx] for k, v in self.extra.items()}}
            yield inputs, self.y[idx]


def blobs(n=128, features=4, classes=3, seed=0, dtype=torch.float32):
    """Linearly separable-ish Gaussian blobs."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=gen)
    centers = torch.randn(classes, features, generator=gen) * 3
    x = centers[y] + torch.randn(n, features, generator=gen)
    return x.to(dtype), y


class MLP(torch.nn.Module):
    """Linear -> tanh -> dropout -> Linear; dropout makes the trainer's seed matter."""

    def __init__(self, features=4, hidden=16, classes=3, dropout=0.2):
        super().__init__()
        self.fc1 = torch.nn.Linear(features, hidden)
        self.drop = torch.nn.Dropout(dropout)
        self.fc2 = torch.nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc2(self.drop(torch.tanh(self.fc1(x))))


class GRUClassifier(torch.nn.Module):
    """torch.nn.GRU over (B, T, F), last real step via lengths, then a linear head."""

    def __init__(self, features=2, hidden=12, classes=2):
        super().__init__()
        self.gru = torch.nn.GRU(features, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, x, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                         enforce_sorted=False)
        _, h = self.gru(packed)
        return self.head(h[-1])


def sequence_task(n=192, t=10, seed=0):
    """Label = whether the first feature's sum over the real steps is positive; lengths 3..t."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, t, 2, generator=gen)
    lengths = torch.randint(3, t + 1, (n,), generator=gen)
    mask = torch.arange(t)[None, :] < lengths[:, None]
    x = x * mask[..., None]
    y = (x[..., 0].sum(1) > 0).long()
    return x, lengths, y


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
