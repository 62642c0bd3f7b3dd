"""Issue 19, serving: the Host check, strict request types, documented status codes, no NaN
answers, and limits that cannot refuse every request."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from rnnkit.errors import ConfigError
from rnnkit.serve import ServeLimits, create_app
from rnnkit.serve.app import host_name


@pytest.fixture(scope="module")
def guarded(loaded):
    """An app that answers only loopback names and ``models.example`` in its Host header."""
    with TestClient(create_app({"reviews": loaded["reviews"]}, allowed_hosts=["models.example"]),
                    base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "[::2]:8000", "10.0.0.1"])
def test_foreign_host_header_is_refused(guarded, host):
    response = guarded.get("/health", headers={"host": host})
    assert response.status_code == 400
    body = response.json()
    assert (
        body["status"] == 400
        and "DNS rebinding" in body["error"]
        and "--allowed-host" in body["error"]
    )
    refused = guarded.post("/models/reviews/predict", json={"texts": ["fine"]},
                           headers={"host": host})
    assert refused.status_code == 400 and "predictions" not in refused.json()


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "LocalHost.", "127.0.0.1",
                                  "127.0.0.1:8000", "[::1]", "[::1]:8000", "127.0.0.2:80",
                                  "models.example", "models.example:443"])
def test_loopback_and_allowed_host_headers_are_answered(guarded, host):
    assert guarded.get("/health", headers={"host": host}).status_code == 200
    answer = guarded.post("/models/reviews/predict", json={"texts": ["fine"]},
                          headers={"host": host})
    assert answer.status_code == 200 and answer.json()["predictions"][0]["label"] in ("neg", "pos")


def test_host_name_parsing():
    assert host_name("[::1]:8000") == "::1" and host_name("LOCALHOST:80") == "localhost"
    assert host_name("example.org.") == "example.org" and host_name("::1") == "::1"


def test_without_allowed_hosts_any_host_is_answered(client):
    assert client.get("/health", headers={"host": "evil.example"}).status_code == 200


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "1", None, [True]])
def test_explain_must_be_a_json_boolean(client, value):
    response = client.post("/models/reviews/predict", json={"texts": ["fine"], "explain": value})
    assert response.status_code == 422 and "explain" in response.json()["error"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/models/hello/generate", {"stream": "yes"}, "stream"),
    ("/models/hello/generate", {"length": "20"}, "length"),
    ("/models/wave/forecast", {"steps": "3"}, "steps"),
])
def test_other_fields_are_strict_too(client, path, body, field):
    response = client.post(path, json=body)
    assert response.status_code == 422 and field in response.json()["error"]


def test_integers_are_still_accepted_as_floats(client):
    response = client.post(
        "/models/hello/generate", json={"prime": "he", "length": 3, "temperature": 1, "seed": 1}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("raw", [b'{"history": [1.0, NaN, 3.0]}', b'{"history": [Infinity]}'])
def test_nan_and_infinity_in_the_body_are_422(client, raw):
    response = client.post("/models/wave/forecast", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422 and "history" in response.json()["error"]


@pytest.mark.parametrize("raw", ['{"texts": ["caf\u00e9"]}'.encode("latin-1"), b"\xff\xfe{}",
                                 b'{"texts": ["\xc3"]}'])
def test_non_utf8_body_is_422_as_documented(client, raw):
    response = client.post("/models/reviews/predict", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"error": response.json()["error"], "status": 422}
    assert "UTF-8" in response.json()["error"]


def test_wrong_method_and_unknown_path_are_json(client):
    assert client.get("/models/reviews/predict").json() == {"error": "Method Not Allowed",
                                                            "status": 405}
    assert client.get("/static/../app.py").json()["status"] == 404
    assert client.get("/nowhere").json() == {"error": "Not Found", "status": 404}


def test_malformed_json_is_422_with_a_readable_message(client):
    response = client.post("/models/reviews/predict", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422 and "not valid JSON" in response.json()["error"]


def test_text_over_the_limit_is_422_on_every_endpoint(client):
    long = "x" * 5001
    assert client.post("/models/reviews/predict", json={"texts": [long]}).status_code == 422
    assert client.post("/models/hello/generate", json={"prime": long}).status_code == 422


def test_nan_probabilities_are_an_error_not_null(loaded):
    app = create_app({"reviews": loaded["reviews"]})
    served = app.state.models["reviews"]
    served.batcher.fn = lambda items: np.full((len(items), 2), np.nan)
    with TestClient(app) as broken:
        response = broken.post("/models/reviews/predict", json={"texts": ["fine", "dull"]})
    assert response.status_code == 422
    assert "NaN" in response.json()["error"] and "texts[0]" in response.json()["error"]
    assert "null" not in response.text


def test_nan_forecast_is_an_error_not_zero(loaded):
    wave = copy.deepcopy(loaded["wave"])
    real = wave.forecast

    def nan_forecast(steps, data=None):
        return real(steps, data=data).assign(y=np.nan)

    wave.forecast = nan_forecast
    with TestClient(create_app({"wave": wave})) as broken:
        response = broken.post("/models/wave/forecast", json={"steps": 3})
    assert response.status_code == 422 and "forecast of y" in response.json()["error"]


def test_nan_weights_are_refused_at_start(loaded):
    reviews = copy.deepcopy(loaded["reviews"])
    with torch.no_grad():
        next(iter(reviews.model_.parameters())).view(-1)[0] = float("nan")
    with pytest.raises(ConfigError, match="NaN or infinity"):
        create_app({"reviews": reviews})


@pytest.mark.parametrize(("field", "value"), [
    ("max_items", 0), ("max_body_bytes", -1), ("max_text_chars", 0), ("timeout_seconds", -5),
    ("timeout_seconds", float("nan")), ("read_timeout_seconds", 0), ("max_connections", 0),
    ("max_items", 2.5), ("max_items", True),
])
def test_limits_that_would_refuse_every_request_are_refused(field, value):
    with pytest.raises(ConfigError, match=field):
        ServeLimits(**{field: value})


def test_health_answers_with_the_smallest_limits():
    tight = ServeLimits(max_items=1, max_body_bytes=1, max_text_chars=1, timeout_seconds=0.01)
    with TestClient(create_app({}, limits=tight)) as small:
        assert small.get("/health").status_code == 200
