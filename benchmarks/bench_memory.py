"""Memory-length benchmark: adding problem and copy task, vanilla RNN vs LSTM vs GRU.

Every (task, cell, length) trains from scratch with the same wall-clock budget (single thread
recommended: ``OMP_NUM_THREADS=1``); the table shows the test score and whether it counts as solved
(adding: MSE < 0.05, predicting 1 gives 0.167; copy: symbol accuracy >= 0.9, chance 0.125).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bench_memory``
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import machine
from rnnkit.inspect.gradients import trained_gradient_flow_figures
from rnnkit.inspect.memory import memory_benchmark, results_table
from rnnkit.viz.figures import save_figure
from rnnkit.viz.inside import plot_memory

RESULTS = Path(__file__).resolve().parent / "results"


def run(quick: bool = False) -> str:
    lengths = (25, 50) if quick else (25, 50, 100, 200)
    budget = 3.0 if quick else 20.0
    results = memory_benchmark(
        ("rnn", "lstm", "gru"), lengths, ("adding", "copy"), time_budget=budget,
        progress=lambda r: print(f"  {r.task} {r.cell} T={r.length}: {r.score:.4f} "
                                 f"({r.steps} steps)", flush=True),
    )
    plot = RESULTS / "memory.png"
    save_figure(plot_memory(results, f"Memory length, {budget:.0f} s per cell and length"), plot)
    flow_length = 100 if 100 in lengths else max(lengths)
    flows = trained_gradient_flow_figures([r for r in results if r.length == flow_length])
    for name, fig in flows.items():
        save_figure(fig, RESULTS / f"memory_{name}.png")
    flow_links = "\n".join(f"![{name}](memory_{name}.png)" for name in flows)
    steps = "\n".join(
        f"- {r.task} {r.cell} T={r.length}: {r.steps} training steps in {r.seconds:.1f} s"
        for r in results
    )
    return "\n".join([
        "## Memory length (adding problem, copy task)",
        "",
        f"Each cell (hidden 64, one layer, Adam 2e-3, clip 1.0, batch 64 of fresh random "
        f"sequences) trained for {budget:.0f} s per task and length; scored on 512 fixed test "
        "sequences. Adding: test MSE (predicting 1 gives 0.167; solved < 0.05). "
        "Copy: accuracy on the 5 copied symbols (8 symbols, chance 0.125; solved >= 0.9).",
        "",
        results_table(results),
        "",
        "![memory length plot](memory.png)",
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
        f"Machine: {machine()} (shared with other jobs, heavily loaded: step counts are low "
        "and would be higher on an idle machine).",
        "",
        "Reproduce: `OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bench_memory` or "
        "`rnnkit memory --cells rnn,lstm,gru --lengths 25,50,100,200 --tasks adding,copy "
        "--time-budget 20 --out DIR`",
    ])


if __name__ == "__main__":
    section = run()
    print(section)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "memory.md").write_text(section + "\n", encoding="utf-8")
