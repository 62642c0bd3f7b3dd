"""Importable pieces for the multi-process tests (spawned workers import this module by name)."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from rnnkit.train import Trainer
from rnnkit.train.distributed import context, is_main_process


class ShuffledLoader:
    """Batches of ``({"input": x[idx]}, y[idx])``; the order is a pure function of (seed, epoch)."""

    def __init__(self, x, y, batch_size, seed=0, shuffle=True):
        self.x, self.y, self.batch_size, self.seed, self.shuffle = x, y, batch_size, seed, shuffle
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.x)
        gen = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield {"input": self.x[idx]}, self.y[idx]


def blobs(n=101, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=gen, dtype=torch.float64)
    return x, (x[:, 0] + x[:, 1] * x[:, 2] > 0).long()


def train_mlp(out: str, epochs: int = 3) -> None:
    """Train a small float64 MLP (uneven last batches: 101 rows by 16, validation 33 by 7) and
    save weights and history on rank 0 (metadata: the world size that trained it)."""
    torch.manual_seed(0)
    x, y = blobs()
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
    ).double()
    trainer = Trainer(lr=0.05, metrics=("accuracy", "f1", "auc"), clip_norm=1.0, verbose=0, seed=0)
    history = trainer.fit(
        model, ShuffledLoader(x, y, 16),
        validation_data=ShuffledLoader(x[:33], y[:33], 7, shuffle=False), epochs=epochs,
    )
    if is_main_process():
        ctx = context()
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(state, out, metadata={
            "history": history.to_csv(), "world": str(ctx.world_size if ctx else 1),
        })


def parent_pids() -> dict[int, int]:
    """pid -> parent pid of every process, read from /proc (the DDP process-tree tests)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found
