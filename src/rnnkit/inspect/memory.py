"""Memory-length tasks: how far back can a vanilla RNN, an LSTM, a GRU or a scan cell remember?

Two classic synthetic tasks (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016):

- **adding problem**: inputs (B, T, 2) -- channel 0 random values in [0, 1), channel 1 a marker
  that is 1 at exactly two steps (one in each half of the sequence). Target (B,): the sum of the two
  marked values. Always predicting 1 gives MSE = Var(u1 + u2) = 2/12 ~ 0.167; a model "solves" the
  task when its MSE is far below that (here: < 0.05).
- **copy task**: K random symbols (1..A), then ``T`` blanks (0), a delimiter (A+1), then K more
  blanks during which the model must output the K symbols in order. Inputs (B, T+2K) token ids,
  targets (B, T+2K) with -100 everywhere except the last K steps. Chance accuracy is 1/A;
  "solved" means symbol accuracy >= 0.9.

:func:`train_memory_task` trains one cell on one task and length with a wall-clock budget and
fresh random batches each step; :func:`memory_benchmark` loops over cells and lengths.

Example:
    >>> x, y = adding_problem(4, 10, seed=0)
    >>> tuple(x.shape), tuple(y.shape), x[:, :, 1].sum(dim=1).tolist()
    ((4, 10, 2), (4,), [2.0, 2.0, 2.0, 2.0])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.allocator import keep_freed_memory
from rnnkit.cells import check_cell
from rnnkit.errors import ConfigError
from rnnkit.nn.chrono import chrono_init_, has_timescale
from rnnkit.nn.registry import make_layer

TASKS = ("adding", "copy")
# "chrono": gate biases for timescales up to the sequence length (rnnkit.nn.chrono_init_); a
# cell without a gate (the SimpleRNN) keeps its initialization.
INITS = ("default", "chrono")
COPY_LENGTH = 5  # symbols to copy
ADDING_BASELINE_MSE = 2.0 / 12.0
ADDING_SOLVED_MSE = 0.05
COPY_SOLVED_ACCURACY = 0.9


def adding_problem(
    batch_size: int, length: int, *, seed: int | None = None, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """A batch of the adding problem: x (B, T, 2), target (B,) = sum of the two marked values.

    One marker falls in the first half ``[0, T//2)``, the other in the second half ``[T//2, T)``.
    """
    if length < 2:
        raise ConfigError(f"length: the adding problem needs T >= 2, got {length}")
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    values = torch.rand(batch_size, length, generator=gen, dtype=dtype)
    half = length // 2
    first = torch.randint(0, half, (batch_size,), generator=gen)
    second = torch.randint(half, length, (batch_size,), generator=gen)
    markers = torch.zeros(batch_size, length, dtype=dtype)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    return torch.stack([values, markers], dim=-1), target


def copy_task(
    batch_size: int, length: int, *, symbols: int = 8, copy_length: int = COPY_LENGTH,
    seed: int | None = None,
) -> tuple[Tensor, Tensor]:
    """A batch of the copy task: ids (B, T+2K) and targets (B, T+2K), -100 except the last K steps.

    Id 0 is the blank, 1..``symbols`` the symbols, ``symbols + 1`` the delimiter (vocabulary
    ``symbols + 2``). The delimiter comes ``length`` steps after the last symbol.
    """
    if length < 1 or symbols < 2 or copy_length < 1:
        raise ConfigError("copy_task: need length >= 1, symbols >= 2 and copy_length >= 1")
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    k = copy_length
    total = length + 2 * k
    data = torch.randint(1, symbols + 1, (batch_size, k), generator=gen)
    x = torch.zeros(batch_size, total, dtype=torch.long)
    x[:, :k] = data
    x[:, k + length - 1] = symbols + 1
    y = torch.full((batch_size, total), -100, dtype=torch.long)
    y[:, -k:] = data
    return x, y


class MemoryNet(nn.Module):
    """A one-layer recurrent network for the memory tasks.

    ``task="adding"``: x (B, T, 2) -> (B,) regression from the last step.
    ``task="copy"``: ids (B, T) -> logits (B, T, symbols + 1) at every step (one-hot input).
    """

    def __init__(self, cell: str, task: str, hidden_size: int = 64, symbols: int = 8) -> None:
        super().__init__()
        check_cell(cell, "cells")
        if task not in TASKS:
            raise ConfigError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
        self.task = task
        self.vocab = symbols + 2
        width = 2 if task == "adding" else self.vocab
        self.encoder = make_layer(cell, width, hidden_size)
        self.head = nn.Linear(hidden_size, 1 if task == "adding" else symbols + 1)

    def forward(self, x: Tensor) -> Tensor:
        if self.task == "copy":
            x = nn.functional.one_hot(x, self.vocab).to(self.head.weight.dtype)
        out, _ = self.encoder(x)
        if self.task == "adding":
            return self.head(out[:, -1]).squeeze(-1)
        return self.head(out)


@dataclass
class MemoryResult:
    """One (task, cell, length) run: final score on a fixed test batch and training effort."""

    task: str
    cell: str
    length: int
    score: float  # MSE (adding) or symbol accuracy (copy)
    baseline: float  # predicting 1 (adding) or chance 1/symbols (copy)
    solved: bool
    steps: int
    seconds: float
    model: Any = field(default=None, repr=False, compare=False)  # the trained MemoryNet
    init: str = "default"

    def to_dict(self) -> dict[str, object]:
        """The numbers, JSON-ready (without the model)."""
        return {k: getattr(self, k) for k in ("task", "cell", "length", "score", "baseline",
                                              "solved", "steps", "seconds", "init")}


def _batch(task: str, batch_size: int, length: int, seed: int | None) -> tuple[Tensor, Tensor]:
    if task == "adding":
        return adding_problem(batch_size, length, seed=seed)
    return copy_task(batch_size, length, seed=seed)


def evaluate_memory(model: MemoryNet, task: str, length: int, n: int = 512) -> float:
    """MSE (adding) or copied-symbol accuracy (copy) on a fixed test batch (seed 12345)."""
    x, y = _batch(task, n, length, seed=12345)
    model.eval()
    with torch.no_grad():
        out = model(x)
    model.train()
    if task == "adding":
        return float(((out - y) ** 2).mean())
    keep = y != -100
    return float((out.argmax(-1)[keep] == y[keep]).float().mean())


def train_memory_task(
    task: str,
    cell: str,
    length: int,
    *,
    time_budget: float = 20.0,
    hidden_size: int = 64,
    batch_size: int = 64,
    lr: float = 2e-3,
    max_steps: int | None = None,
    seed: int = 0,
    init: str = "default",
) -> MemoryResult:
    """Train ``cell`` on ``task`` at sequence length ``length`` for ``time_budget`` seconds.

    Each step draws a fresh random batch (infinite data), Adam with gradient clipping at 1.0.
    ``init="chrono"`` sets the gate biases for timescales up to the whole input's length
    (:func:`rnnkit.nn.chrono_init_`; a cell without a gate, the SimpleRNN, keeps its own).
    """
    if time_budget <= 0:
        raise ConfigError(f"time_budget: expected a positive number of seconds, got {time_budget}")
    check_init(init)
    check_lr(lr)
    keep_freed_memory()  # as the Trainer does: long sequences, big buffers at every step
    torch.manual_seed(seed)
    model = MemoryNet(cell, task, hidden_size)
    if init == "chrono" and has_timescale(model.encoder):
        steps_in = length if task == "adding" else length + 2 * COPY_LENGTH
        chrono_init_(model.encoder, max(steps_in, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn: Callable[[Tensor, Tensor], Tensor]
    if task == "adding":
        loss_fn = nn.functional.mse_loss
    else:
        def loss_fn(out: Tensor, y: Tensor) -> Tensor:
            return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    started = time.perf_counter()
    steps = 0
    while time.perf_counter() - started < time_budget and (max_steps is None or steps < max_steps):
        x, y = _batch(task, batch_size, length, seed=seed * 1_000_003 + steps)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        steps += 1
    seconds = time.perf_counter() - started
    score = evaluate_memory(model, task, length)
    if task == "adding":
        baseline, solved = ADDING_BASELINE_MSE, score < ADDING_SOLVED_MSE
    else:
        baseline, solved = 1.0 / 8, score >= COPY_SOLVED_ACCURACY
    return MemoryResult(task, cell, length, score, baseline, solved, steps, seconds, model, init)


def check_init(init: str, argument: str = "init") -> str:
    """``init`` if it is one of :data:`INITS`; ConfigError naming ``argument`` otherwise."""
    if init not in INITS:
        raise ConfigError(f"{argument}: expected one of {', '.join(INITS)}, got {init!r}")
    return init


def check_lr(lr: float, argument: str = "lr") -> float:
    """``lr`` if it is a positive number; ConfigError naming ``argument`` otherwise."""
    if not lr > 0:
        raise ConfigError(f"{argument}: expected a positive learning rate, got {lr}")
    return lr


def parse_list(text: str, argument: str, kind: type = str) -> list:
    """Parse a comma-separated CLI list (``rnn,lstm`` or ``25,50``); ConfigError naming
    ``argument``.
    """
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise ConfigError(f"{argument}: expected a comma-separated list, got {text!r}")
    try:
        return [kind(item) for item in items]
    except ValueError:
        raise ConfigError(
            f"{argument}: could not read {text!r} as a list of {kind.__name__}"
        ) from None


def memory_benchmark(
    cells: Sequence[str] = ("rnn", "lstm", "gru"),
    lengths: Sequence[int] = (25, 50, 100, 200),
    tasks: Sequence[str] = ("adding",),
    *,
    time_budget: float = 20.0,
    hidden_size: int = 64,
    seed: int = 0,
    init: str = "default",
    lr: float = 2e-3,
    progress: Callable[[MemoryResult], None] | None = None,
) -> list[MemoryResult]:
    """Train every (task, cell, length) with the same budget, ``init`` and ``lr``; returns the
    results in that order."""
    check_init(init)
    check_lr(lr)
    for cell in cells:
        check_cell(cell, "cells")
    for task in tasks:
        if task not in TASKS:
            raise ConfigError(f"tasks: unknown task {task!r}; use adding or copy")
    for length in lengths:
        if length < 2:
            raise ConfigError(f"lengths: every length must be >= 2, got {length}")
    results = []
    for task in tasks:
        for cell in cells:
            for length in lengths:
                result = train_memory_task(
                    task, cell, length, time_budget=time_budget, hidden_size=hidden_size,
                    seed=seed, init=init, lr=lr,
                )
                results.append(result)
                if progress is not None:
                    progress(result)
    return results


def results_table(results: Sequence[MemoryResult]) -> str:
    """A markdown table: one row per (task, cell), one column per length, ``score (ok/no)``."""
    lengths = sorted({r.length for r in results})
    rows: dict[Any, Any] = {}
    for r in results:
        rows.setdefault((r.task, r.cell), {})[r.length] = r
    metric = {"adding": "MSE", "copy": "accuracy"}
    header = "| task (metric) | cell | " + " | ".join(f"T={t}" for t in lengths) + " |"
    lines = [header, "|" + "---|" * (len(lengths) + 2)]
    for (task, cell), by_length in rows.items():
        cells = []
        for t in lengths:
            r = by_length.get(t)
            cells.append("" if r is None else f"{r.score:.3f} {'solved' if r.solved else '-'}")
        lines.append(f"| {task} ({metric[task]}) | {cell} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
