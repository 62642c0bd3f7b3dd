"""rnnkit.nn layers vs torch.nn: training throughput (forward + backward + Adam step).

Four models from the classic tutorials, each built twice with identical weights (rnnkit's
``state_dict`` loads into torch's), timed round-robin in one process:

a. Embedding(10000, 32) + SimpleRNN(32) + Linear(1), B=128, T=500, BCE on the last step
b. Embedding(5000, 64) + bidirectional GRU(30) + Linear(60, tanh) + Linear(1), B=64, T=200, BCE
c. LSTM 28->30 and 28->128 (MNIST rows), B=128, T=28, MSE on the last step
d. LSTM 256->256, B=64, T=100, MSE on the last step

Also measures a float32 GEMM rate (``torch.mm``) and reports the fraction of it each config's
recurrent FLOPs reach (``2*B*T*G*H*(F+H)`` per layer and direction, x3 for forward + backward).

Run: ``.venv/bin/python -m benchmarks.bench_nn`` (``--quick`` for fewer repeats).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from benchmarks.common import interleaved, machine, run_as_script, table
from rnnkit import nn as rnn

RESULTS = Path(__file__).resolve().parent / "results" / "nn.md"


@dataclass
class Config:
    name: str
    kind: str  # "rnn" | "gru" | "lstm"
    batch: int
    steps: int
    features: int
    hidden: int
    vocab: int | None = None
    bidirectional: bool = False
    head: str = "linear"  # "linear" | "tanh_mlp"
    loss: str = "mse"  # "bce" | "mse"

    @property
    def gates(self) -> int:
        return {"rnn": 1, "gru": 3, "lstm": 4}[self.kind]

    def flops(self) -> float:
        """Recurrent FLOPs of one forward + backward pass (embedding and head ignored)."""
        directions = 2 if self.bidirectional else 1
        per = 2 * self.batch * self.steps * self.gates * self.hidden
        return 3.0 * directions * per * (self.features + self.hidden)


CONFIGS = [
    Config("a. Embedding+SimpleRNN(32)", "rnn", 128, 500, 32, 32, vocab=10000, loss="bce"),
    Config(
        "b. Embedding+BiGRU(30)+Dense",
        "gru",
        64,
        200,
        64,
        30,
        vocab=5000,
        bidirectional=True,
        head="tanh_mlp",
        loss="bce",
    ),
    Config("c1. LSTM 28->30", "lstm", 128, 28, 28, 30),
    Config("c2. LSTM 28->128", "lstm", 128, 28, 28, 128),
    Config("d. LSTM 256->256", "lstm", 64, 100, 256, 256),
]


class Model(nn.Module):
    """Optional embedding -> recurrent layer -> head on the last step."""

    def __init__(self, config: Config, recurrent: nn.Module) -> None:
        super().__init__()
        self.embedding = nn.Embedding(config.vocab, config.features) if config.vocab else None
        self.rnn = recurrent
        width = config.hidden * (2 if config.bidirectional else 1)
        if config.head == "tanh_mlp":
            self.head: nn.Module = nn.Sequential(
                nn.Linear(width, 60), nn.Tanh(), nn.Linear(60, 1)
            )
        else:
            self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.embedding is not None:
            x = self.embedding(x)
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(-1)


def _recurrent(config: Config, library: str) -> nn.Module:
    f, h, bi = config.features, config.hidden, config.bidirectional
    if library == "torch":
        cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[config.kind]
        return cls(f, h, batch_first=True, bidirectional=bi)
    ours = {"rnn": rnn.SimpleRNN, "gru": rnn.GRU, "lstm": rnn.LSTM}[config.kind]
    return ours(f, h, bidirectional=bi)


def _train_step(model: nn.Module, config: Config, seed: int) -> Callable[[], None]:
    generator = torch.Generator().manual_seed(seed)
    if config.vocab:
        x = torch.randint(2, config.vocab, (config.batch, config.steps), generator=generator)
    else:
        x = torch.randn(config.batch, config.steps, config.features, generator=generator)
    if config.loss == "bce":
        y = torch.randint(0, 2, (config.batch,), generator=generator).float()
        loss_fn: nn.Module = nn.BCEWithLogitsLoss()
    else:
        y = torch.randn(config.batch, generator=generator)
        loss_fn = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    return step


def gemm_rate(size: int = 1024, repeats: int = 30) -> float:
    """Measured float32 ``torch.mm`` FLOP/s: the best of ``repeats`` calls (robust to load)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best


def onednn_speedup(repeats: int = 3) -> float:
    """Forward time of config d's torch LSTM without oneDNN over with it (torch's CPU default)."""
    lstm = nn.LSTM(256, 256, batch_first=True)
    x = torch.randn(64, 100, 256)

    def forward() -> None:
        with torch.no_grad():
            lstm(x)

    with_onednn = interleaved({"f": forward}, repeats=repeats)["f"]
    with warnings.catch_warnings():  # flags() warns about TF32 on Intel GPUs, irrelevant here
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            without = interleaved({"f": forward}, repeats=repeats)["f"]
    return without / with_onednn


def paired_timing(
    steps: dict[str, Callable[[], None]], rounds: int
) -> tuple[dict[str, float], float]:
    """Best seconds per step of "torch" and the other candidate, and the median over rounds of
    the in-round ratio t_torch / t_other (= the other's relative throughput).

    Each round times both candidates back to back (alternating which goes first), so a burst of
    load from other processes hits both; the median of per-round ratios ignores the rounds it
    did not, and the best time estimates each candidate's undisturbed speed.
    """
    for fn in steps.values():
        fn()
        fn()
    names = list(steps)
    samples: dict[str, list[float]] = {name: [] for name in names}
    ratios = []
    for i in range(rounds):
        order = names if i % 2 == 0 else names[::-1]
        seconds = interleaved({name: steps[name] for name in order}, repeats=1, warmup=0)
        for name in names:
            samples[name].append(seconds[name])
        other = next(name for name in names if name != "torch")
        ratios.append(seconds["torch"] / seconds[other])
    ratios.sort()
    return {name: min(s) for name, s in samples.items()}, ratios[len(ratios) // 2]


def call_overhead(calls: int = 1000, rounds: int = 7) -> dict[str, tuple[float, float]]:
    """Fixed cost per forward call in microseconds, (rnnkit, torch), on a 1x1x1 input where the
    kernel itself is negligible: best of ``rounds``, one thread. Insensitive to machine load."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    pairs = {
        "LSTM": (rnn.LSTM(1, 1), nn.LSTM(1, 1, batch_first=True)),
        "bidirectional GRU": (
            rnn.GRU(1, 1, bidirectional=True),
            nn.GRU(1, 1, batch_first=True, bidirectional=True),
        ),
    }
    x = torch.randn(1, 1, 1)
    result = {}
    try:
        for name, (ours, reference) in pairs.items():
            best = []
            for layer in (ours, reference):
                times = []
                with torch.no_grad():
                    for _ in range(rounds):
                        start = time.perf_counter()
                        for _ in range(calls):
                            layer(x)
                        times.append((time.perf_counter() - start) / calls)
                best.append(min(times) * 1e6)
            result[name] = (best[0], best[1])
    finally:
        torch.set_num_threads(threads)
    return result


def run(quick: bool = False) -> str:
    """Time every config; return the markdown section."""
    torch.manual_seed(0)
    load_before = os.getloadavg()[0]
    rounds = 7 if quick else 21
    gemm = gemm_rate()
    rows: list[list[object]] = []
    flops: list[float] = []
    for config in CONFIGS:
        reference = Model(config, _recurrent(config, "torch"))
        ours = Model(config, _recurrent(config, "rnnkit"))
        ours.load_state_dict(reference.state_dict())
        assert ours.rnn.uses_fused_path
        steps = {"torch": _train_step(reference, config, 1), "rnnkit": _train_step(ours, config, 1)}
        best, ratio = paired_timing(steps, rounds)
        torch_rate = config.batch / best["torch"]
        ours_rate = config.batch / best["rnnkit"]
        rows.append([config.name, round(torch_rate), round(ours_rate), ratio])
        flops.append(config.flops() / best["rnnkit"])
    gemm = max(gemm, gemm_rate())  # measured before and after: the best is the machine's rate
    for row, rate in zip(rows, flops, strict=True):
        row.append(rate / gemm)
    speedup = onednn_speedup()
    overhead = call_overhead()
    overhead_text = "; ".join(
        f"{name}: rnnkit {ours:.0f} us, torch {ref:.0f} us"
        for name, (ours, ref) in overhead.items()
    )
    header = ["config", "torch.nn seq/s", "rnnkit.nn seq/s", "ratio rnnkit/torch", "GEMM fraction"]
    command = ".venv/bin/python -m benchmarks.bench_nn" + (" --quick" if quick else "")
    return "\n".join(
        [
            "## rnnkit.nn vs torch.nn (training step: forward + backward + Adam)",
            "",
            f"Same weights in both models; {rounds} interleaved rounds. seq/s from each model's "
            "best round; ratio = median over rounds of the in-round ratio (robust to bursts of "
            "load from other processes). Ratio >= 0.95 on the LSTM rows means the layer around "
            "torch's kernel costs nothing.",
            "",
            table(header, rows),
            "",
            f"Measured float32 GEMM rate (torch.mm 1024x1024): {gemm / 1e9:.1f} GFLOP/s. "
            "GEMM fraction = recurrent FLOPs (2*B*T*G*H*(F+H) per layer and direction, x3 for "
            "forward + backward) per second of rnnkit's step, over that rate. rnnkit's layers "
            "run as shipped: the numba kernels for a and b, torch's oneDNN kernel for the LSTM "
            "rows (see the kernels section for the size rule and the kernels' own numbers).",
            "",
            f"Fixed cost per forward call on a 1x1x1 input (best of 7 x 1000 calls, one thread; "
            f"insensitive to load): {overhead_text}. Against step times of milliseconds this "
            "is what the fused path adds over torch.nn: nothing measurable.",
            "",
            "Fractions above 1 are real: torch's CPU LSTM runs oneDNN's fused RNN primitive, which "
            "outruns torch.mm's GEMM here (disabling oneDNN makes config d's forward "
            f"{speedup:.1f}x slower in this run), so the torch.mm rate is not a ceiling for the "
            "LSTM configs with large H. The small-H configs (a, b, c1) reach a small fraction: "
            "each time step is a tiny (B, H) x (H, G*H) product, so they are bound by per-step "
            "latency and memory traffic rather than by arithmetic.",
            "",
            f"Machine: {machine()}; 1-min load average {load_before:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after (on a busy machine two-thread torch steps stall, "
            "and both columns suffer alike).",
            "",
            f"Command: `{command}`",
            "",
        ]
    )


if __name__ == "__main__":
    run_as_script(run, RESULTS)
