"""``rnnkit demo`` / ``make demo``: the main job on bundled data, in under two minutes.

Trains a bidirectional-LSTM sentiment classifier on the UCI Sentiment Labelled Sentences that ship
with rnnkit (3,000 one-sentence reviews of products, films and restaurants; Kotzias et al., KDD
2015, CC BY 4.0), holds out a stratified 20% test split, prints test accuracy beside a
bag-of-words logistic-regression baseline, a few predictions (negations included) and saves the
bundle with its training curves and confusion matrix.

Training stops at the first of: early stopping, the last epoch, or ``time_budget`` seconds
(:data:`TIME_BUDGET`, ``rnnkit demo --time-budget``); the demo says so before it starts and
which one it was at the end, so a slow machine gives a shorter training, never a silent one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data import load_uci_sentiment
from rnnkit.io import check_bundle_target
from rnnkit.tasks import TextClassifier
from rnnkit.tasks.baselines import BagOfWordsClassifier
from rnnkit.tasks.classification import stratified_split
from rnnkit.tasks.defaults import TEXT_TASK

NAMES = {0: "negative", 1: "positive"}
EXAMPLES = [
    "I loved this phone, the battery lasts for days.",
    "The food was cold and the waiter was rude.",
    "Not bad at all, I would come back.",
    "This is not good.",
    "I am not happy with this purchase.",
    "Never disappointed, always a great experience.",
]
#: Seconds of training at most (about 1.5 minutes in all on a 2-core CPU).
TIME_BUDGET = 90.0
STOPS = {"early_stopping": "early stopping", "time_budget": "time budget reached",
         "completed": "last epoch"}


def run_demo(
    out: str | Path = "demo-bundle", seed: int = 0, verbose: int = 1,
    time_budget: float | None = TIME_BUDGET,
) -> dict[str, Any]:
    """Train, evaluate, show predictions and save the bundle to ``out``; returns the accuracies,
    the bundle's path and the seconds taken.

    ``time_budget``: seconds of training at most (None: no limit, every epoch up to early
    stopping).
    """
    started = time.perf_counter()
    check_bundle_target(out, TEXT_TASK)  # before training: never minutes of work, then a refusal
    data = load_uci_sentiment("all")
    labels = [NAMES[int(y)] for y in data.labels or []]
    train_idx, test_idx = stratified_split(np.array(data.labels), 0.2, seed)
    train_texts = [data.texts[i] for i in train_idx]
    train_labels = [labels[i] for i in train_idx]
    test_texts = [data.texts[i] for i in test_idx]
    test_labels = [labels[i] for i in test_idx]
    print(f"UCI sentiment sentences (bundled): {len(train_texts)} train / {len(test_texts)} test")

    baseline = BagOfWordsClassifier(seed=seed).fit(train_texts, train_labels)
    baseline_accuracy = baseline.score(test_texts, test_labels)

    clf = TextClassifier(seed=seed, verbose=verbose, time_budget=time_budget)
    budget = "no time limit" if time_budget is None else f"at most {time_budget:g} s"
    print(f"training: up to {clf.params['epochs']} epochs with early stopping, {budget} "
          "(--time-budget)", flush=True)
    trained = time.perf_counter()
    clf.fit(train_texts, train_labels)
    trained = time.perf_counter() - trained
    history = clf.history_
    assert history is not None  # set by fit
    stop = history.stopped_reason or ""
    print(f"trained {len(history)} epoch(s) in {trained:.0f} s, stopped: {STOPS.get(stop, stop)}")
    report = clf.evaluate(test_texts, test_labels)
    bundle = clf.save(
        out,
        extra_metrics={
            "test": report,
            "baseline": {"bag_of_words_logreg": {"accuracy": baseline_accuracy}},
        },
    )

    print()
    print(f"test accuracy  {report['accuracy']:.3f}  bidirectional LSTM "
          f"({clf.params['hidden_size']} units)")
    print(f"               {baseline_accuracy:.3f}  bag-of-words logistic regression (baseline)")
    print(f"macro F1       {report['macro_f1']:.3f}")
    print()
    for text, row in zip(EXAMPLES, clf.predict_proba(EXAMPLES), strict=True):
        best = int(row.argmax())
        print(f"  {clf.classes_[best]:<8} {row[best]:.2f}  {text}")
    print()
    print(f"bundle saved to {bundle}/ (curves.png, confusion_matrix.png, weights, vocabulary)")
    print(f"try: rnnkit text predict {bundle} \"what a wonderful film\"")
    seconds = time.perf_counter() - started
    print(f"done in {seconds:.0f} s")
    return {"accuracy": report["accuracy"], "baseline_accuracy": baseline_accuracy,
            "macro_f1": report["macro_f1"], "bundle": str(bundle), "seconds": round(seconds, 3)}
