"""IMDB sentiment: the classic tutorials' recipes, rnnkit's defaults and a bag-of-words baseline.

Trains each model on the 25,000 IMDB training reviews and reports accuracy on the 25,000 test
reviews, training seconds, and the seconds each needed to first reach 85% test accuracy (test
accuracy is measured after every epoch by a callback that does not influence training; the time
spent measuring is excluded).

    python -m benchmarks.bench_text [--data ../shared/data/imdb_aclImdb]
        [--only defaults,keras_book] [--out text.md]

Recipes:
- ``keras_book``: vocabulary 10,000, the last 500 tokens, Embedding 32 + SimpleRNN 32, RMSprop,
  10 epochs, batch 128, 20% validation (Chollet, *Deep Learning with Python*: ~85%).
- ``bb_reviews``: vocabulary 5,000, Embedding 64 (masked), bidirectional GRU(30) with tanh recurrent
  activation, Dense(60, tanh), Dense(1) (as 2-class softmax), Adam 1e-2.
- ``bb_reviews_sigmoid``: the same with standard sigmoid gates (the literal recipe diverges).
- ``defaults``: ``TextClassifier()`` with nothing set, under a 10-minute time budget.
- ``defaults_mingru``: the same with ``cell="mingru"`` (issue 24: a scan cell beside the LSTM).
- ``bag_of_words``: logistic regression on binary unigram+bigram indicators.
- ``nbsvm``, ``nb_logistic``: the same indicators scaled by the naive-Bayes log-count ratio, then
  an SVM interpolated towards its mean weight, or logistic regression (Wang & Manning 2012, 91.2%
  on IMDB with uni+bigrams; :mod:`benchmarks.nbsvm`, scikit-learn).

``--bucketing`` times training epochs of the defaults' network on a subset of the reviews, fed
three ways, interleaved: length-bucketed batches (what ``TextClassifier`` uses), batches padded to
the fixed ``max_length`` with their lengths (the layer packs them: no compute on padding, but
torch's slower packed kernel), and padded without lengths (Keras' ``pad_sequences``: every step
computed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED_DATA, interleaved, machine, table

RECIPES: dict[str, dict[str, Any]] = {
    "keras_book": dict(
        cell="rnn", bidirectional=False, hidden_size=32, embedding_dim=32, pooling="last",
        max_tokens=10000, min_freq=1, max_length=500, truncation="pre", optimizer="rmsprop",
        lr=1e-3, batch_size=128, epochs=10, validation_split=0.2, patience=0, dropout=0.0,
        clip_norm=None,
    ),
    "bb_reviews": dict(
        cell="gru", bidirectional=True, hidden_size=30, embedding_dim=64, pooling="last",
        recurrent_activation="tanh", head_hidden=60, max_tokens=5000, min_freq=1, max_length=200,
        optimizer="adam", lr=1e-2, batch_size=64, epochs=4, validation_split=0.1, patience=0,
        dropout=0.0,
    ),
    "defaults": dict(time_budget=600),
    "defaults_mingru": dict(time_budget=600, cell="mingru"),
}
# The same recipe with the standard sigmoid gates: tanh "gates" in (-1, 1) let |h| grow with
# every step, and on IMDB at Adam 1e-2 the float32 gradients overflow within the first epoch.
RECIPES["bb_reviews_sigmoid"] = {**RECIPES["bb_reviews"], "recurrent_activation": "sigmoid"}
LABELS = {"keras_book": "Keras book: Embedding 32 + SimpleRNN 32, RMSprop",
          "bb_reviews": "B&B reviews: BiGRU(30, tanh gates) + Dense(60)",
          "bb_reviews_sigmoid": "B&B reviews with sigmoid gates (standard GRU)",
          "defaults": "rnnkit TextClassifier() defaults",
          "defaults_mingru": "rnnkit TextClassifier(cell='mingru'), other settings default",
          "bag_of_words": "bag of words (uni+bigram logistic regression)",
          "nbsvm": "NBSVM (uni+bigram, Wang & Manning 2012)",
          "nb_logistic": "NB logistic regression (uni+bigram)"}
#: The classic baselines: fitted once, no epochs, no time to a target.
BASELINES = ("bag_of_words", "nbsvm", "nb_logistic")


def load_imdb(root: Path) -> tuple[Any, Any]:
    from rnnkit.data import read_text_dataset

    train = read_text_dataset(sorted(root.glob("imdb_train_*.csv*")), "text", "label")
    test = read_text_dataset(sorted(root.glob("imdb_test_*.csv*")), "text", "label")
    return train, test


def _tracker(clf: Any, test: Any, target: float) -> Any:
    """A callback recording test accuracy after each epoch and the training seconds to ``target``.
    """
    from rnnkit.train import Callback

    class TestAccuracy(Callback):
        def __init__(self) -> None:
            self.curve: list[tuple[float, float]] = []
            self.excluded = 0.0
            self.started = 0.0

        def on_train_begin(self, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            pause = time.perf_counter()
            elapsed = pause - self.started - self.excluded
            assert self.model is not None
            was_training = self.model.training
            clf.model_ = self.model
            acc = clf.score(test.texts, test.labels)
            self.model.train(was_training)
            self.excluded += time.perf_counter() - pause
            self.curve.append((elapsed, acc))

        def seconds_to(self, level: float) -> float | None:
            return next((s for s, a in self.curve if a >= level), None)

    return TestAccuracy()


def run_recipe(name: str, train: Any, test: Any, target: float = 0.85) -> dict[str, Any]:
    from rnnkit.errors import TrainingError
    from rnnkit.tasks import TextClassifier
    from rnnkit.tasks.baselines import BagOfWordsClassifier

    started = time.perf_counter()
    if name == "bag_of_words":
        model = BagOfWordsClassifier().fit(train.texts, train.labels)
        seconds = time.perf_counter() - started
        return {"name": name, "accuracy": model.score(test.texts, test.labels), "seconds": seconds,
                "epochs": model.epochs, "to_target": None}
    if name in ("nbsvm", "nb_logistic"):
        from benchmarks.nbsvm import NBSVM

        nb = NBSVM(kind="svm") if name == "nbsvm" else NBSVM(kind="logistic", C=0.1)
        nb.fit(train.texts, train.labels)
        seconds = time.perf_counter() - started
        return {"name": name, "accuracy": nb.score(test.texts, test.labels), "seconds": seconds,
                "epochs": "-", "to_target": None}
    clf = TextClassifier(verbose=2, **RECIPES[name])
    tracker = _tracker(clf, test, target)
    original = clf._trainer

    def trainer_with_tracker(*args: Any, **kwargs: Any) -> Any:
        trainer = original(*args, **kwargs)
        trainer.callbacks.append(tracker)
        return trainer

    clf._trainer = trainer_with_tracker  # type: ignore[method-assign]
    try:
        clf.fit(train.texts, train.labels)
    except TrainingError as error:  # a recipe that diverges is a result to report, not a crash
        seconds = time.perf_counter() - started - tracker.excluded
        return {"name": name, "accuracy": None, "seconds": seconds, "epochs": len(tracker.curve),
                "to_target": tracker.seconds_to(target), "curve": tracker.curve,
                "failed": str(error)}
    seconds = time.perf_counter() - started - tracker.excluded
    return {"name": name, "accuracy": clf.score(test.texts, test.labels), "seconds": seconds,
            "epochs": len(clf.history_ or []), "to_target": tracker.seconds_to(target),
            "curve": tracker.curve}


class _WithoutLengths:
    """A loader whose batches drop ``lengths``: the network runs over every padded step."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __iter__(self) -> Any:
        for inputs, target in self.loader:
            yield {k: v for k, v in inputs.items() if k != "lengths"}, target


def bucketing_speed(train: Any, n: int = 3200, repeats: int = 3) -> tuple[str, dict[str, float]]:
    """Seconds per training epoch over ``n`` reviews: bucketed vs fixed-length padding."""
    import numpy as np

    from rnnkit.data import BucketLoader, PaddedLoader
    from rnnkit.tasks import TextClassifier
    from rnnkit.tasks.classifier_model import RecurrentClassifier
    from rnnkit.train import Trainer

    clf = TextClassifier()
    p = clf.params
    texts, labels = list(train.texts[:n]), np.asarray(train.labels[:n])
    clf._fit_pipeline(texts)
    assert clf.vectorizer_ is not None
    seqs = list(clf.vectorizer_.transform(texts))
    y = (labels == labels[0]).astype(np.int64)
    common = dict(targets=y, batch_size=p["batch_size"], seed=0, max_length=p["max_length"])
    width = p["max_length"]
    loaders = {
        "length-bucketed (rnnkit)": BucketLoader(seqs, **common),
        f"fixed {width}, with lengths (packed)": PaddedLoader(seqs, **common),
        f"fixed {width}, no lengths (Keras style)": _WithoutLengths(PaddedLoader(seqs, **common)),
    }
    kwargs = {k: p[k] for k in clf.network_params if k in p}
    model = RecurrentClassifier(2, vocab_size=clf.vectorizer_.vocabulary_size, **kwargs)
    trainer = Trainer(loss="cross_entropy", lr=p["lr"], clip_norm=p["clip_norm"], verbose=0)
    times = interleaved(
        {name: (lambda ld=ld: trainer.fit(model, ld, epochs=1)) for name, ld in loaders.items()},
        repeats=repeats, warmup=1,
    )
    base = times["length-bucketed (rnnkit)"]
    rows = [[name, f"{t:.1f}", f"{t / base:.2f}x"] for name, t in times.items()]
    return table(["batches", f"seconds per epoch ({n} reviews)", "vs bucketed"], rows), times


def run(quick: bool = False, data: Path | None = None, only: list[str] | None = None,
        bucketing: bool = False, out: str = "text.md") -> str:
    root = Path(data) if data else SHARED_DATA / "imdb_aclImdb"
    if not root.is_dir():
        return f"## IMDB sentiment\n\nSkipped: no data at {root} (pass --data).\n"
    train, test = load_imdb(root)
    speed = ""
    if bucketing:
        speed_table, _ = bucketing_speed(train)
        speed = ("\n\nTraining speed of the defaults' network by batching (epochs interleaved, "
                 "median of 3):\n\n" + speed_table)
    names = only if only is not None else list(LABELS)
    results = [run_recipe(n, train, test) for n in names]
    rows = []
    for r in results:
        to = r["to_target"]
        accuracy = "diverged" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f}%"
        rows.append([LABELS[r["name"]], accuracy, f"{r['seconds']:.0f}",
                     r["epochs"],
                     "-" if r["name"] in BASELINES else (f"{to:.0f}" if to else "never")])
    failures = "".join(
        f"\n\n{LABELS[r['name']]}: {r['failed']}" for r in results if r.get("failed")
    )
    fixed = [r for r in results
             if RECIPES.get(r["name"], {}).get("patience") == 0 and len(r.get("curve", [])) > 1]
    if fixed:
        spans = ", ".join(
            f"{LABELS[r['name']].split(':')[0]} {100 * min(a for _, a in r['curve'][-5:]):.1f}-"
            f"{100 * max(a for _, a in r['curve'][-5:]):.1f}%"
            for r in fixed
        )
        failures += ("\n\nRecipes that train a fixed number of epochs without early stopping "
                     "report their last epoch, wherever it lands; over their last epochs (up to "
                     f"five) the test accuracy moved within: {spans}. A single run's final "
                     "number is one draw from that range.")
    curves = "\n".join(
        f"- {LABELS[r['name']]}: "
        + ", ".join(f"{s:.0f}s {100 * a:.1f}%" for s, a in r.get("curve", []))
        for r in results
        if r.get("curve")
    )
    return "\n".join(
        [
            "## IMDB sentiment (25k train / 25k test)",
            "",
            table(
                ["model", "test accuracy", "train seconds", "epochs", "seconds to 85% test acc."],
                rows,
            ),
            "",
            "Test accuracy after each epoch (training seconds, accuracy):",
            "",
            curves + failures + speed,
            "",
            f"Machine: {machine()}",
            "",
            "Reproduce: `.venv/bin/python -m benchmarks.bench_text --only "
            + ",".join(names)
            + (" --bucketing" if bucketing else "")
            + (f" --out {out}" if out != "text.md" else "")
            + "`",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="IMDB sentiment benchmark")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with imdb_{train,test}_*.csv.gz")
    parser.add_argument("--only", default=None,
                        help="comma-separated: bag_of_words,nbsvm,nb_logistic,defaults,"
                             "keras_book,bb_reviews")
    parser.add_argument("--bucketing", action="store_true",
                        help="also time bucketed vs fixed-length batches")
    parser.add_argument("--out", default="text.md",
                        help="file name under benchmarks/results/ (default text.md)")
    args = parser.parse_args()
    only = [n for n in args.only.split(",") if n] if args.only is not None else None
    section = run(data=args.data, only=only, bucketing=args.bucketing, out=args.out)
    out = Path(__file__).resolve().parent / "results" / args.out
    out.parent.mkdir(exist_ok=True)
    out.write_text(section + "\n", encoding="utf-8")
    print(section)


if __name__ == "__main__":
    main()
