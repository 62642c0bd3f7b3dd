"""History: what happened in each epoch of a training run.

One record per epoch: ``epoch`` (1-based), training ``loss`` and metrics, ``val_`` prefixed
validation numbers, ``seconds`` and ``lr``. ``stopped_reason`` says why training ended:
``"completed"``, ``"early_stopping"``, ``"time_budget"`` or ``"callback"``.

Example:
    >>> h = History()
    >>> h.append({"epoch": 1, "loss": 0.9, "val_loss": 1.0})
    >>> h.append({"epoch": 2, "loss": 0.5, "val_loss": 0.7})
    >>> h["val_loss"], h.best("val_loss")["epoch"]
    ([1.0, 0.7], 2)
    >>> History.from_csv(h.to_csv()).records == h.records
    True
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rnnkit.errors import ConfigError


def monitor_mode(monitor: str, mode: str = "auto") -> str:
    """``"min"`` or ``"max"`` for a monitored quantity: losses and errors go down, scores go up."""
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ConfigError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
    base = monitor.removeprefix("val_")
    lower_is_better = ("loss", "rmse", "mae", "mape", "smape", "mase", "perplexity", "bpc", "ppl")
    return "min" if base in lower_is_better or base.endswith("loss") else "max"


def is_improvement(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` (nan never improves)."""
    if value is None or math.isnan(value):
        return False
    if best is None or math.isnan(best):
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


class History:
    """Per-epoch records of a run, Keras-like: ``history["val_loss"]`` is the list of values."""

    def __init__(
        self, records: list[dict[str, Any]] | None = None, stopped_reason: str | None = None
    ):
        self.records: list[dict[str, Any]] = [dict(r) for r in records or []]
        self.stopped_reason = stopped_reason

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(dict(record))

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __getitem__(self, key: str) -> list[Any]:
        if not any(key in r for r in self.records):
            raise KeyError(f"{key!r} not in history; available: {', '.join(self.columns)}")
        return [r.get(key, float("nan")) for r in self.records]

    def __contains__(self, key: object) -> bool:
        return any(key in r for r in self.records)

    @property
    def columns(self) -> list[str]:
        """Column names in first-seen order (``epoch`` first)."""
        seen: dict[str, None] = {}
        for record in self.records:
            for key in record:
                seen.setdefault(key, None)
        return list(seen)

    @property
    def history(self) -> dict[str, list[Any]]:
        """Column name -> list of per-epoch values (the Keras ``History.history`` shape)."""
        return {key: self[key] for key in self.columns}

    def last(self) -> dict[str, Any]:
        return dict(self.records[-1]) if self.records else {}

    def best(self, monitor: str = "val_loss", mode: str = "auto") -> dict[str, Any]:
        """The record of the best epoch for ``monitor`` (lowest loss, highest score by default)."""
        if monitor not in self:
            raise ConfigError(f"monitor: {monitor!r} not in history; available: "
                              f"{', '.join(self.columns)}")
        direction = monitor_mode(monitor, mode)
        best_record: dict[str, Any] | None = None
        for record in self.records:
            value = record.get(monitor)
            if value is None:
                continue
            current = None if best_record is None else best_record[monitor]
            if is_improvement(float(value), current, direction):
                best_record = record
        if best_record is None:
            raise ConfigError(f"monitor: {monitor!r} has no finite value in history")
        return dict(best_record)

    def to_dict(self) -> dict[str, Any]:
        return {"records": [dict(r) for r in self.records], "stopped_reason": self.stopped_reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        return cls(data.get("records", []), data.get("stopped_reason"))

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The history as CSV text (``epoch`` first); also written to ``path`` when given."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        for record in self.records:
            writer.writerow({k: _format(v) for k, v in record.items()})
        text = buffer.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_csv(cls, source: str | os.PathLike[str]) -> History:
        """Parse CSV text or a CSV file written by :meth:`to_csv`."""
        text = str(source)
        if "\n" not in text and Path(text).is_file():
            text = Path(text).read_text(encoding="utf-8")
        elif isinstance(source, os.PathLike):
            text = Path(source).read_text(encoding="utf-8")
        records = []
        for row in csv.DictReader(io.StringIO(text)):
            records.append({k: _parse(v) for k, v in row.items() if v != ""})
        return cls(records)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs, stopped_reason={self.stopped_reason!r})"


def _format(value: Any) -> Any:
    return repr(value) if isinstance(value, float) else value


def _parse(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


__all__ = ["History", "monitor_mode", "is_improvement"]
