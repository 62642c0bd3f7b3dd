"""rnnkit.train: the Trainer (fit / evaluate / predict), callbacks, metrics, history, checkpoints.

Example:
    >>> import torch
    >>> from rnnkit.train import Trainer, EarlyStopping
    >>> x = torch.linspace(-1, 1, 32).unsqueeze(1); y = 3 * x.squeeze(1)
    >>> loader = [({"input": x}, y)]
    >>> trainer = Trainer(loss="mse", optimizer="adam", lr=0.1, metrics=("rmse",), verbose=0)
    >>> history = trainer.fit(torch.nn.Linear(1, 1), loader, epochs=200)
    >>> history.last()["rmse"] < 0.05
    True
"""

from __future__ import annotations

from rnnkit.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
)
from rnnkit.train.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.train.history import History
from rnnkit.train.metrics import StreamingMetric, make_metric
from rnnkit.train.optim import make_loss, make_optimizer, make_schedule
from rnnkit.train.trainer import Trainer, TrainingInterrupted

__all__ = [
    "Trainer",
    "TrainingInterrupted",
    "History",
    "Callback",
    "EarlyStopping",
    "ModelCheckpoint",
    "CSVLogger",
    "LambdaCallback",
    "StreamingMetric",
    "make_metric",
    "make_loss",
    "make_optimizer",
    "make_schedule",
    "save_checkpoint",
    "load_checkpoint",
]
