"""Memory-length benchmark: adding problem and copy task, every registered cell.

Every (task, cell, length) trains from scratch with the same wall-clock budget (single thread
recommended: ``OMP_NUM_THREADS=1``); the table shows the test score and whether it counts as solved
(adding: MSE < 0.05, predicting 1 gives 0.167; copy: symbol accuracy >= 0.9, chance 0.125).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bench_memory``
[``--cells lstm,mingru`` ``--lengths 100,300,1000`` ``--budget 15`` ``--init chrono``
``--lr 0.01``] (defaults: every cell of ``rnnkit.cells.CELLS``, T = 100, 300, 1000, 15 s, the
layers' own initialization, Adam 2e-3; ``--quick``: T = 25, 50, 3 s). ``--init chrono`` sets every
gated cell's biases for timescales up to T (:func:`rnnkit.nn.chrono_init_`) and writes
``results/memory_chrono.md`` (``memory.md`` otherwise).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import machine
from rnnkit.cells import CELLS
from rnnkit.inspect.gradients import trained_gradient_flow_figures
from rnnkit.inspect.memory import INITS, memory_benchmark, results_table
from rnnkit.viz.figures import save_figure
from rnnkit.viz.inside import plot_memory

RESULTS = Path(__file__).resolve().parent / "results"


def output_name(init: str) -> str:
    """``memory`` or ``memory_chrono``: the stem of the files a run writes."""
    return "memory" if init == "default" else f"memory_{init}"


def run(quick: bool = False, cells: Sequence[str] = tuple(CELLS),
        lengths: Sequence[int] | None = None, budget: float | None = None,
        init: str = "default", lr: float = 2e-3) -> str:
    lengths = lengths or ((25, 50) if quick else (100, 300, 1000))
    budget = budget or (3.0 if quick else 15.0)
    stem = output_name(init)
    load = os.getloadavg()[0]
    results = memory_benchmark(
        tuple(cells), lengths, ("adding", "copy"), time_budget=budget, init=init, lr=lr,
        progress=lambda r: print(f"  {r.task} {r.cell} T={r.length}: {r.score:.4f} "
                                 f"({r.steps} steps)", flush=True),
    )
    title = f"Memory length, {budget:.0f} s per cell and length" + (
        "" if init == "default" else f", {init} initialization")
    save_figure(plot_memory(results, title), RESULTS / f"{stem}.png")
    flow_length = 100 if 100 in lengths else max(lengths)
    flows = trained_gradient_flow_figures([r for r in results if r.length == flow_length])
    for name, fig in flows.items():
        save_figure(fig, RESULTS / f"{stem}_{name}.png")
    flow_links = "\n".join(f"![{name}]({stem}_{name}.png)" for name in flows)
    steps = "\n".join(
        f"- {r.task} {r.cell} T={r.length}: {r.steps} training steps in {r.seconds:.1f} s"
        for r in results
    )
    return "\n".join([
        "## Memory length (adding problem, copy task)"
        + ("" if init == "default" else f", {init} initialization"),
        "",
        f"Each cell (hidden 64, one layer, Adam {lr:g}, clip 1.0, batch 64 of fresh random "
        f"sequences, {init} initialization) trained for {budget:.0f} s per task and length; "
        "scored on 512 fixed test "
        "sequences. Adding: test MSE (predicting 1 gives 0.167; solved < 0.05). "
        "Copy: accuracy on the 5 copied symbols (8 symbols, chance 0.125; solved >= 0.9).",
        "",
        results_table(results),
        "",
        f"![memory length plot]({stem}.png)",
        "",
        f"Gradient flow of the trained models at T={flow_length} (||dL/dh_t|| for a loss on "
        "h_T, one shared input):",
        "",
        flow_links,
        "",
        "<details><summary>training steps per run</summary>",
        "",
        steps,
        "",
        "</details>",
        "",
        f"Machine: {machine()}; 1-minute load {load:.2f} before.",
        "",
        "Reproduce: `OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bench_memory "
        f"--budget {budget:g} --init {init} --lr {lr:g}` or "
        f"`rnnkit memory --cells {','.join(cells)} --lengths {','.join(map(str, lengths))} "
        f"--tasks adding,copy --time-budget {budget:g} --init {init} --lr {lr:g} --out DIR`",
    ])


def ablation(length: int = 1000, budget: float = 20.0) -> str:
    """MinGRU on the adding problem at ``length``: both inits x lr 2e-3 and 1e-2, same budget."""
    from benchmarks.common import table
    from rnnkit.inspect.memory import train_memory_task

    load = os.getloadavg()[0]
    rows = []
    for init in INITS:
        for lr in (2e-3, 1e-2):
            r = train_memory_task("adding", "mingru", length, time_budget=budget, init=init, lr=lr)
            rows.append([init, f"{lr:g}", f"{r.score:.3f}", "solved" if r.solved else "-",
                         r.steps])
    return "\n".join([
        f"Ablation, MinGRU on adding at T={length}, {budget:g} s per run, one thread; 1-minute "
        f"load {load:.2f} before:",
        "",
        table(["init", "lr", "test MSE", "solved", "steps"], rows),
        "",
        "Reproduce: `OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bench_memory --ablation`",
    ])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated cell names")
    parser.add_argument("--lengths", help="comma-separated sequence lengths")
    parser.add_argument("--budget", type=float, help="training seconds per task, cell, length")
    parser.add_argument("--quick", action="store_true", help="T = 25, 50 and 3 s")
    parser.add_argument("--init", default="default", choices=INITS, help="gate biases")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    parser.add_argument("--ablation", action="store_true",
                        help="only MinGRU at T=1000: default/chrono x lr 2e-3/1e-2")
    args = parser.parse_args()
    if args.ablation:
        print(ablation())
        raise SystemExit(0)
    section = run(quick=args.quick, cells=args.cells.split(","), budget=args.budget,
                  lengths=tuple(map(int, args.lengths.split(","))) if args.lengths else None,
                  init=args.init, lr=args.lr)
    print(section)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{output_name(args.init)}.md").write_text(section + "\n", encoding="utf-8")
