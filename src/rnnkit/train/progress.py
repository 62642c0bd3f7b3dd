"""Progress output of the Trainer: a rich progress bar on a terminal, one line per epoch otherwise.

``verbose``: 0 silent; 1 a bar per epoch when ``stream`` is a terminal, else one line per epoch
(CI logs, pipes); 2 one line per epoch. Output goes to stderr so that stdout stays clean for
results.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

_SKIP = {"epoch", "seconds", "lr", "samples_per_second"}


def format_number(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # nan
            return "nan"
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4f}"
    return str(value)


def format_logs(logs: dict[str, Any]) -> str:
    return " - ".join(f"{k}: {format_number(v)}" for k, v in logs.items() if k not in _SKIP)


class Progress:
    """Reports epochs and batches; chooses the bar or plain lines from ``verbose`` and the stream.
    """

    def __init__(self, verbose: int, epochs: int | None, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.verbose = verbose
        self.epochs = epochs
        is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.use_bar = verbose == 1 and is_tty
        self._bar: Any = None
        self._task: Any = None
        self._last_refresh = 0.0

    def epoch_begin(self, epoch: int, num_batches: int, done: int = 0) -> None:
        if not self.use_bar:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn(self._epoch_label(epoch + 1)),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=Console(file=self.stream),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("train", total=num_batches, completed=done, info="")

    def batch_end(self, done: int, logs_fn: Any) -> None:
        """``logs_fn()`` gives the running numbers; called at most ~10 times a second."""
        if self._bar is None:
            return
        now = time.perf_counter()
        if now - self._last_refresh < 0.1:
            self._bar.update(self._task, completed=done)
            return
        self._last_refresh = now
        logs = logs_fn()
        speed = logs.get("samples_per_second")
        info = format_logs(logs) + (f" - {speed:,.0f} samples/s" if speed else "")
        self._bar.update(self._task, completed=done, info=info)

    def epoch_end(self, record: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self.verbose == 0:
            return
        speed = record.get("samples_per_second")
        seconds = record["seconds"]
        parts = [self._epoch_label(record["epoch"]),
                 f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.0f}s"]
        if speed:
            parts.append(f"{speed:,.0f} samples/s")
        parts.append(format_logs(record))
        if "lr" in record:
            parts.append(f"lr: {record['lr']:.3g}")
        self.message(" - ".join(p for p in parts if p))

    def _epoch_label(self, number: int) -> str:
        """"Epoch 3/20", or "Epoch 3" when the epochs are not counted (until a time budget)."""
        return f"Epoch {number}" if self.epochs is None else f"Epoch {number}/{self.epochs}"

    def message(self, text: str) -> None:
        if self.verbose == 0:
            return
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


__all__ = ["Progress", "format_logs"]
