"""Classify noisy waveforms (sine, square, sawtooth, pulse) of varying length with an LSTM.

A self-contained demo of ``SequenceClassifier`` on the synthetic set ``make_waveforms`` (no files
needed): fit on ragged ``(T_i, 2)`` sequences, evaluate, save a bundle and load it back.

    .venv/bin/python examples/seq_waveforms.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import rnnkit
from rnnkit.data.sequences import make_waveforms
from rnnkit.tasks import SequenceClassifier


def main() -> None:
    train, test = make_waveforms(800, seed=0), make_waveforms(200, seed=1)
    print(f"{len(train)} training sequences, lengths {train.lengths.min()}-{train.lengths.max()}, "
          f"{train.feature_size} features, classes {train.classes}")
    clf = SequenceClassifier(hidden_size=32, batch_size=16, lr=1e-2, epochs=15, verbose=0)
    clf.fit(train.sequences, train.labels)
    report = clf.evaluate(test.sequences, test.labels)
    print(f"test accuracy {report['accuracy']:.3f}, macro F1 {report['macro_f1']:.3f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = clf.save(Path(tmp) / "waveforms", extra_metrics={"test": report})
        loaded = rnnkit.load(path)
        print("saved:", sorted(p.name for p in path.iterdir()))
        print("first five test predictions:", loaded.predict(test.sequences[:5]),
              "truth:", test.labels[:5])


if __name__ == "__main__":
    main()
