"""Child process for the SIGKILL tests: trains a tiny model with checkpoints, printing progress.

Usage: python kill_child.py CKPT_DIR OUT_FILE [--resume] [--every N] [--big N] [--epochs N]
       [--delay S] [--slow-fsync S]

Prints "epoch E" after each epoch and "batch E:B" after each batch (flushed), so the parent can
kill it at a chosen moment; writes the final weights to OUT_FILE (safetensors) when it finishes.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))
from train_helpers import MLP, TensorLoader, blobs  # noqa: E402

from rnnkit.train import EarlyStopping, LambdaCallback, Trainer  # noqa: E402


class BigMLP(MLP):
    """MLP plus a large buffer so each checkpoint write takes a while."""

    def __init__(self, big: int):
        super().__init__(dropout=0.3)
        self.register_buffer("ballast", torch.arange(big, dtype=torch.float32))


def _slow_down_file_fsync(seconds: float) -> None:
    """Make fsync of regular files take ``seconds``: a kill then very likely lands mid-write."""
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            time.sleep(seconds)
        real_fsync(fd)

    os.fsync = slow_fsync


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("ckpt_dir")
    parser.add_argument("out")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--every", type=int, default=None)
    parser.add_argument("--big", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.01)
    parser.add_argument("--slow-fsync", type=float, default=0.0, help="simulate a slow disk")
    args = parser.parse_args(argv)
    if args.slow_fsync:
        _slow_down_file_fsync(args.slow_fsync)

    torch.set_num_threads(1)
    torch.manual_seed(1234)
    model = BigMLP(args.big) if args.big else MLP(dropout=0.3)
    x, y = blobs(n=128, seed=3)
    train = TensorLoader(x[:96], y[:96], batch_size=12, seed=5, delay=args.delay)
    val = TensorLoader(x[96:], y[96:], batch_size=32, shuffle=False)
    say = LambdaCallback(
        on_batch_end=lambda b, logs: print(f"batch {trainer_epoch[0]}:{b}", flush=True),
        on_epoch_begin=lambda e, logs: trainer_epoch.__setitem__(0, e),
        on_epoch_end=lambda e, logs: print(f"epoch {e}", flush=True),
    )
    trainer_epoch = [0]
    trainer = Trainer(
        lr=0.01,
        metrics=("accuracy", "f1"),
        schedule={"name": "step", "step_size": 2, "gamma": 0.5},
        callbacks=[say, EarlyStopping(monitor="val_loss", patience=50)],
        seed=11,
        verbose=0,
        checkpoint_dir=args.ckpt_dir,
        checkpoint_every=args.every,
        resume=args.resume,
    )
    history = trainer.fit(model, train, validation_data=val, epochs=args.epochs)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "ballast"}
    save_file(state, args.out,
              metadata={"loss": repr(history["loss"]), "epochs": str(len(history))})
    print("done", flush=True)


if __name__ == "__main__":
    main()
