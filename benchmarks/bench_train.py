"""Benchmark of the optimizer step for small recurrent models: fused vs foreach vs for-loop Adam.

For the models rnnkit trains on a laptop CPU (tens of thousands to a few million parameters), the
optimizer step is a sizeable part of each batch. The Trainer uses torch's fused kernel when it
exists (``fused=True``) and falls back to ``foreach``. This measures, for Adam and for AdamW:

1. the optimizer step alone, per implementation, as a ratio to the default for-loop step;
2. one whole training step (forward + backward + step) of a small GRU classifier, to show how much
   of a batch the step is worth;
3. the Trainer's own overhead: an epoch through ``Trainer.fit`` vs a bare hand-written loop.

Timings are medians of interleaved repeats in one process.

Run: ``.venv/bin/python -m benchmarks.bench_train [--quick]`` (prints the section and writes
``benchmarks/results/train.md``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from benchmarks.common import interleaved, machine, table

RESULTS = Path(__file__).resolve().parent / "results" / "train.md"


class SmallGRU(torch.nn.Module):
    """Embedding -> GRU -> linear: the shape of a tutorial sentiment model."""

    def __init__(self, vocab: int, embed: int, hidden: int, classes: int = 2) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, embed)
        self.gru = torch.nn.GRU(embed, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(self.embed(x))
        return self.head(h[-1])


def _optimizer(
    kind: str, implementation: str, params: list[torch.nn.Parameter]
) -> torch.optim.Optimizer:
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    if implementation == "fused":
        return cls(params, lr=1e-3, fused=True)
    if implementation == "foreach":
        return cls(params, lr=1e-3, foreach=True)
    return cls(params, lr=1e-3, foreach=False)


def _step_rows(sizes: list[tuple[str, int, int, int]], repeats: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for label, vocab, embed, hidden in sizes:
        for kind in ("adam", "adamw"):
            torch.manual_seed(0)
            model = SmallGRU(vocab, embed, hidden)
            params = list(model.parameters())
            for p in params:
                p.grad = torch.randn_like(p) * 1e-3
            n_params = sum(p.numel() for p in params)
            optimizers = {
                impl: _optimizer(kind, impl, params) for impl in ("for-loop", "foreach", "fused")
            }
            times = interleaved({impl: opt.step for impl, opt in optimizers.items()},
                                repeats=repeats, warmup=3)
            base = times["for-loop"]
            rows.append(
                [
                    f"{label} ({n_params:,} params)",
                    kind,
                    f"{base * 1e6:.0f}",
                    f"{times['foreach'] * 1e6:.0f}",
                    f"{times['fused'] * 1e6:.0f}",
                    f"{base / times['fused']:.2f}x",
                ]
            )
    return rows


def _train_step_rows(repeats: int) -> list[list[object]]:
    torch.manual_seed(0)
    model = SmallGRU(20_000, 32, 64)
    x = torch.randint(0, 20_000, (32, 80))
    y = torch.randint(0, 2, (32,))
    params = list(model.parameters())
    optimizers = {impl: _optimizer("adam", impl, params) for impl in ("for-loop", "fused")}

    def step(opt: torch.optim.Optimizer) -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    def backward_only() -> None:
        model.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()

    candidates = {impl: (lambda o=opt: step(o)) for impl, opt in optimizers.items()}
    candidates["forward+backward only"] = backward_only
    times = interleaved(candidates, repeats=repeats, warmup=2)
    fb = times["forward+backward only"]
    return [
        [
            impl,
            f"{times[impl] * 1e3:.2f}",
            f"{(times[impl] - fb) / times[impl] * 100:.0f}%",
            f"{times['for-loop'] / times[impl]:.2f}x",
        ]
        for impl in ("for-loop", "fused")
    ]


def _trainer_overhead_rows(repeats: int) -> list[list[object]]:
    """One epoch through Trainer.fit vs the shortest hand-written loop with the same fused Adam."""
    from rnnkit.train import Trainer

    torch.manual_seed(0)
    x = torch.randint(0, 1_000, (1_024, 20))
    y = torch.randint(0, 2, (1_024,))
    batches = [({"x": x[i : i + 32]}, y[i : i + 32]) for i in range(0, 1_024, 32)]
    model = SmallGRU(1_000, 16, 32)

    def hand_loop() -> None:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
        for inputs, target in batches:
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(**inputs), target).backward()
            opt.step()

    def trainer(metrics: tuple[str, ...]) -> None:
        Trainer(metrics=metrics, verbose=0, seed=None).fit(model, batches, epochs=1)

    times = interleaved(
        {
            "hand-written loop": hand_loop,
            "Trainer, no metrics": lambda: trainer(()),
            "Trainer, accuracy + f1": lambda: trainer(("accuracy", "f1")),
        },
        repeats=repeats,
        warmup=1,
    )
    base = times["hand-written loop"]
    return [[name, f"{t * 1e3:.1f}", f"{t / base:.2f}x"] for name, t in times.items()]


def run(quick: bool = False) -> str:
    """The markdown section for benchmarks/results/train.md."""
    torch.set_num_threads(1)  # the tiny-model regime; two spinning threads only add noise here
    repeats = 20 if quick else 100
    sizes = [("GRU 16->32, vocab 1k", 1_000, 16, 32), ("GRU 32->64, vocab 20k", 20_000, 32, 64)]
    step_table = table(
        [
            "model",
            "optimizer",
            "for-loop step (µs)",
            "foreach (µs)",
            "fused (µs)",
            "fused speed-up",
        ],
        _step_rows(sizes, repeats),
    )
    train_table = table(
        ["Adam implementation", "train step (ms)", "share of step in optimizer", "speed-up"],
        _train_step_rows(max(5, repeats // 5)),
    )
    overhead_table = table(
        ["loop", "epoch (ms)", "time vs hand loop"],
        _trainer_overhead_rows(3 if quick else 10),
    )
    command = ".venv/bin/python -m benchmarks.bench_train" + (" --quick" if quick else "")
    return "\n".join(
        [
            "## Training: optimizer step (fused vs foreach vs for-loop)",
            "",
            "Optimizer step alone (gradients preset), median of interleaved repeats:",
            "",
            step_table,
            "",
            "Whole training step, GRU 32->64 with a 20k-word embedding, batch 32 x 80 tokens "
            "(share = time beyond forward+backward):",
            "",
            train_table,
            "",
            "Trainer overhead: one epoch of 32 batches (32 x 20 tokens, GRU 16->32, 21k params) "
            "through `Trainer.fit` (loss bookkeeping, non-finite checks, metrics) vs a bare loop:",
            "",
            overhead_table,
            "",
            f"Machine: {machine()}",
            "",
            f"Reproduce: `{command}`",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    section = run(quick=args.quick)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(section, encoding="utf-8")
    sys.stdout.write(section)


if __name__ == "__main__":
    main()
