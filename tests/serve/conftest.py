"""Fixtures for the serving tests: tiny bundles trained in-test and a live uvicorn server
(helpers live in serve_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import LiveServer, review_data


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"reviews": text classifier, "hello": char language model, "wave": forecaster}``."""
    from rnnkit.tasks import Forecaster, LanguageModel, TextClassifier

    root = tmp_path_factory.mktemp("bundles")
    texts, labels = review_data()
    clf = TextClassifier(epochs=12, hidden_size=8, embedding_dim=8, min_freq=1, batch_size=16,
                         dropout=0.0, patience=0, verbose=0)
    clf.fit(texts, labels)
    lm = LanguageModel(hidden_size=16, num_layers=1, embedding_dim=8, bptt=16, batch_size=8,
                       epochs=2, verbose=0)
    lm.fit("hello world, hello rnnkit. " * 40)
    t = np.arange(120)
    wave = 10 + 3 * np.sin(2 * np.pi * t / 12) + 0.05 * t
    fc = Forecaster(lookback=24, season=12, log=False, differencing="none", horizon=6,
                    hidden_size=4, ensemble=1, epochs=5, linear_skip=True)
    fc.fit(wave, test_size=0.2)
    return {"reviews": clf.save(root / "reviews"), "hello": lm.save(root / "hello"),
            "wave": fc.save(root / "wave")}


@pytest.fixture(scope="session")
def loaded(bundles: dict[str, Path]) -> dict[str, object]:
    import rnnkit

    return {name: rnnkit.load(path) for name, path in bundles.items()}


@pytest.fixture(scope="session")
def client(loaded: dict[str, object]) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from rnnkit.serve import create_app

    with TestClient(create_app(loaded)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(loaded: dict[str, object]) -> Iterator[LiveServer]:
    from rnnkit.serve import create_app

    # As `rnnkit serve` runs it: the Host check on (the page must work under it).
    with LiveServer(create_app(loaded, allowed_hosts=["127.0.0.1"])) as server:
        yield server
