"""German -> English on Multi30k with ``Translator``: train under a time budget, score BLEU,
translate.

Expects the Multi30k raw files (``train.de.gz``, ``train.en.gz``, ``val.*``, ``test_2016_flickr.*``)
in DATA (default: /work/shared/data/multi30k/raw). The recipe is the one in
benchmarks/bench_translate.py; with 30 minutes on a 2-core CPU it reaches the BLEU reported in
benchmarks/results/translate.md.

Run: ``OMP_NUM_THREADS=2 .venv/bin/python examples/translate_multi30k.py [DATA] [SECONDS]``
"""

from __future__ import annotations

import sys
from pathlib import Path

from rnnkit.data.pairs import read_parallel
from rnnkit.tasks import Translator


def main(data: str = "/work/shared/data/multi30k/raw", seconds: float = 1800) -> dict:
    root = Path(data)
    train = read_parallel(root / "train.de.gz", root / "train.en.gz")
    valid = read_parallel(root / "val.de.gz", root / "val.en.gz")
    test = read_parallel(root / "test_2016_flickr.de.gz", root / "test_2016_flickr.en.gz")
    model = Translator(
        attention="luong", hidden_size=256, embedding_dim=256, dropout=0.2, min_freq=2,
        batch_size=128, lr=2e-3, lr_decay="time", epochs=1000, source_level="word",
        target_level="word",
    )
    model.fit(train.sources, train.targets, validation_data=(valid.sources, valid.targets),
              time_budget=float(seconds))
    report = model.score(test.sources, test.targets, beam_size=5)
    print(f"test 2016 BLEU {report['bleu']:.2f}  ({report['signature']})")
    for text in test.sources[:3]:
        print(text, "->", model.translate([text])[0])
    model.save("multi30k_de_en", extra_metrics={"test": report}, example=test.sources[0])
    return report


if __name__ == "__main__":
    main(*sys.argv[1:2], *(float(a) for a in sys.argv[2:3]))
