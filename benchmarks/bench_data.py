"""Benchmark of the text pipeline on the IMDB training set (25,000 reviews, ~1,300 characters each).

1. ``TextVectorizer.fit_transform`` against a plainly written baseline (``re`` + ``Counter`` +
   per-token dict lookups in Python loops) doing the same job: lowercase, HTML tags out, words,
   vocabulary of the 20,000 most frequent, ids. Timed interleaved in one process; tokens/s.
2. The padded-token cost of batching, batch size 64, reviews truncated to 500 tokens: every batch
   padded to 500 (``PaddedLoader``) vs random batches padded to their own longest review vs
   length-bucketed batches (``BucketLoader``). The ratio of padded cells is the ratio of
   recurrent-step work a model does per epoch.

Run: ``.venv/bin/python -m benchmarks.bench_data [--quick] [--data ../shared/data/imdb_aclImdb]``
(prints the section and writes ``benchmarks/results/data.md``).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.common import SHARED_DATA, interleaved, machine, table
from rnnkit.data import BucketLoader, PaddedLoader, TextVectorizer, read_text_dataset

RESULTS = Path(__file__).resolve().parent / "results" / "data.md"
DEFAULT_DATA = SHARED_DATA / "imdb_aclImdb"
MAX_TOKENS = 20_000
BATCH = 64
FIXED_LENGTH = 500
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"\w+")


def naive_fit_transform(texts: list[str], max_tokens: int = MAX_TOKENS) -> list[np.ndarray]:
    """The tutorial-style baseline: regex words, a Counter, and Python loops for the lookups."""
    counts: Counter[str] = Counter()
    token_lists = []
    for text in texts:
        tokens = _WORD.findall(_TAG.sub(" ", text.lower()))
        token_lists.append(tokens)
        for token in tokens:
            counts[token] += 1
    vocab = {tok: i + 2 for i, (tok, _) in enumerate(counts.most_common(max_tokens - 2))}
    sequences = []
    for tokens in token_lists:
        ids = []
        for token in tokens:
            ids.append(vocab.get(token, 1))
        sequences.append(np.array(ids, dtype=np.int64))
    return sequences


def _padding_rows(sequences: list[np.ndarray], epochs: int) -> list[list[object]]:
    loaders = {
        f"fixed length {FIXED_LENGTH} (PaddedLoader)": PaddedLoader(
            sequences, batch_size=BATCH, max_length=FIXED_LENGTH
        ),
        "random batches, padded to batch max": BucketLoader(
            sequences, batch_size=BATCH, max_length=FIXED_LENGTH, pool_size=BATCH
        ),
        "length-bucketed (BucketLoader, pool 50x64)": BucketLoader(
            sequences, batch_size=BATCH, max_length=FIXED_LENGTH
        ),
    }
    real = int(np.minimum([len(s) for s in sequences], FIXED_LENGTH).sum())
    cells = {}
    for name, loader in loaders.items():
        per_epoch = []
        for epoch in range(epochs):
            loader.set_epoch(epoch)
            per_epoch.append(loader.padded_tokens())
        cells[name] = float(np.mean(per_epoch))
    fixed = next(iter(cells.values()))
    cells["(ceiling: real tokens only, no padding)"] = float(real)
    return [
        [name, f"{c:,.0f}", f"{1 - real / c:.1%}", f"{fixed / c:.2f}x"] for name, c in cells.items()
    ]


def run(quick: bool = False, data: Path | None = None) -> str:
    """The markdown section (``## Text pipeline``) for benchmarks/results/data.md."""
    folder = Path(data) if data is not None else DEFAULT_DATA
    shards = sorted(folder.glob("imdb_train_*.csv.gz"))
    command = ".venv/bin/python -m benchmarks.bench_data" + (" --quick" if quick else "")
    if not shards:
        return (
            "## Text pipeline (IMDB)\n\n"
            f"Skipped: no imdb_train_*.csv.gz under {folder}; pass --data DIR.\n\n"
            f"Reproduce: `{command}`\n"
        )
    if quick:
        shards = shards[:1]
    start = time.perf_counter()
    dataset = read_text_dataset(shards)
    read_seconds = time.perf_counter() - start
    texts = dataset.texts
    chars = sum(map(len, texts))

    vectorizer = TextVectorizer(max_tokens=MAX_TOKENS)
    sequences = vectorizer.fit_transform(texts)
    n_tokens = sum(len(s) for s in sequences)
    baseline_tokens = sum(len(s) for s in naive_fit_transform(texts))
    repeats = 1 if quick else 3
    times = interleaved(
        {
            "naive": lambda: naive_fit_transform(texts),
            "fit_transform": lambda: TextVectorizer(max_tokens=MAX_TOKENS).fit_transform(texts),
            "transform": lambda: vectorizer.transform(texts),
            "transform_pad": lambda: vectorizer.transform(texts, pad=True),
        },
        repeats=repeats,
        warmup=0,
    )
    base = times["naive"]
    speed_rows = [
        ["naive baseline: re.findall + Counter + loops (fit+ids)", times["naive"],
         f"{baseline_tokens / base:,.0f}", "1.00x"],
        ["TextVectorizer.fit_transform", times["fit_transform"],
         f"{n_tokens / times['fit_transform']:,.0f}", f"{base / times['fit_transform']:.2f}x"],
        ["TextVectorizer.transform (fitted, ragged)", times["transform"],
         f"{n_tokens / times['transform']:,.0f}", f"{base / times['transform']:.2f}x"],
        ["TextVectorizer.transform(pad=True)", times["transform_pad"],
         f"{n_tokens / times['transform_pad']:,.0f}", f"{base / times['transform_pad']:.2f}x"],
    ]  # fmt: skip
    pad_rows = _padding_rows(sequences, epochs=1 if quick else 3)
    ratio = pad_rows[0][3], pad_rows[2][3]
    lengths = np.array([len(s) for s in sequences])
    return "\n".join(
        [
            "## Text pipeline (IMDB)",
            "",
            f"{len(texts):,} IMDB training reviews ({chars / len(texts):,.0f} characters and "
            f"{lengths.mean():.0f} tokens on average, median {np.median(lengths):.0f}, "
            f"max {lengths.max()}); reading {len(shards)} gzip CSV shard(s) took "
            f"{read_seconds:.2f} s. Vocabulary {MAX_TOKENS:,} tokens; median of {repeats} "
            "interleaved run(s).",
            "",
            table(["vectorizing", "seconds", "tokens/s", "speed vs baseline"], speed_rows),
            "",
            f"Padded cells per epoch, batch {BATCH}, reviews truncated to {FIXED_LENGTH} tokens "
            f"({'1 epoch' if quick else 'mean of 3 epochs'}):",
            "",
            table(["batching", "B*T cells", "padding share", "cells vs fixed"], pad_rows),
            "",
            f"Bucketing cuts the padded cells by {ratio[1]} against padding to {FIXED_LENGTH} "
            f"(the ceiling, zero padding, is {pad_rows[3][3]}), so a recurrent layer runs that "
            "many times fewer time steps per epoch; the wall-clock training speed-up is measured "
            "separately.",
            "",
            f"Machine: {machine()}",
            "",
            f"Reproduce: `{command}`",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one shard, one repeat")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="imdb_aclImdb folder")
    args = parser.parse_args(argv)
    section = run(quick=args.quick, data=args.data)
    print(section)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(section, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
