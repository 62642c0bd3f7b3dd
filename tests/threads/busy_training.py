"""Run by test_threads_load.py in a fresh interpreter: time a tiny fixed training alone and then
beside a CPU-bound process in its own session; prints the busy loop's pid, then one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from rnnkit.data.datasets import load_uci_sentiment
from rnnkit.tasks import TextClassifier


def train_seconds(texts: list[str], labels: list[str]) -> float:
    started = time.perf_counter()
    TextClassifier(hidden_size=32, embedding_dim=32, epochs=6, batch_size=32, verbose=0,
                   seed=0).fit(texts, labels)
    return time.perf_counter() - started


def main() -> None:
    data = load_uci_sentiment("all")
    # about a second alone: longer than the governor's re-check interval, as a real training is
    texts, labels = list(data.texts)[:1000], list(data.labels)[:1000]
    train_seconds(texts[:64], labels[:64])  # warm-up: kernels, first-call costs
    quiet = train_seconds(texts, labels)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
    print(busy.pid, flush=True)
    try:
        time.sleep(1.5)  # running when the training starts (one that starts mid-step costs that
        # step at the collapsed speed until the next re-check: docs/threads.md)
        loaded = train_seconds(texts, labels)
    finally:
        busy.kill()
        busy.wait()
    print(json.dumps({"quiet": quiet, "loaded": loaded}), flush=True)


if __name__ == "__main__":
    main()
