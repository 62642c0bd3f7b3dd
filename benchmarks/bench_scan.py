"""Scan layers (MinGRU, MinLSTM, LRU, SelectiveSSM, MLSTM) vs rnnkit.nn.LSTM: training speed and
step inference.

One layer each, F = H = 128 (LRU: N = 128 complex units), float32, batch 32, built in the same
process and timed round-robin against ``rnnkit.nn.LSTM(128, 128)`` (oneDNN's fused kernel):

- training: forward + backward (``out.square().mean()``) at T = 128, 512, 2048; each candidate
  is timed in pairs with the LSTM (``benchmarks.bench_nn.paired_timing``), the ratio is the
  median over rounds of t_LSTM / t_candidate (above 1 = faster than the LSTM);
- MinGRU and MinLSTM on the fused numba kernels (the default, ``rnnkit.nn.kernels.minrnn``)
  and on the torch scan path (``kernels="torch"``);
- the torch scan methods of MinGRU (``scan="chunked"``, ``"log"``, ``"sequential"``) side by
  side, which chose the default;
- step inference: one token at a time through the layer (``layer(x_t, initial_state=h)``,
  no autograd), the form generation uses, per token at B = 1 and B = 32, as t_candidate / t_LSTM
  (below 1 = cheaper than the LSTM).

Goals (issue 24): >= 3x the LSTM at T = 512, growing with T; step inference <= 1.5x per token.
The run applies rnnkit's malloc policy first (``rnnkit.allocator``, as every training does), so
the large buffers at T = 2048 are not mapped afresh at every step, for the LSTM and the
candidates alike. Ratios are only meaningful on a quiet machine: the run warns when the 1-minute
load average is 0.5 or more (other processes stall the two-thread torch steps unevenly).

Run: ``.venv/bin/python -m benchmarks.bench_scan`` (``--quick``: T = 128 and 512, fewer rounds);
writes ``benchmarks/results/scan.md``.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from benchmarks.bench_nn import paired_timing
from benchmarks.common import machine, run_as_script, table
from rnnkit import nn as rnn
from rnnkit.allocator import keep_freed_memory

RESULTS = Path(__file__).resolve().parent / "results" / "scan.md"
BATCH, WIDTH = 32, 128
QUIET_LOAD = 0.5

CANDIDATES: dict[str, Callable[[], nn.Module]] = {
    "MinGRU (numba)": lambda: rnn.MinGRU(WIDTH, WIDTH),
    "MinGRU (torch scan)": lambda: rnn.MinGRU(WIDTH, WIDTH, kernels="torch"),
    "MinLSTM (numba)": lambda: rnn.MinLSTM(WIDTH, WIDTH),
    "MinLSTM (torch scan)": lambda: rnn.MinLSTM(WIDTH, WIDTH, kernels="torch"),
    "LRU": lambda: rnn.LRU(WIDTH, WIDTH),
    "SelectiveSSM": lambda: rnn.SelectiveSSM(WIDTH, WIDTH),
    "MLSTM": lambda: rnn.MLSTM(WIDTH, WIDTH),
}
SCAN_METHODS = ("chunked", "log", "sequential")
# the selective SSM keeps E*N = 32*H values per token for a, b and h: 1 GB each at T=2048
LONGEST = {"SelectiveSSM": 512}


def _train_step(layer: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        layer.zero_grad(set_to_none=True)
        out, _ = layer(x)
        out.square().mean().backward()

    return step


def _token_step(layer: nn.Module, x: torch.Tensor, tokens: int) -> Callable[[], None]:
    def generate() -> None:
        state = None
        with torch.no_grad():
            for t in range(tokens):
                _, state = layer(x[:, t : t + 1], initial_state=state)

    return generate


def _lstm() -> nn.Module:
    return rnn.LSTM(WIDTH, WIDTH)


def training(steps_list: tuple[int, ...], rounds: int) -> list[list[object]]:
    """One row per candidate: ms per step and the ratio to the LSTM at each T."""
    torch.manual_seed(0)
    lstm = _lstm()
    rows: dict[str, list[object]] = {name: [name] for name in CANDIDATES}
    rows["LSTM (ms)"] = ["LSTM (ms)"]
    for steps in steps_list:
        x = torch.randn(BATCH, steps, WIDTH)
        best_lstm = float("inf")
        for name, build in CANDIDATES.items():
            if steps > LONGEST.get(name, steps):
                rows[name].append("(skipped: memory)")
                continue
            best, ratio = paired_timing(
                {"torch": _train_step(lstm, x), name: _train_step(build(), x)}, rounds
            )
            best_lstm = min(best_lstm, best["torch"])
            rows[name].append(f"{1000 * best[name]:.1f} ms, {ratio:.2f}x")
        rows["LSTM (ms)"].append(f"{1000 * best_lstm:.1f} ms, 1x")
    return list(rows.values())


def scan_methods(steps_list: tuple[int, ...], rounds: int) -> list[list[object]]:
    """MinGRU training step per scan method (ms), and the ratio to the LSTM."""
    torch.manual_seed(0)
    lstm = _lstm()
    rows = []
    for method in SCAN_METHODS:
        row: list[object] = [f'scan="{method}"']
        for steps in steps_list:
            if method == "sequential" and steps > 512:
                row.append("(skipped)")
                continue
            x = torch.randn(BATCH, steps, WIDTH)
            layer = rnn.MinGRU(WIDTH, WIDTH, scan=method, kernels="torch")
            best, ratio = paired_timing(
                {"torch": _train_step(lstm, x), method: _train_step(layer, x)}, rounds
            )
            row.append(f"{1000 * best[method]:.1f} ms, {ratio:.2f}x")
        rows.append(row)
    return rows


def step_inference(tokens: int, rounds: int) -> list[list[object]]:
    """Per-token generation time (microseconds) and the ratio candidate / LSTM, B = 1 and 32."""
    torch.manual_seed(0)
    rows = []
    for batch in (1, BATCH):
        x = torch.randn(batch, tokens, WIDTH)
        lstm = _lstm().eval()
        for name, build in CANDIDATES.items():
            best, ratio = paired_timing(
                {"torch": _token_step(lstm, x, tokens),
                 name: _token_step(build().eval(), x, tokens)},
                rounds,
            )
            us = 1e6 * best[name] / tokens
            lstm_us = 1e6 * best["torch"] / tokens
            rows.append([f"{name}, B={batch}", f"{us:.0f}", f"{lstm_us:.0f}", f"{1 / ratio:.2f}x"])
    return rows


def run(quick: bool = False) -> str:
    """The markdown section of benchmarks/results/scan.md."""
    load_before = os.getloadavg()[0]
    if load_before >= QUIET_LOAD:
        warnings.warn(
            f"1-minute load average {load_before:.1f} >= {QUIET_LOAD}: other processes share the "
            "CPU, so these ratios are unreliable; rerun on a quiet machine",
            RuntimeWarning,
            stacklevel=2,
        )
    steps_list = (128, 512) if quick else (128, 512, 2048)
    rounds = 3 if quick else 7
    keep_freed_memory()  # as every rnnkit training does: the LSTM and the candidates alike
    started = time.perf_counter()
    train_rows = training(steps_list, rounds)
    method_rows = scan_methods(steps_list, rounds)
    step_rows = step_inference(32 if quick else 128, rounds)
    load_after = os.getloadavg()[0]
    header = ["layer", *(f"T={t}" for t in steps_list)]
    command = "python -m benchmarks.bench_scan" + (" --quick" if quick else "")
    return "\n".join([
        "## Scan layers (`MinGRU`, `MinLSTM`, `LRU`, `SelectiveSSM`, `MLSTM`) vs `LSTM`",
        "",
        f"Training step (forward + backward), B={BATCH}, F=H={WIDTH}, float32: best ms per step "
        "and throughput relative to `rnnkit.nn.LSTM` (median of in-round ratios; goal >= 3x at "
        "T=512, growing with T).",
        "",
        table(header, train_rows),
        "",
        "MinGRU by scan method (same measure):",
        "",
        table(header, method_rows),
        "",
        "Step inference (one token per layer call, no autograd): microseconds per token and "
        "the cost relative to the LSTM (goal <= 1.5x).",
        "",
        table(["layer", "us/token", "LSTM us/token", "cost vs LSTM"], step_rows),
        "",
        f"Machine: {machine()}. 1-min load average {load_before:.1f} before, {load_after:.1f} "
        f"after ({'quiet' if load_before < QUIET_LOAD else 'NOT quiet: ratios unreliable'}); "
        f"{time.perf_counter() - started:.0f} s. `{command}`.",
    ])


if __name__ == "__main__":
    run_as_script(run, RESULTS)
