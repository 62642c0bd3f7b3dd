"""Draw the pictures of the tutorials into docs/img/ (run it again after changing a tutorial).

Most pictures are drawn by the tutorials themselves: every tutorial page saves its figures with
``rnnkit.viz.save_figure`` into its working directory. This script runs each English tutorial's
Python blocks in order, in one namespace, in a temporary directory (as the docs test does), and
copies the PNG files it lists from there into docs/img/. One picture needs more training than a
page should run, the gradient flow after training on the adding problem; it is drawn here. The
translation guide shows two attention maps drawn by ``benchmarks/bench_translate.py``; they are
copied from benchmarks/results/.

    OMP_NUM_THREADS=1 .venv/bin/python docs/make_images.py [--only NAME ...] [--steps N]

Every picture must stay under 150 KB (checked); the script prints each file and its size.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
IMAGES = DOCS / "img"
MAX_BYTES = 150_000

#: tutorial page -> the PNG files its code writes, copied to docs/img/.
PAGES = {
    "tutorials/scratch_sentiment.md": ["scratch_sentiment_curves.png"],
    "tutorials/intuition_lstm.md": ["dinner_states.png", "lstm_gates.png", "airline_forecast.png"],
    "tutorials/to_attention.md": ["hello_states.png", "attention_reversal.png"],
    "tutorials/sentiment_in_practice.md": ["sentiment_curves.png"],
}
EXTRA = ["gradient_flow_trained.png"]
#: pictures a guide shows that a benchmark draws (run the benchmark to redraw them), copied as they are.
FROM_BENCHMARKS = {
    "translate_attention_dates.png": "benchmarks/results/translate_attention_dates.png",
    "translate_attention_1.png": "benchmarks/results/translate_attention_1.png",
}
NO_RUN = "<!-- docs: no-run -->"
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[str]:
    """The runnable ```python blocks of a page (a block right after the no-run marker is skipped)."""
    blocks = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        if before and before[-1].strip() == NO_RUN:
            continue
        blocks.append(match.group(1))
    return blocks


def run_page(page: str, names: list[str]) -> list[Path]:
    """Run one page's blocks in a temporary directory; copy the PNGs ``names`` to docs/img/."""
    source = (DOCS / page).read_text(encoding="utf-8")
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        try:
            namespace: dict[str, object] = {"__name__": "__docs__"}
            for index, code in enumerate(python_blocks(source)):
                exec(compile(code, f"{page} block {index + 1}", "exec"), namespace)
            written = []
            for name in names:
                target = IMAGES / name
                shutil.copyfile(Path(work) / name, target)
                written.append(target)
            return written
        finally:
            os.chdir(here)


def gradient_flow_trained(steps: int) -> Path:
    """||dL/dh_t|| for RNN, LSTM and GRU after ``steps`` training steps each on the adding problem.

    A fixed number of steps (not a time budget) keeps the picture the same on any machine.
    """
    import torch

    from rnnkit.inspect.gradients import example_input, gradient_flow, readout
    from rnnkit.inspect.memory import train_memory_task
    from rnnkit.viz import save_figure
    from rnnkit.viz.inside import plot_gradient_flow

    length = 100
    x = example_input(length).float()
    v = readout(64, dtype=torch.float32)
    curves = {}
    for cell in ("rnn", "lstm", "gru"):
        result = train_memory_task("adding", cell, length, time_budget=3600, max_steps=steps)
        norms = gradient_flow(result.model.encoder.eval(), x, v)
        curves[f"{cell} (test MSE {result.score:.3f})"] = norms
        print(f"  {cell}: MSE {result.score:.4f} after {result.steps} steps, "
              f"||dL/dh_1|| / ||dL/dh_T|| = {norms[0] / norms[-1]:.1e}")
    title = f"After {steps} training steps on the adding problem (T={length})"
    return save_figure(plot_gradient_flow(curves, title), IMAGES / "gradient_flow_trained.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="picture file names to redraw (default: all)")
    parser.add_argument("--steps", type=int, default=3000,
                        help="training steps per cell for the gradient-flow picture")
    args = parser.parse_args()
    everything = [n for names in PAGES.values() for n in names] + EXTRA + list(FROM_BENCHMARKS)
    wanted = set(args.only or everything)
    IMAGES.mkdir(exist_ok=True)
    written: list[Path] = []
    for page, names in PAGES.items():
        if wanted & set(names):
            print(f"running {page}")
            written += [p for p in run_page(page, names) if p.name in wanted]
    if "gradient_flow_trained.png" in wanted:
        print("training rnn, lstm, gru on the adding problem")
        written.append(gradient_flow_trained(args.steps))
    for name, source in FROM_BENCHMARKS.items():
        if name in wanted:
            written.append(Path(shutil.copyfile(DOCS.parent / source, IMAGES / name)))
    for path in written:
        size = path.stat().st_size
        print(f"{path.relative_to(DOCS.parent)}  {size / 1000:.0f} KB")
        if size > MAX_BYTES:
            raise SystemExit(f"{path} is {size} bytes; keep pictures under {MAX_BYTES} (smaller figure)")


if __name__ == "__main__":
    main()
