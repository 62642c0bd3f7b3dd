"""rnnkit's numba kernels vs torch.nn: training throughput, GEMM fraction, inference, compile time.

Same models as ``bench_nn`` (the classic tutorial configs), each built three ways with identical
weights and timed round-robin in one process (``benchmarks.common.interleaved``):

- ``torch.nn``: ``nn.RNN/GRU/LSTM``;
- ``rnnkit auto``: rnnkit's layer as shipped (the size rule picks numba or torch's kernels);
- ``numba kernel``: rnnkit's layer forced onto the numba kernels (``kernels="numba"``), so the
  kernel's own ratio is visible where the size rule keeps torch.

Each step is forward + backward + Adam. Each candidate is timed in pairs with torch.nn (the two
alternate which goes first); ratios are medians over rounds of the in-round ratio
t_torch / t_candidate. GEMM fraction = recurrent FLOPs (2*B*T*G*H*(F+H) per direction, x3 for
forward + backward) per second of the candidate's best step, over the float32 ``torch.mm`` rate
measured in the same run.

Also: single-sequence inference latency (LSTM 128, T=100, batch 1), and the time a fresh process
needs before its first kernel call, with an empty and with a warm numba cache.

Run: ``.venv/bin/python -m benchmarks.bench_kernels`` (``--quick`` for fewer rounds); writes
``benchmarks/results/kernels.md``.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.bench_nn import (
    CONFIGS,
    Config,
    Model,
    _recurrent,
    _train_step,
    gemm_rate,
    paired_timing,
)
from benchmarks.common import interleaved, machine, run_as_script, table
from rnnkit import nn as rnn
from rnnkit.nn.kernels import dispatch, gemm, threads

RESULTS = Path(__file__).resolve().parent / "results" / "kernels.md"
ROOT = Path(__file__).resolve().parents[1]


def _ours(config: Config, kernels: str | None) -> nn.Module:
    layer = _recurrent(config, "rnnkit")
    layer.kernels = kernels
    return layer


def train_ratios(config: Config, rounds: int) -> tuple[dict[str, float], dict[str, float], str]:
    """Best seconds per step and median in-round ratio vs torch, per candidate; and the backend
    the shipped layer uses. Each candidate is paired with torch.nn alone (never three models in
    one round), so one candidate's threads cannot slow down another's steps."""
    reference = Model(config, _recurrent(config, "torch"))
    models = {
        "auto": Model(config, _ours(config, None)),
        "numba": Model(config, _ours(config, "numba")),
    }
    for model in models.values():
        model.load_state_dict(reference.state_dict())
    backend = models["auto"].rnn.backend
    torch_step = _train_step(reference, config, 1)
    best: dict[str, float] = {}
    median: dict[str, float] = {}
    for name, model in models.items():
        step = _train_step(model, config, 1)
        for fn in (torch_step, step, torch_step, step):
            fn()
        seconds, median[name] = paired_timing({"torch": torch_step, name: step}, rounds)
        best[name] = seconds[name]
        best["torch"] = min(best.get("torch", float("inf")), seconds["torch"])
    return best, median, backend


def thread_spread_ratio(config: Config, rounds: int) -> float:
    """Median in-round ratio t_pool / t_openmp of one model's training step on the numba
    kernels: work units on a private thread pool vs on torch's own OpenMP threads."""
    model = Model(config, _ours(config, "numba"))
    step = _train_step(model, config, 1)

    def spread(value: str) -> Callable[[], None]:
        def run() -> None:
            os.environ[threads.ENV_VAR] = value
            step()

        return run

    try:
        for _ in range(2):
            step()
        _, ratio = paired_timing({"torch": spread("pool"), "openmp": spread("openmp")}, rounds)
    finally:
        os.environ.pop(threads.ENV_VAR, None)
    return ratio


SWEEP_HIDDEN = (32, 64, 128, 256, 512)


def size_rule_sweep(rounds: int) -> list[list[object]]:
    """The numba kernel's training-step ratio vs torch.nn, one thread, unidirectional, B=64,
    T=50, F=64, for each kind and hidden size: the measurement behind the size rule."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows: list[list[object]] = []
    try:
        for kind in ("rnn", "gru", "lstm"):
            row: list[object] = [kind, dispatch.NUMBA_MAX_HIDDEN[kind]]
            for hidden in SWEEP_HIDDEN:
                config = Config(f"{kind} {hidden}", kind, 64, 50, 64, hidden)
                _, ratio, _ = train_ratios(config, rounds)
                row.append(ratio["numba"])
            rows.append(row)
    finally:
        torch.set_num_threads(threads)
    return rows


def inference_latency(repeats: int = 50, hidden: int = 128) -> dict[str, float]:
    """Milliseconds per no-grad forward of one sequence (LSTM hidden->hidden, T=100, batch 1)."""
    x = torch.randn(1, 100, hidden)
    reference = nn.LSTM(hidden, hidden, batch_first=True)
    numba_layer = rnn.LSTM(hidden, hidden, kernels="numba")
    numba_layer.load_state_dict(reference.state_dict())
    auto_layer = rnn.LSTM(hidden, hidden)
    auto_layer.load_state_dict(reference.state_dict())

    def call(layer: nn.Module) -> None:
        with torch.no_grad():
            layer(x)

    times = interleaved(
        {
            "torch": lambda: call(reference),
            "numba": lambda: call(numba_layer),
            "auto": lambda: call(auto_layer),
        },
        repeats=repeats,
        warmup=3,
    )
    return {name: seconds * 1e3 for name, seconds in times.items()}


GEMM_SHAPES = ((64000, 32, 32), (12800, 64, 180), (6400, 256, 1024), (2048, 256, 6000))


def gemm_speeds(repeats: int) -> list[list[object]]:
    """Forward ms of ``F.linear`` (torch's MKL call) and ``rnnkit.nn.kernels.gemm.linear``
    (oneDNN) on (M, K) x (K, N): the layers' input projections and a vocabulary projection."""
    rows: list[list[object]] = []
    for m, k, n in GEMM_SHAPES:
        x, w, b = torch.randn(m, k), torch.randn(n, k), torch.randn(n)
        times = interleaved(
            {
                "mkl": functools.partial(F.linear, x, w, b),
                "onednn": functools.partial(gemm.linear, x, w, b),
            },
            repeats=repeats, warmup=2,
        )
        rows.append([f"{m}x{k} @ {k}x{n}", f"{times['mkl'] * 1e3:.2f}",
                     f"{times['onednn'] * 1e3:.2f}", round(times["mkl"] / times["onednn"], 2)])
    return rows


def translation_step_ratio(rounds: int) -> tuple[dict[str, float], float]:
    """Training step of a Multi30k-size ``Seq2Seq`` (BiGRU 256, Luong, vocabularies 7,857 and
    5,977, batch 128, 16 tokens a side) with every ``gemm.linear`` on oneDNN vs forced onto
    ``F.linear``: best seconds of each and the median in-round ratio t_mkl / t_onednn."""
    from rnnkit.tasks.translation_model import Seq2Seq

    torch.manual_seed(0)
    model = Seq2Seq(7857, 5977, attention="luong", cell="gru", hidden_size=256,
                    embedding_dim=256, bidirectional=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randint(4, 7857, (128, 16)), torch.randint(4, 5977, (128, 17))
    loss_fn = nn.CrossEntropyLoss(ignore_index=0)

    def step(onednn: bool) -> Callable[[], None]:
        def run() -> None:
            gemm._state["available"] = None if onednn else False
            optimizer.zero_grad(set_to_none=True)
            logits = model(x, None, y[:, :-1])
            loss_fn(logits.reshape(-1, logits.shape[-1]), y[:, 1:].reshape(-1)).backward()
            optimizer.step()

        return run

    try:
        best, ratio = paired_timing({"torch": step(False), "onednn": step(True)}, rounds)
    finally:
        gemm._state["available"] = None
    return best, ratio


_COMPILE_SCRIPT = """
import time; start = time.perf_counter()
import torch
from rnnkit import nn as rnn
imported = time.perf_counter()
x = torch.randn(2, 3, 4)
for cls in (rnn.SimpleRNN, rnn.GRU, rnn.LSTM):
    layer = cls(4, 5, kernels="numba")
    out, _ = layer(x)
    out.sum().backward()
end = time.perf_counter()
print(end - imported, end - start)
"""


def compile_times() -> list[tuple[float, float]]:
    """(kernel seconds, total seconds) of a fresh process's first float32 forward+backward of all
    three kernels: with an empty numba cache (compiles), then with the cache the first wrote.
    Kernel seconds start after ``import torch, rnnkit.nn`` (numba's import is included)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        results = []
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-c", _COMPILE_SCRIPT],
                env=env, capture_output=True, text=True, check=True, cwd=ROOT,
            )
            kernel, total = done.stdout.strip().splitlines()[-1].split()
            results.append((float(kernel), float(total)))
    return results


def run(quick: bool = False) -> str:
    """Time everything; return the markdown section."""
    torch.manual_seed(0)
    load_before = os.getloadavg()[0]
    rounds = 7 if quick else 15
    gemm = gemm_rate()
    rows: list[list[object]] = []
    for config in CONFIGS:
        best, ratio, backend = train_ratios(config, rounds)
        flops = config.flops()
        rows.append(
            [
                config.name,
                round(config.batch / best["torch"]),
                backend,
                round(config.batch / best["auto"]),
                ratio["auto"],
                ratio["numba"],
                flops / best["torch"],
                flops / best["auto"],
                flops / best["numba"],
            ]
        )
    gemm = max(gemm, gemm_rate())
    for row in rows:
        for i in (6, 7, 8):
            row[i] = f"{100 * float(row[i]) / gemm:.1f}%"  # type: ignore[arg-type]
    spread = {config.name: thread_spread_ratio(config, rounds) for config in CONFIGS[:2]}
    latency = inference_latency(20 if quick else 50)
    small = inference_latency(20 if quick else 50, hidden=32)
    gemm_rows = gemm_speeds(3 if quick else 10)
    step_best, step_ratio = translation_step_ratio(3 if quick else 7)
    sweep = size_rule_sweep(3 if quick else 5)
    sweep_header = ["kind", "rule: numba when H <="] + [f"H={h}" for h in SWEEP_HIDDEN]
    (cold, cold_total), (warm, warm_total) = compile_times()
    header = [
        "config", "torch.nn seq/s", "rnnkit backend", "rnnkit seq/s", "ratio rnnkit/torch",
        "ratio numba kernel/torch", "torch % GEMM", "rnnkit % GEMM", "numba % GEMM",
    ]
    rule = ", ".join(f"{kind} H <= {bound}" for kind, bound in dispatch.NUMBA_MAX_HIDDEN.items())
    command = ".venv/bin/python -m benchmarks.bench_kernels" + (" --quick" if quick else "")
    return "\n".join(
        [
            "## rnnkit numba kernels vs torch.nn (training step: forward + backward + Adam)",
            "",
            f"Identical weights; each candidate timed in {rounds} rounds paired with torch.nn "
            "(alternating order); seq/s from each model's best round; ratios = median over "
            "rounds of the in-round t_torch / t_candidate. "
            f"\"rnnkit\" is the layer as shipped (size rule: numba for {rule}, torch's "
            "kernels otherwise); \"numba kernel\" forces `kernels=\"numba\"`.",
            "",
            table(header, rows),
            "",
            f"GEMM rate measured in this run (float32 torch.mm 1024x1024, best of 2x30): "
            f"{gemm / 1e9:.1f} GFLOP/s; % GEMM = recurrent FLOPs per second of the candidate's "
            "best step over that rate (oneDNN's fused LSTM can exceed 100%).",
            "",
            "Threads: the kernels' work units run on torch's own OpenMP threads "
            f"({threads.backend()} here). The same training step with the units on a private "
            "thread pool instead (`RNNKIT_KERNEL_THREADS=pool`) is slower by "
            + ", ".join(f"{ratio:.2f}x ({name.split('.')[0]})" for name, ratio in spread.items())
            + ": torch's threads spin-wait after each op and a second pool fights them for "
            "the cores.",
            "",
            "Size-rule sweep: ratio numba kernel / torch.nn of a training step, one thread, "
            "unidirectional, B=64, T=50, F=64 (median of in-round ratios). The rule uses numba "
            "where the ratio is clearly above 1 at every size up to the bound.",
            "",
            table(sweep_header, sweep),
            "",
            "Single-sequence inference (LSTM 128->128, T=100, batch 1, no grad, median of "
            f"{20 if quick else 50}): torch.nn {latency['torch']:.3f} ms, numba kernel "
            f"{latency['numba']:.3f} ms, rnnkit as shipped {latency['auto']:.3f} ms (calls "
            "without autograd on a few sequences run the numba kernels: LSTM when batch x "
            f"hidden <= {dispatch.NUMBA_INFERENCE_MAX_CELLS['lstm']} and hidden <= "
            f"{dispatch.NUMBA_INFERENCE_MAX_HIDDEN['lstm']}). The same at hidden 32: torch.nn "
            f"{small['torch']:.3f} ms, rnnkit as shipped {small['auto']:.3f} ms.",
            "",
            "oneDNN's GEMM (`rnnkit.nn.kernels.gemm.linear`, used for the layers' input "
            "projections and by `rnnkit.nn.Linear`) against torch's `F.linear` (MKL), forward, "
            "float32, best of interleaved repeats:",
            "",
            table(["product", "F.linear ms", "oneDNN ms", "speed-up"], gemm_rows),
            "",
            "Training step of a Multi30k-size translation model (BiGRU 256 encoder, GRU 256 "
            "decoder, Luong attention, batch 128, 16 tokens a side) with those products on "
            f"oneDNN: {step_best['onednn'] * 1e3:.0f} ms, against {step_best['torch'] * 1e3:.0f} "
            f"ms with every one forced onto `F.linear`: {step_ratio:.2f}x "
            "(median of paired rounds).",
            "",
            "Fresh process, first forward+backward of all three kernels (float32), after "
            f"`import torch, rnnkit.nn`: {cold:.1f} s with an empty numba cache (compiles), "
            f"{warm:.2f} s with the cache the first process wrote (includes importing numba); "
            f"from interpreter start {cold_total:.1f} s and {warm_total:.1f} s.",
            "",
            f"Machine: {machine()}; 1-min load average {load_before:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after.",
            "",
            f"Command: `{command}`",
            "",
        ]
    )


if __name__ == "__main__":
    run_as_script(run, RESULTS)
