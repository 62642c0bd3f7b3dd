"""Character-level Tiny Shakespeare (char-rnn): train under a time budget, stream a sample.

Usage: ``.venv/bin/python examples/lm_shakespeare.py [input.txt] [seconds]``
(defaults: ../shared/data/tiny_shakespeare/input.txt, 120 seconds; 15 minutes gets below 1.6 nats
per character, see benchmarks/results/lm.md). The model is saved to ``runs/shakespeare``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rnnkit.tasks import LanguageModel

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "tiny_shakespeare" / "input.txt"


def main(path: Path = DEFAULT, seconds: float = 120.0) -> None:
    lm = LanguageModel(verbose=1)  # char level, 2-layer LSTM 256, last 10% held out
    lm.fit(path, time_budget=seconds)
    valid = lm.metrics_["validation"]
    print(f"validation: {valid['loss']:.3f} nats/char, {valid['bpc']:.3f} bits/char, "
          f"perplexity {valid['perplexity']:.2f}")
    print("ROMEO:", end="", flush=True)
    for piece in lm.stream("ROMEO:", length=300, temperature=0.8, seed=0):
        print(piece, end="", flush=True)  # pieces arrive one character at a time
    print()
    lm.save("runs/shakespeare")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT,
         float(sys.argv[2]) if len(sys.argv) > 2 else 120.0)
