"""Narrow layers on long sequences: the two rules that make them fast, each measured against its
alternative in the same process.

    python -m benchmarks.bench_narrow [--quick]

- weight gradient: ``dy^T x`` as ``dy.t() @ x`` (MKL's direct order) and as ``(x.t() @ dy).t()``
  (the order :func:`rnnkit.nn.kernels.gemm.weight_gradient` takes below ``NARROW_INPUT``
  features), for dy (N, M) and x (N, K), best of interleaved repeats;
- backward prefetch: the minGRU backward kernel (one thread, one direction, float32) with and
  without the prefetch of the pieces ``AHEAD`` steps back, at B = 64, T = 1,000 and widths around
  ``PREFETCH_BELOW_HIDDEN``; medians of interleaved repeats;
- step: one training step of ``rnnkit memory``'s minGRU on the adding problem (T = 1,000,
  B = 64, H = 64, two features) with both rules as shipped, and with the weight gradient forced
  to the direct order.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import interleaved, machine, run_as_script, table
from rnnkit.nn.kernels import gemm, minrnn

RESULTS = Path(__file__).resolve().parent / "results" / "narrow.md"
SHAPES = ((64000, 128, 2), (64000, 128, 10), (64000, 128, 16), (64000, 256, 64),
          (4096, 512, 2), (4096, 512, 128))
WIDTHS = (32, 64, 96, 128, 256)


def product_rows(repeats: int) -> list[list[object]]:
    """ms of both orders per (N, M, K), and the speed-up of the transposed one."""
    rows: list[list[object]] = []
    for n, m, k in SHAPES:
        dy, x = torch.randn(n, m), torch.randn(n, k)
        times = interleaved({
            "direct": lambda dy=dy, x=x: dy.t() @ x,
            "transposed": lambda dy=dy, x=x: (x.t() @ dy).t().contiguous(),
        }, repeats=repeats, warmup=2)
        chosen = "transposed" if k < gemm.NARROW_INPUT else "direct"
        rows.append([f"({n}, {m}) x ({n}, {k})", f"{times['direct'] * 1e3:.2f}",
                     f"{times['transposed'] * 1e3:.2f}",
                     round(times["direct"] / times["transposed"], 2), chosen])
    return rows


def prefetch_rows(repeats: int, steps: int) -> list[list[object]]:
    """ms of the minGRU backward kernel with and without the prefetch, per width H."""
    rng = np.random.default_rng(0)
    rows: list[list[object]] = []
    batch = 64
    for hidden in WIDTHS:
        gx = rng.standard_normal((batch, steps, 2 * hidden)).astype(np.float32)
        out = rng.standard_normal((batch, steps, hidden)).astype(np.float32)
        dout = rng.standard_normal(out.shape).astype(np.float32)
        h0 = np.zeros((1, batch, hidden), np.float32)
        lengths = np.full(batch, steps)
        dgx, dh0 = np.empty_like(gx), np.empty_like(h0)

        def backward(prefetch: bool, gx=gx, out=out, dout=dout, h0=h0, lengths=lengths,
                     dgx=dgx, dh0=dh0) -> None:
            minrnn.mingru_backward(dout, h0, gx, out, h0, lengths, prefetch, 0, 0, batch, dgx,
                                   dh0)

        times = interleaved({"on": functools.partial(backward, True),
                             "off": functools.partial(backward, False)},
                            repeats=repeats, warmup=2)
        chosen = "on" if hidden < minrnn.PREFETCH_BELOW_HIDDEN else "off"
        rows.append([hidden, f"{times['off'] * 1e3:.2f}", f"{times['on'] * 1e3:.2f}",
                     round(times["off"] / times["on"], 2), chosen])
    return rows


def _memory_step(length: int) -> Callable[[], None]:
    from rnnkit.inspect.memory import MemoryNet, adding_problem

    torch.manual_seed(0)
    model = MemoryNet("mingru", "adding", 64)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    x, y = adding_problem(64, length, seed=0)

    def step() -> None:
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()

    return step


def _with_rule(narrow: int, step: Callable[[], None]) -> None:
    shipped = gemm.NARROW_INPUT
    gemm.NARROW_INPUT = narrow
    try:
        step()
    finally:
        gemm.NARROW_INPUT = shipped


def run(quick: bool = False) -> str:
    from rnnkit.allocator import keep_freed_memory

    keep_freed_memory()  # as the memory tasks run
    load = os.getloadavg()[0]
    repeats = 3 if quick else 11
    products = product_rows(repeats)
    length = 200 if quick else 1000
    prefetch = prefetch_rows(repeats, length)
    step = _memory_step(length)
    times = interleaved({
        "shipped": functools.partial(_with_rule, gemm.NARROW_INPUT, step),
        "direct": functools.partial(_with_rule, 0, step),
    }, repeats=repeats, warmup=2)
    return "\n".join([
        "## Narrow layers on long sequences: weight-gradient order, backward prefetch",
        "",
        "`dy^T x` for dy (N, M) and x (N, K), float32, torch's threads; ms, best of interleaved "
        f"repeats. `rnnkit.nn.kernels.gemm` takes the transposed order below "
        f"K = {gemm.NARROW_INPUT} input features.",
        "",
        table(["dy, x", "dy.t() @ x ms", "(x.t() @ dy).t() ms", "speed-up", "rnnkit takes"],
              products),
        "",
        f"minGRU backward kernel (`rnnkit.nn.kernels.minrnn`), B=64, T={length}, one direction, "
        "one thread, ms (medians of interleaved repeats), without and with the prefetch of the "
        f"pieces {minrnn.AHEAD} steps back; it is on below H = "
        f"{minrnn.PREFETCH_BELOW_HIDDEN}:",
        "",
        table(["H", "no prefetch ms", "prefetch ms", "speed-up", "rnnkit takes"], prefetch),
        "",
        f"Training step of `rnnkit memory`'s minGRU on the adding problem (T={length}, B=64, "
        f"H=64, 2 features): {times['shipped'] * 1e3:.1f} ms as shipped, "
        f"{times['direct'] * 1e3:.1f} ms with the weight gradient in the direct order: "
        f"**{times['direct'] / times['shipped']:.2f}x** (medians, same process).",
        "",
        f"Machine: {machine()}; 1-minute load {load:.2f} before.",
        "",
        "Reproduce: `python -m benchmarks.bench_narrow`",
    ])


if __name__ == "__main__":
    run_as_script(run, RESULTS)
