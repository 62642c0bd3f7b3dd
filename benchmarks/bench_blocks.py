"""Residual blocks: a training step with the fused convolution and dropout-add kernels against
the same step on torch's ops, in the same process.

    python -m benchmarks.bench_blocks [--quick]

The step is a character language model's (B = 32 windows of T = 64 tokens, 65 symbols, a
64-wide embedding): ``ResidualBlocks("mingru", 64, H, 3, dropout=0.1)`` under a softmax layer,
forward, backward and an Adam update. "torch ops" runs the blocks' convolution as K shifted
multiply-adds and the dropout as ``F.dropout`` plus an add (:func:`rnnkit.nn.blocks.block_kernels`
returning None); "fused" is the shipped path. For scale, the same step of ``LanguageModel()``'s
default stack (a 2 x 256 LSTM, oneDNN's fused kernel) is timed too. Then SelectiveSSM's training
step with its causal convolution on ``F.conv1d`` and on the same kernel.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import torch

from benchmarks.common import interleaved, machine, run_as_script, table
from rnnkit.nn import ResidualBlocks
from rnnkit.nn.registry import make_layer

RESULTS = Path(__file__).resolve().parent / "results" / "blocks.md"
BATCH, STEPS, VOCAB, EMBEDDING = 32, 64, 65, 64
WIDTHS = (128, 256, 384, 512)


def _step(stack: torch.nn.Module, width: int) -> Callable[[], None]:
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(VOCAB, EMBEDDING)
    head = torch.nn.Linear(width, VOCAB)
    params = [*embedding.parameters(), *stack.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    x = torch.randint(0, VOCAB, (BATCH, STEPS))
    y = torch.randint(0, VOCAB, (BATCH, STEPS))

    def step() -> None:
        optimizer.zero_grad()
        out, _ = stack(embedding(x))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        optimizer.step()

    return step


def _on_torch_ops(step: Callable[[], None]) -> None:
    with mock.patch("rnnkit.nn.blocks.block_kernels", return_value=None):
        step()


def _ssm_step(steps: int) -> Callable[[], None]:
    from rnnkit.nn import SelectiveSSM

    torch.manual_seed(0)
    layer = SelectiveSSM(128, 128)
    x = torch.randn(BATCH, steps, 128, requires_grad=True)

    def step() -> None:
        out, _ = layer(x)
        out.sum().backward()

    return step


def _ssm_on_conv1d(step: Callable[[], None]) -> None:
    from rnnkit.nn.kernels import dispatch

    real = dispatch.kernels_for
    with mock.patch.object(dispatch, "kernels_for",
                           lambda kind, dtype: None if kind == "block" else real(kind, dtype)):
        step()


def ssm_rows(repeats: int, lengths: tuple[int, ...]) -> list[list[object]]:
    """SelectiveSSM's training step with its causal convolution on ``F.conv1d`` and on the
    blocks' fused kernel (the layer's numba path either way)."""
    rows: list[list[object]] = []
    for steps in lengths:
        step = _ssm_step(steps)
        times = interleaved({"conv1d": functools.partial(_ssm_on_conv1d, step), "fused": step},
                            repeats=repeats, warmup=2)
        rows.append([steps, f"{times['conv1d'] * 1e3:.1f}", f"{times['fused'] * 1e3:.1f}",
                     round(times["conv1d"] / times["fused"], 2)])
    return rows


def run(quick: bool = False) -> str:
    load = os.getloadavg()[0]
    repeats = 3 if quick else 9
    lstm = _step(make_layer("lstm", EMBEDDING, 256, num_layers=2, dropout=0.1), 256)
    rows: list[list[object]] = []
    for width in (384,) if quick else WIDTHS:
        torch.manual_seed(0)
        step = _step(ResidualBlocks("mingru", EMBEDDING, width, 3, dropout=0.1), width)
        times = interleaved({"torch": functools.partial(_on_torch_ops, step), "fused": step,
                             "lstm": lstm}, repeats=repeats, warmup=2)
        rows.append([width, f"{times['torch'] * 1e3:.1f}", f"{times['fused'] * 1e3:.1f}",
                     round(times["torch"] / times["fused"], 2),
                     round(times["fused"] / times["lstm"], 2)])
    return "\n".join([
        "## Residual blocks: fused convolution and dropout-add",
        "",
        f"Training step (forward, backward, Adam) of a character LM: B={BATCH}, T={STEPS}, "
        f"{VOCAB} symbols, embedding {EMBEDDING}, `ResidualBlocks(\"mingru\", {EMBEDDING}, H, 3, "
        "dropout=0.1)`; ms, medians of interleaved repeats. \"torch ops\": the blocks' "
        "convolution as K=4 shifted multiply-adds and `F.dropout` + add; \"fused\": "
        "`rnnkit.nn.kernels.block` (one pass each). Last column: the fused step against "
        "`LanguageModel()`'s default stack (2 x 256 LSTM, oneDNN) timed in the same rounds.",
        "",
        table(["H", "torch ops ms", "fused ms", "speed-up", "fused / LSTM 2x256"], rows),
        "",
        "The same convolution kernel runs `SelectiveSSM`'s (Mamba's) causal convolution when the "
        f"layer runs numba. Training step (forward, backward) of `SelectiveSSM(128, 128)`, "
        f"B={BATCH}, float32, ms, medians of interleaved repeats, the convolution on `F.conv1d` "
        "(grouped, with two transposes) and on the kernel:",
        "",
        table(["T", "F.conv1d ms", "fused ms", "speed-up"],
              ssm_rows(repeats, (128,) if quick else (128, 512))),
        "",
        f"Machine: {machine()}; 1-minute load {load:.2f} before.",
        "",
        "Reproduce: `python -m benchmarks.bench_blocks`",
    ])


if __name__ == "__main__":
    run_as_script(run, RESULTS)
