"""Look inside a sentiment classifier: gate heat maps, saliency, and a one-page HTML report.

Trains a small LSTM TextClassifier on the bundled UCI sentences (about a minute), saves it with
its test accuracy next to a bag-of-words baseline, then writes into OUT (default ``inside_text/``):
``states_l0.png`` / ``states_l0_reverse.png`` (hidden state and LSTM gates for the first sentence),
``saliency.html`` / ``saliency.png`` and ``report.html`` (self-contained).

    OMP_NUM_THREADS=1 python examples/inside_text.py [OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rnnkit.data import load_uci_sentiment
from rnnkit.inspect.report import write_report
from rnnkit.inspect.views import inspect_bundle
from rnnkit.tasks import TextClassifier
from rnnkit.tasks.baselines import BagOfWordsClassifier
from rnnkit.tasks.classification import stratified_split

out = Path(sys.argv[1] if len(sys.argv) > 1 else "inside_text")
data = load_uci_sentiment("all")
labels = ["negative" if y == 0 else "positive" for y in data.labels]
train, test = stratified_split(np.array(data.labels), 0.2, 0)
X_train, y_train = [data.texts[i] for i in train], [labels[i] for i in train]
X_test, y_test = [data.texts[i] for i in test], [labels[i] for i in test]

clf = TextClassifier(hidden_size=32, embedding_dim=64, time_budget=60, verbose=0)
clf.fit(X_train, y_train)
report = clf.evaluate(X_test, y_test)
baseline = BagOfWordsClassifier().fit(X_train, y_train).score(X_test, y_test)
bundle = clf.save(out / "bundle", extra_metrics={
    "test": report, "baseline": {"bag_of_words_logreg": {"accuracy": baseline}}})
print(f"test accuracy {report['accuracy']:.3f} (bag-of-words baseline {baseline:.3f})")

examples = ["The food was not good at all.", "What a wonderful, moving film.",
            "I would not recommend this phone, the battery died after a day."]
for text in examples:
    e = clf.explain(text)
    print(
        f"{e.label:>8} p={e.probability:.2f}  " + "  ".join(f"{t}:{s:+.2f}" for t, s in e.pairs())
    )
(out / "examples.txt").write_text("\n".join(examples) + "\n", encoding="utf-8")
for path in inspect_bundle(bundle, str(out / "examples.txt"), out):
    print("wrote", path)
print("wrote", write_report(bundle, out / "report.html", examples))
