"""POST /models/{name}/translate: translations, attention on request, limits, wrong-task errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.serve import create_app
from rnnkit.tasks import Translator
from rnnkit.tasks.translation_toys import reversal_pairs


@pytest.fixture(scope="module")
def client() -> TestClient:
    src, tgt = reversal_pairs(300, 3, 5, vocab=5, seed=0)
    model = Translator(
        hidden_size=16, embedding_dim=8, epochs=4, lr=1e-2, min_freq=1, verbose=0, dropout=0.0
    ).fit(src, tgt)
    with TestClient(create_app({"rev": model})) as test_client:
        yield test_client


def test_translate_returns_one_translation_per_text(client: TestClient) -> None:
    response = client.post("/models/rev/translate",
                           json={"texts": ["a b c", "d e"], "beam_size": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "rev" and [t["source"] for t in body["translations"]] == [
        "a b c",
        "d e",
    ]
    assert all(
        isinstance(t["translation"], str) and "attention" not in t for t in body["translations"]
    )
    info = client.get("/models/rev").json()
    assert info["task"] == "translation" and info["endpoints"] == ["translate"]


def test_attention_on_request(client: TestClient) -> None:
    body = client.post("/models/rev/translate", json={"texts": ["a b c"], "attention": True}).json()
    item = body["translations"][0]
    assert item["source_tokens"] == ["a", "b", "c"]
    assert len(item["attention"]) in (len(item["target_tokens"]), len(item["target_tokens"]) + 1)
    assert all(len(row) == 3 and abs(sum(row) - 1.0) < 1e-3 for row in item["attention"])


def test_limits_and_wrong_verb(client: TestClient) -> None:
    assert client.post("/models/rev/translate", json={"texts": []}).status_code == 422
    assert (
        client.post("/models/rev/translate", json={"texts": ["a"], "beam_size": 99}).status_code
        == 422
    )
    too_long = client.post("/models/rev/translate", json={"texts": ["a " * 3000]})
    assert too_long.status_code == 422 and "5000" in too_long.json()["error"]  # as documented
    wrong = client.post("/models/rev/predict", json={"texts": ["a"]})
    assert wrong.status_code == 400 and "/translate" in wrong.json()["error"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.dictionaries(st.sampled_from(["texts", "beam_size", "attention", "other"]),
                            st.none() | st.booleans() | st.integers(-3, 40) | st.text(max_size=30)
                            | st.lists(st.text(max_size=40), max_size=4), max_size=4))
def test_fuzzed_bodies_never_5xx(client: TestClient, body: dict) -> None:
    response = client.post("/models/rev/translate", json=body)
    assert response.status_code < 500, (body, response.text)
    if response.status_code >= 400:
        assert response.json()["status"] == response.status_code
