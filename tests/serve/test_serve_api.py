"""The HTTP API: answers that match the task objects, limits, and 4xx errors."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from rnnkit.serve import ServeLimits, create_app
from rnnkit.serve.models import model_name_and_path


def test_health_and_models_describe_every_bundle(client, loaded):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["models"] == 3
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert models["reviews"]["task"] == "text_classifier"
    assert models["reviews"]["classes"] == ["neg", "pos"]
    assert models["reviews"]["vocabulary_size"] == loaded["reviews"].vectorizer_.vocabulary_size
    assert models["reviews"]["metrics"]["validation"]["accuracy"] > 0.8
    assert models["hello"]["endpoints"] == ["generate"]
    assert models["wave"]["horizon"] == 6 and models["wave"]["targets"] == ["y"]
    assert client.get("/models/wave").json()["task"] == "forecaster"


def test_predict_matches_the_classifier(client, loaded):
    texts = ["a wonderful film", "boring plot and poor acting", "很好看的电影"]
    body = client.post("/models/reviews/predict", json={"texts": texts}).json()
    clf = loaded["reviews"]
    proba = clf.predict_proba(texts)
    assert [p["label"] for p in body["predictions"]] == clf.predict(texts)
    got = np.array(
        [[p["probabilities"]["neg"], p["probabilities"]["pos"]] for p in body["predictions"]]
    )
    np.testing.assert_allclose(got, proba, atol=1e-6)
    assert body["predictions"][0]["label"] == "pos" and body["predictions"][1]["label"] == "neg"
    assert body["predictions"][0]["saliency"] is None


def test_saliency_marks_the_sentiment_word(client):
    body = client.post(
        "/models/reviews/predict",
        json={"texts": ["the plot was superb", "the cast was awful"], "explain": True},
    ).json()
    for pred, word in zip(body["predictions"], ["superb", "awful"], strict=True):
        weights = {t["token"]: t["weight"] for t in pred["saliency"]}
        assert list(weights) == ["the", "plot" if word == "superb" else "cast", "was", word]
        assert max(weights, key=weights.get) == word


def test_occlusion_saliency_without_explain(loaded):
    from rnnkit.serve.models import ServedClassifier

    served = ServedClassifier("r", loaded["reviews"], batching=False)
    try:
        pairs = served._occlusion("the plot was superb", label_index=1)
    finally:
        served.close()
    assert [p["token"] for p in pairs] == ["the", "plot", "was", "superb"]
    assert max(pairs, key=lambda p: p["weight"])["token"] == "superb"


def test_forecast_and_generate(client, loaded):
    body = client.post("/models/wave/forecast", json={"steps": 9}).json()
    expected = loaded["wave"].forecast(9)["y"].to_numpy()
    np.testing.assert_allclose(body["forecast"]["y"], expected, rtol=1e-9)
    assert len(body["index"]) == 9 and len(body["history"]["y"]) == len(body["history_index"])
    own = client.post("/models/wave/forecast", json={"history": list(np.sin(np.arange(60)) + 10)})
    assert own.status_code == 200 and len(own.json()["forecast"]["y"]) == 6

    request = {"prime": "hel", "length": 25, "temperature": 0.7, "seed": 3}
    text = client.post("/models/hello/generate", json=request).json()["text"]
    assert text == loaded["hello"].generate("hel", 25, temperature=0.7, seed=3, include_prime=False)
    streamed = client.post("/models/hello/generate", json={**request, "stream": True})
    assert streamed.headers["content-type"].startswith("text/plain") and streamed.text == text


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/models/nope/predict", {"texts": ["x"]}, 404, "unknown model 'nope'"),
        ("/models/reviews/forecast", {}, 400, "text_classifier"),
        ("/models/wave/generate", {}, 400, "/forecast"),
        ("/models/reviews/predict", {"texts": []}, 422, "between 1 and 64"),
        ("/models/reviews/predict", {"texts": ["x"] * 65}, 422, "between 1 and 64"),
        ("/models/reviews/predict", {"texts": ["x" * 5001]}, 422, "5000"),
        ("/models/reviews/predict", {"sequences": [[[1.0]]]}, 422, "classifies texts"),
        ("/models/reviews/predict", {"texts": "one string"}, 422, "valid list"),
        ("/models/reviews/predict", {"texts": ["x"], "bogus": 1}, 422, "bogus"),
        ("/models/reviews/predict", {"texts": ["good", ""]}, 422, "texts[1] ('') has no words"),
        ("/models/reviews/predict", {"texts": ["?!"]}, 422, "texts[0] ('?!') has no words"),
        ("/models/hello/generate", {"length": 1001}, 422, "length"),
        ("/models/hello/generate", {"temperature": -1}, 422, "temperature"),
        ("/models/hello/generate", {"temperature": 1e-300}, 422, "temperature"),  # found by fuzzing
        ("/models/wave/forecast", {"steps": 501}, 422, "steps"),
        ("/models/wave/forecast", {"steps": 0}, 422, "steps"),
    ],
)
def test_bad_requests_get_clear_4xx_json(client, path, body, status, words):
    response = client.post(path, json=body)
    assert response.status_code == status
    assert response.json()["status"] == status and words in response.json()["error"]


def test_body_size_and_malformed_json():
    app = create_app({}, limits=ServeLimits(max_body_bytes=100))
    with TestClient(app) as small:
        big = small.post("/models/x/predict", content=b"{" + b" " * 200 + b"}")
        assert big.status_code == 413 and "100 bytes" in big.json()["error"]
        bad = small.post("/models/x/predict", content=b"{not json",
                         headers={"content-type": "application/json"})
        assert bad.status_code in (404, 422)


def test_slow_model_gets_a_408(loaded):
    app = create_app({"reviews": loaded["reviews"]}, limits=ServeLimits(timeout_seconds=0.05))
    served = app.state.models["reviews"]
    real = served.batcher.fn
    served.batcher.fn = lambda items: (time.sleep(0.3), real(items))[1]
    with TestClient(app) as slow:
        response = slow.post("/models/reviews/predict", json={"texts": ["fine"]})
    assert response.status_code == 408 and "longer than" in response.json()["error"]


@pytest.mark.parametrize("max_wait", [0.0, 0.05])
def test_concurrent_requests_are_correct_and_batched(loaded, max_wait):
    from serve_helpers import LiveServer

    texts = [f"the {w} film" for w in ["good", "bad", "dull", "superb", "poor", "fine"]] * 8
    expected = loaded["reviews"].predict_proba(texts)
    app = create_app({"reviews": loaded["reviews"]}, max_wait=max_wait)
    served = app.state.models["reviews"]
    with LiveServer(app) as live_server:
        got = ask_concurrently(live_server.url, texts)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    if max_wait:  # a 50 ms window surely groups some of 16 concurrent clients
        assert served.batcher.batches_run < len(texts)


def test_batcher_groups_queued_requests_and_keeps_order():
    from rnnkit.serve.batching import MicroBatcher

    calls = []

    def slow_len(items):
        calls.append(len(items))
        time.sleep(0.05)
        return np.array([[len(s)] for s in items])

    batcher = MicroBatcher(slow_len)
    futures = [batcher.submit(["x" * i, "y" * (i + 1)]) for i in range(6)]
    results = [f.result(timeout=10)[:, 0].tolist() for f in futures]
    batcher.close()
    assert results == [[i, i + 1] for i in range(6)]
    assert sum(calls) == 12 and len(calls) < 6  # later requests queued behind the first batch


def ask_concurrently(url, texts):
    """Each text sent alone by one of 16 threads; probabilities in text order."""

    def ask(i: int) -> list[float]:
        with httpx.Client(base_url=url, timeout=30) as http:
            pred = http.post("/models/reviews/predict", json={"texts": [texts[i]]}).json()
        return [pred["predictions"][0]["probabilities"][c] for c in ("neg", "pos")]

    with ThreadPoolExecutor(16) as pool:
        return np.array(list(pool.map(ask, range(len(texts)))))


def test_model_names_from_paths_and_name_equals_path(tmp_path):
    assert model_name_and_path(f"imdb={tmp_path}") == ("imdb", tmp_path)
    assert model_name_and_path(str(tmp_path / "reviews")) == ("reviews", tmp_path / "reviews")


def test_page_and_assets_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "http" not in page.text.replace('href="/openapi.json"', "")  # no external URL
    for asset in ("/static/app.js", "/static/style.css"):
        response = client.get(asset)
        assert response.status_code == 200 and "https://" not in response.text
    assert client.get("/docs").status_code == 404
    assert "/models/{name}/predict" in client.get("/openapi.json").json()["paths"]
