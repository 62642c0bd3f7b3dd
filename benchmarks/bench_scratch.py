"""Forward + backward time of the NumPy engine (rnnkit.scratch) against torch.nn, same run.

Shape: B=32 sequences, T=100 steps, F=64 features, H=64 hidden units; the loss gradient is a
fixed random (B, T, H) array, so both engines do the same work: the full forward pass and full
BPTT including all weight gradients and dL/dx. Timed round-robin (``interleaved``), medians.

The measurement runs in a child process started with ``OPENBLAS_NUM_THREADS=1`` (it must be set
before NumPy loads): the scratch engine's GEMMs are small (32x64 by 64x256 inside the loop), one
BLAS thread is faster for them, and two OpenBLAS threads fight torch's OpenMP threads for the
cores when both engines run in one process. torch keeps its default thread count.

Run: ``.venv/bin/python -m benchmarks.bench_scratch`` (writes benchmarks/results/scratch.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

B, T, F, H = 32, 100, 64, 64
COMMAND = ".venv/bin/python -m benchmarks.bench_scratch"
ROOT = Path(__file__).resolve().parents[1]


def _pair(kind: str, dtype_name: str):
    import numpy as np
    import torch

    from rnnkit.scratch import GRU, LSTM

    scratch_cls, torch_cls = {"LSTM": (LSTM, torch.nn.LSTM), "GRU": (GRU, torch.nn.GRU)}[kind]
    dtype = np.dtype(dtype_name)
    scratch = scratch_cls(F, H, dtype=dtype, rng=0)
    reference = torch_cls(F, H, batch_first=True, dtype=getattr(torch, dtype_name))
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in scratch.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, F)).astype(dtype)
    d_out = rng.normal(size=(B, T, H)).astype(dtype)
    x_t, d_out_t = torch.from_numpy(x).requires_grad_(), torch.from_numpy(d_out)

    def run_scratch() -> None:
        scratch.zero_grad()
        scratch(x)
        scratch.backward(d_out)

    def run_torch() -> None:
        reference.zero_grad()
        x_t.grad = None
        out, _ = reference(x_t)
        out.backward(d_out_t)

    return run_scratch, run_torch


def measure(repeats: int) -> list[list]:
    """Rows [cell, dtype, torch threads, scratch ms, torch ms, ratio], timed in this process.

    Two passes: torch with its default intra-op threads, then with one thread (steadier when
    other processes share the CPU: idle OpenMP threads spin and lose their core).
    """
    import torch

    from benchmarks.common import interleaved

    rows = []
    default_threads = torch.get_num_threads()
    for threads in dict.fromkeys((default_threads, 1)):
        torch.set_num_threads(threads)
        for dtype_name in ("float32", "float64"):
            for kind in ("LSTM", "GRU"):
                run_scratch, run_torch = _pair(kind, dtype_name)
                times = interleaved({"scratch": run_scratch, "torch": run_torch}, repeats=repeats)
                scratch_ms, torch_ms = times["scratch"] * 1e3, times["torch"] * 1e3
                rows.append(
                    [kind, dtype_name, threads, scratch_ms, torch_ms, scratch_ms / torch_ms]
                )
    torch.set_num_threads(default_threads)
    return rows


def run(quick: bool = False) -> str:
    import numpy as np

    from benchmarks.common import machine, table

    repeats = 3 if quick else 21
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    code = (
        "import json; from benchmarks.bench_scratch import measure; "
        f"print(json.dumps(measure({repeats})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    rows = json.loads(out.strip().splitlines()[-1])
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines = [
        "## rnnkit.scratch: NumPy BPTT against torch.nn",
        "",
        f"Forward + full backward (all weight gradients and dL/dx), B={B}, T={T}, F={F}, H={H}, "
        f"median of {repeats} interleaved runs. Ratio = scratch / torch.nn (goal: within 3x). "
        "Measured in a child process with OPENBLAS_NUM_THREADS=1 (numpy side); torch with its "
        "default intra-op threads, then with one.",
        "",
        table(["cell", "dtype", "torch threads", "scratch ms", "torch.nn ms", "ratio"], rows),
        "",
        f"Machine: {machine()}; numpy {np.__version__}; load average after the run {load} "
        "(other processes shared the CPU).",
        "",
        f"Reproduce: `{COMMAND}`",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    section = run()
    print(section)
    out = Path(__file__).resolve().parent / "results" / "scratch.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(section)


if __name__ == "__main__":
    main()
