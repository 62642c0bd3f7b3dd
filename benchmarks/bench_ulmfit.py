"""ULMFiT on IMDB: a word-level language model trained on the training reviews, fine-tuned as a
classifier, beside ``TextClassifier()`` defaults, the bag of words, NB-SVM and NB-LR.

    python -m benchmarks.bench_ulmfit --data ../shared/data/imdb_aclImdb           # the full run
    python -m benchmarks.bench_ulmfit --data ../shared/data/imdb_aclImdb --small   # 2,000 labels

The full run (Howard & Ruder 2018, arXiv 1801.06146, scaled to 2 CPU cores and 45 minutes):

1. A word-level LSTM language model (``LM_OPTIONS``: lower case, punctuation marks as words, a
   30,000-word vocabulary, adaptive softmax, light AWD-LSTM regularisation) trained on the text
   of the training reviews only, under ``--lm-minutes``. ``SMALL_SET`` (2,000) training reviews
   are held out of it: the ``--small`` run uses them as a labelled set the LM never read.
2. ``TextClassifier(pretrained=lm, ...)`` (``CLASSIFIER_OPTIONS``: whole reviews read in windows
   of 70 tokens (BPT3C), concat pooling, ULMFiT's batch-normalised head, slanted triangular
   learning rates) on all 25,000 labelled training reviews, under ``--classifier-minutes``.
3. The test accuracy on the 25,000 test reviews, which neither stage ever reads; then, in the
   same process, the baselines of ``bench_text`` on the same split.

The language model is saved to ``benchmarks/out/ulmfit_lm`` (not in git) for the ``--small``
run: on the 2,000 held-out reviews, the same classifier recipe with and without the pretrained
model, over ``--seeds``, scored on a fixed sample of 5,000 test reviews (mean and spread). There
the budget, not a number of epochs, bounds the classifier (``SMALL_OPTIONS``): 1,800 reviews are
about 30 steps an epoch, and three epochs too few for the pretrained layers to adapt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SHARED_DATA, machine, table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LM_BUNDLE = HERE / "out" / "ulmfit_lm"
#: Training reviews kept out of the language model, for the small-set comparison.
SMALL_SET = 2000
#: Test reviews the small-set runs are scored on (a fixed random sample).
SMALL_TEST = 5000

LM_OPTIONS: dict[str, Any] = dict(
    level="word", standardize="lower_and_split_punctuation", max_tokens=30000, min_freq=3,
    output="adaptive", cell="lstm", hidden_size=256, num_layers=2, embedding_dim=200,
    dropout=0.1, locked_dropout=True, weight_drop=0.1, embedding_dropout=0.02, bptt=70,
    batch_size=64, lr=3e-3, valid_fraction=0.02, patience=None, epochs=50, verbose=1,
)
# Discriminative rates (layer_lr_decay=2.6) and gradual unfreezing are off: with three epochs in
# the budget, a 3,000-review probe (same LM recipe, 4 minutes) reached 0.575 test accuracy with
# both, 0.576 with the decay alone and 0.665 with neither (2.5 minutes each).
CLASSIFIER_OPTIONS: dict[str, Any] = dict(
    window=70, head="batchnorm", schedule="stlr", lr=3e-3, epochs=3, batch_size=64, dropout=0.3,
    validation_split=0.1, verbose=1,
)
#: The small-set classifiers: as many epochs as ``--small-minutes`` allows (the slanted triangle
#: follows the budget), the best validation epoch kept.
SMALL_OPTIONS: dict[str, Any] = dict(epochs=50, verbose=0)


def load_split(root: Path, limit: int | None = None) -> tuple[Any, Any]:
    """IMDB's train and test sets; ``limit``: a random ``limit`` of each (for a quick look)."""
    from benchmarks.bench_text import load_imdb
    from rnnkit.data import TextDataset

    train, test = load_imdb(root)
    if limit is None:
        return train, test
    picked = []
    for part in (train, test):
        keep = np.random.default_rng(2).permutation(len(part.texts))[:limit]
        picked.append(TextDataset([part.texts[i] for i in keep], [part.labels[i] for i in keep],
                                  f"{part.source} ({limit} of them)"))
    return picked[0], picked[1]


def held_out_indices(n: int, seed: int = 0) -> np.ndarray:
    """The ``SMALL_SET`` training reviews (a fifth of fewer) kept out of the language model
    (sorted indices)."""
    return np.sort(np.random.default_rng(seed).permutation(n)[:min(SMALL_SET, n // 5)])


def train_language_model(texts: list[str], minutes: float, seed: int = 0) -> tuple[Any, float]:
    from rnnkit.tasks import LanguageModel
    from rnnkit.tasks.language_model import DOCUMENT_SEPARATOR

    started = time.perf_counter()
    lm = LanguageModel(**LM_OPTIONS, time_budget=60 * minutes, seed=seed,
                       document_separator=DOCUMENT_SEPARATOR)
    lm.fit(texts)
    return lm, time.perf_counter() - started


def fine_tune(lm: Any, texts: list[str], labels: list[int], minutes: float | None,
              seed: int = 0, **overrides: Any) -> tuple[Any, float]:
    from rnnkit.tasks import TextClassifier

    options = {**CLASSIFIER_OPTIONS, **overrides}
    budget = None if minutes is None else 60 * minutes
    started = time.perf_counter()
    clf = TextClassifier(pretrained=lm, time_budget=budget, seed=seed, **options)
    clf.fit(texts, labels)
    return clf, time.perf_counter() - started


def _percent(x: float) -> str:
    return f"{100 * x:.2f}%"


def run_full(root: Path, lm_minutes: float, classifier_minutes: float,
             baselines: list[str], limit: int | None = None) -> str:
    from benchmarks.bench_text import LABELS, run_recipe

    load_before = os.getloadavg()[0]
    train, test = load_split(root, limit)
    overlap = len(set(train.texts) & set(test.texts))
    held = set(held_out_indices(len(train.texts)).tolist())
    lm_texts = [t for i, t in enumerate(train.texts) if i not in held]
    print(f"train {len(train.texts)} reviews (LM reads {len(lm_texts)}), test {len(test.texts)}; "
          f"identical texts in both: {overlap}", flush=True)

    lm, lm_seconds = train_language_model(lm_texts, lm_minutes)
    lm.save(LM_BUNDLE, plots=False, force=True)
    valid = lm.metrics_.get("validation") or {}
    clf, clf_seconds = fine_tune(lm, train.texts, train.labels, classifier_minutes)
    started = time.perf_counter()
    accuracy = clf.score(test.texts, test.labels)
    test_seconds = time.perf_counter() - started
    print(f"ULMFiT test accuracy {_percent(accuracy)}", flush=True)

    rows = [[
        "ULMFiT: word LM on the training text, fine-tuned (this recipe)", _percent(accuracy),
        f"{lm_seconds:.0f} + {clf_seconds:.0f} = {lm_seconds + clf_seconds:.0f}",
        f"{lm.metrics_['epochs_run']} + {len(clf.history_ or [])}",
    ]]
    for name in baselines:
        result = run_recipe(name, train, test)
        shown = "diverged" if result["accuracy"] is None else _percent(result["accuracy"])
        rows.append([LABELS[name], shown, f"{result['seconds']:.0f}", result["epochs"]])
        print(rows[-1], flush=True)
    history = clf.history_
    curve = ", ".join(f"{r['epoch']}: {100 * r['val_accuracy']:.2f}%" for r in history.records
                      if r.get("val_accuracy") is not None)
    pretrained = clf.metrics_["pretrained"]
    load_after = os.getloadavg()[0]
    return "\n".join([
        "## ULMFiT on IMDB (25k train / 25k test): pretrain a word LM, fine-tune it",
        "",
        table(["model", "test accuracy", "train seconds", "epochs"], rows),
        "",
        f"- Language model: {LM_OPTIONS['num_layers']}-layer LSTM {LM_OPTIONS['hidden_size']}, "
        f"embedding {LM_OPTIONS['embedding_dim']}, vocabulary {lm.metrics_['vocabulary_size']:,} "
        f"(adaptive softmax), on {lm.metrics_['train_tokens']:,} tokens of {len(lm_texts):,} "
        f"training reviews ({SMALL_SET:,} held out for the small-set run), "
        f"{lm.metrics_['epochs_run']} epoch(s) in {lm_seconds / 60:.1f} min "
        f"({lm.metrics_['stopped_reason']}); validation perplexity "
        f"{valid.get('perplexity', float('nan')):.1f} on the last "
        f"{100 * LM_OPTIONS['valid_fraction']:.0f}% of its text.",
        f"- Classifier: {', '.join(f'{k}={v!r}' for k, v in CLASSIFIER_OPTIONS.items())}; "
        f"{len(history)} epoch(s) in {clf_seconds / 60:.1f} min "
        f"({clf.metrics_['stopped_reason']}); validation accuracy by epoch: {curve}. "
        f"Words of the labelled reviews the LM lacks: {pretrained['oov_words']:,} "
        f"({100 * pretrained['oov_share']:.2f}% of the tokens).",
        f"- Both stages: {(lm_seconds + clf_seconds) / 60:.1f} min of training; scoring the "
        f"25,000 test reviews {test_seconds:.0f} s. Train and test reviews: "
        f"{len(train.texts):,} / {len(test.texts):,}; identical texts in both files: {overlap} "
        "(IMDB's own duplicates; nothing is read from the test files before scoring).",
        "",
        f"Machine: {machine()}. 1-min load average {load_before:.2f} before, {load_after:.2f} "
        "after. Reproduce: `python -m benchmarks.bench_ulmfit --data ../shared/data/imdb_aclImdb`"
        f" (LM {lm_minutes:g} min, classifier {classifier_minutes:g} min).",
    ])


def run_small(root: Path, seeds: list[int], minutes: float) -> str:
    from rnnkit.tasks import LanguageModel, TextClassifier

    if not LM_BUNDLE.exists():
        return (f"## ULMFiT with {SMALL_SET:,} labelled reviews\n\nSkipped: no language model at "
                f"{LM_BUNDLE}; run the full benchmark first.\n")
    load_before = os.getloadavg()[0]
    train, test = load_split(root)
    held = held_out_indices(len(train.texts))
    texts = [train.texts[i] for i in held]
    labels = [train.labels[i] for i in held]
    sample = np.random.default_rng(1).permutation(len(test.texts))[:SMALL_TEST]
    test_texts = [test.texts[i] for i in sample]
    test_labels = [test.labels[i] for i in sample]
    lm = LanguageModel.load(LM_BUNDLE)
    scores: dict[str, list[float]] = {"pretrained": [], "scratch": []}
    seconds: dict[str, list[float]] = {"pretrained": [], "scratch": []}
    for seed in seeds:
        clf, spent = fine_tune(lm, texts, labels, minutes, seed=seed, **SMALL_OPTIONS)
        scores["pretrained"].append(clf.score(test_texts, test_labels))
        seconds["pretrained"].append(spent)
        started = time.perf_counter()
        plain = TextClassifier(time_budget=60 * minutes, seed=seed, verbose=0)
        plain.fit(texts, labels)
        seconds["scratch"].append(time.perf_counter() - started)
        scores["scratch"].append(plain.score(test_texts, test_labels))
        print(f"seed {seed}: pretrained {scores['pretrained'][-1]:.4f}, "
              f"from scratch {scores['scratch'][-1]:.4f}", flush=True)

    def summary(values: list[float]) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return (f"{100 * statistics.mean(values):.2f}% ± {100 * spread:.2f} "
                f"({', '.join(f'{100 * v:.1f}' for v in values)})")

    gains = [p - s for p, s in zip(scores["pretrained"], scores["scratch"], strict=True)]
    rows = [
        ["TextClassifier(pretrained=LM, ULMFiT schedule)", summary(scores["pretrained"]),
         f"{statistics.mean(seconds['pretrained']):.0f}"],
        ["TextClassifier() defaults, no pretraining", summary(scores["scratch"]),
         f"{statistics.mean(seconds['scratch']):.0f}"],
    ]
    return "\n".join([
        f"## ULMFiT with {SMALL_SET:,} labelled IMDB reviews",
        "",
        f"The {SMALL_SET:,} training reviews the language model above never read, as the only "
        f"labelled data; scored on {SMALL_TEST:,} test reviews (a fixed random sample); seeds "
        f"{', '.join(map(str, seeds))}; at most {minutes:g} min of training each. Mean ± standard "
        "deviation over the seeds (each seed's figure in brackets).",
        "",
        table(["model", "test accuracy", "train seconds (mean)"], rows),
        "",
        f"Gain from pretraining: {100 * statistics.mean(gains):+.2f} points "
        f"(per seed {', '.join(f'{100 * g:+.1f}' for g in gains)}).",
        "",
        f"Machine: {machine()}. 1-min load average {load_before:.2f} before. Reproduce: "
        "`python -m benchmarks.bench_ulmfit --data ../shared/data/imdb_aclImdb --small` (after "
        "the full run, which writes the language model).",
    ])


def run(quick: bool = False, data: Path | None = None) -> str:
    """``make bench``: the full run (and the small-set run after it)."""
    root = Path(data) if data else SHARED_DATA / "imdb_aclImdb"
    if not root.is_dir():
        return f"## ULMFiT on IMDB\n\nSkipped: no data at {root} (pass --data).\n"
    full = run_full(root, 3 if quick else 22, 2 if quick else 22,
                    [] if quick else ["bag_of_words", "nbsvm", "nb_logistic", "defaults"])
    return full + "\n\n" + run_small(root, [0] if quick else [0, 1, 2], 1 if quick else 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "imdb_aclImdb",
                        help="folder with imdb_{train,test}_*.csv.gz")
    parser.add_argument("--small", action="store_true",
                        help="only the small-set comparison (needs the full run's LM)")
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the small-set run")
    parser.add_argument("--small-minutes", type=float, default=2.0,
                        help="training budget of each small-set classifier")
    parser.add_argument("--lm-minutes", type=float, default=22.0)
    parser.add_argument("--classifier-minutes", type=float, default=22.0)
    parser.add_argument("--limit", type=int, default=None,
                        help="a random LIMIT of the train and of the test reviews (a quick look)")
    parser.add_argument("--baselines", default="bag_of_words,nbsvm,nb_logistic,defaults",
                        help="comma-separated bench_text recipes run after ULMFiT ('' = none)")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.small:
        seeds = [int(s) for s in args.seeds.split(",") if s]
        section = run_small(args.data, seeds, args.small_minutes)
        (RESULTS / "ulmfit_small.md").write_text(section + "\n", encoding="utf-8")
    else:
        baselines = [b for b in args.baselines.split(",") if b]
        section = run_full(args.data, args.lm_minutes, args.classifier_minutes, baselines,
                           args.limit)
        (RESULTS / "ulmfit.md").write_text(section + "\n", encoding="utf-8")
    print(section)


if __name__ == "__main__":
    main()
