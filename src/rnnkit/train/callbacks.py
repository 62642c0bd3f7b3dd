"""Callbacks: code that runs at fixed points of :meth:`rnnkit.train.Trainer.fit`.

Hooks (epoch indices are 0-based as in Keras; History records number epochs from 1)::

    on_train_begin(logs)   on_epoch_begin(epoch, logs)   on_batch_end(batch, logs)
    on_epoch_end(epoch, logs)   on_train_end(logs)

``logs`` at epoch end holds the epoch's record (loss, metrics, val_ numbers, seconds, lr). A
callback stops training with ``self.request_stop("reason")``; the trainer finishes the current epoch
(or only the current batch with ``immediately=True``) and records the reason in
``History.stopped_reason``. Callbacks that carry state across epochs implement
``state_dict``/``load_state_dict`` (tensors, numbers, strings) so that resuming from a checkpoint
restores them too.

Example:
    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(f"epoch {epoch}: {logs['loss']:.2f}")
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from rnnkit.errors import ConfigError
from rnnkit.io.atomic import atomic_write
from rnnkit.train.history import is_improvement, monitor_mode

if TYPE_CHECKING:
    from rnnkit.train.trainer import Trainer


class Callback:
    """Base class: override the hooks you need. ``self.trainer`` and ``self.model`` are set by fit.
    """

    trainer: Trainer | None = None
    model: torch.nn.Module | None = None

    def set_context(self, trainer: Trainer, model: torch.nn.Module) -> None:
        self.trainer = trainer
        self.model = model

    def request_stop(self, reason: str = "callback", immediately: bool = False) -> None:
        """Ask the trainer to stop after the current epoch (after the current batch if
        ``immediately``).
        """
        if self.trainer is not None:
            self.trainer.request_stop(reason, immediately)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None: ...

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None: ...

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """State to save in checkpoints (tensors, numbers, strings, lists, dicts)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def _monitored(logs: dict[str, Any] | None, monitor: str, who: str) -> float:
    logs = logs or {}
    if monitor not in logs:
        available = ", ".join(k for k in logs if k not in ("epoch", "seconds", "lr")) or "none"
        raise ConfigError(
            f"{who}: monitor {monitor!r} is not logged (available: {available}); "
            "pass validation_data or choose another monitor"
        )
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    With ``restore_best_weights`` the model ends training with the weights of its best epoch
    (whatever made training end). ``mode`` "auto" minimizes losses and errors, maximizes scores.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        restore_best_weights: bool = True,
        mode: str = "auto",
        min_delta: float = 0.0,
    ) -> None:
        if patience < 0:
            raise ConfigError(f"patience: must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.mode = monitor_mode(monitor, mode)
        self.min_delta = abs(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.best_weights: dict[str, torch.Tensor] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.best, self.best_epoch, self.wait, self.best_weights = None, None, 0, None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if is_improvement(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights and self.model is not None:
                self.best_weights = {
                    k: v.detach().clone() for k, v in self.model.state_dict().items()
                }
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.request_stop("early_stopping")

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None and self.model is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_weights": self.best_weights,
        }


class ModelCheckpoint(Callback):
    """Save the model weights (safetensors, atomic) after each epoch, or only when ``monitor``
    improves.

    ``path`` may contain ``{epoch}`` and log keys, e.g.
    ``"ckpt/model-{epoch:02d}-{val_loss:.3f}.safetensors"`` (``epoch`` is 1-based here, like
    History).
    """

    def __init__(
        self,
        path: str | Path,
        save_best_only: bool = False,
        monitor: str = "val_loss",
        mode: str = "auto",
    ) -> None:
        self.path = str(path)
        self.save_best_only = save_best_only
        self.monitor = monitor
        self.mode = monitor_mode(monitor, mode)
        self.best: float | None = None
        self.last_saved: str | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not is_improvement(value, self.best, self.mode):
                return
            self.best = value
        if self.model is None:
            return
        from safetensors.torch import save as safetensors_save

        logs["epoch"] = epoch + 1
        target = Path(self.path.format(**logs))
        target.parent.mkdir(parents=True, exist_ok=True)
        state = {
            k: v.detach().cpu().contiguous().clone() for k, v in self.model.state_dict().items()
        }
        atomic_write(target, safetensors_save(state))
        self.last_saved = str(target)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "last_saved": self.last_saved}


class CSVLogger(Callback):
    """Rewrite ``path`` with the full history (one row per epoch) after every epoch, atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.trainer is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, self.trainer.history.to_csv())


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks: Any) -> None:
        allowed = {"on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end",
                   "on_train_end"}
        unknown = set(hooks) - allowed
        if unknown:
            raise ConfigError(f"LambdaCallback: unknown hooks {sorted(unknown)}; "
                              f"use {sorted(allowed)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)


class TimeDecay(Callback):
    """Linear learning-rate decay to ``floor * lr`` over the time budget (or over the epochs).

    Under a time budget the number of epochs is unknown in advance, so the per-epoch schedules of
    the Trainer cannot end on time; this one looks at the clock after every batch.
    """

    def __init__(
        self, time_budget: float | None, epochs: int, batches: int, floor: float = 0.1
    ) -> None:
        self.time_budget = time_budget
        self.total = epochs * batches
        self.floor = floor
        self.done = 0
        self.started = 0.0
        self.base: list[float] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.started = time.perf_counter()
        self.done = 0
        assert self.trainer is not None and self.trainer.optimizer is not None
        self.base = [float(g["lr"]) for g in self.trainer.optimizer.param_groups]

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.done += 1
        if self.time_budget is not None:
            progress = (time.perf_counter() - self.started) / self.time_budget
        else:
            progress = self.done / max(self.total, 1)
        scale = 1.0 - (1.0 - self.floor) * min(max(progress, 0.0), 1.0)
        assert self.trainer is not None and self.trainer.optimizer is not None
        for group, base in zip(self.trainer.optimizer.param_groups, self.base, strict=True):
            group["lr"] = base * scale

    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done}


__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger", "LambdaCallback",
           "TimeDecay"]
