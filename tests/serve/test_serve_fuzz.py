"""Fuzzing: no request body, valid-looking or not, makes the API answer 5xx.

The POST paths and their request fields come from the app's own OpenAPI document; hypothesis
fills them with values of every JSON type (and plausible ones), plus raw bytes as bodies.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
PLAUSIBLE = {
    "texts": st.lists(st.text(max_size=60), max_size=5),
    "sequences": st.lists(
        st.lists(st.lists(st.floats(width=32), max_size=3), max_size=4), max_size=3
    ),
    "explain": st.booleans(),
    "steps": st.integers(-5, 40),
    "history": st.lists(st.floats(-1e6, 1e6), max_size=80),
    "prime": st.text(max_size=20),
    "length": st.integers(-3, 40),
    "temperature": st.floats(-1, 12, allow_nan=False),
    "top_k": st.none() | st.integers(-2, 50),
    "top_p": st.none() | st.floats(-0.5, 1.5),
    "seed": st.none() | st.integers(-(2**65), 2**65),
    "stream": st.booleans(),
    "beam_size": st.none() | st.integers(-2, 20),
    "attention": st.booleans(),
}
SEEN: set[int] = set()
OWNER = {"predict": "reviews", "forecast": "wave", "generate": "hello"}
MODELS = st.sampled_from(["reviews", "hello", "wave", "missing", "ü/..", ""])


@pytest.fixture(scope="module")
def operations(client) -> list[tuple[str, list[str]]]:
    """``(path template, request field names)`` for every POST operation in /openapi.json."""
    schema = client.get("/openapi.json").json()
    ops = []
    for path, methods in schema["paths"].items():
        if "post" not in methods:
            continue
        ref = methods["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        fields = list(schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])
        ops.append((path, fields))
    assert {p for p, _ in ops} == {"/models/{name}/predict", "/models/{name}/forecast",
                                   "/models/{name}/generate", "/models/{name}/translate"}
    return ops


def body_for(data: st.DataObject, fields: list[str]) -> object:
    kind = data.draw(st.sampled_from(["plausible", "plausible", "typed-anything", "anything"]))
    if kind == "anything":
        return data.draw(JSON)
    if kind == "plausible" and "texts" in fields:
        fields = [f for f in fields if f != "sequences"]  # the served classifier reads texts
    chosen = data.draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    return {f: data.draw(PLAUSIBLE[f] if kind == "plausible" else JSON) for f in chosen}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_json_bodies_never_5xx(client, operations, data):
    path, fields = data.draw(st.sampled_from(operations))
    verb = path.rsplit("/", 1)[1]
    # Half the time the model that answers this verb, so that valid requests reach inference.
    # translate: see test_serve_translate
    name = data.draw(st.sampled_from([OWNER.get(verb, "missing")]) | MODELS)
    url = path.replace("{name}", name)
    body = body_for(data, fields)
    response = client.post(url, content=json.dumps(body),
                           headers={"content-type": "application/json"})
    assert response.status_code < 500, (url, body, response.text)
    SEEN.add(response.status_code)
    if response.status_code >= 400:
        assert response.json()["status"] == response.status_code


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=300), name=MODELS,
       verb=st.sampled_from(["predict", "forecast", "generate"]))
def test_fuzzed_raw_bodies_never_5xx(client, raw, name, verb):
    response = client.post(f"/models/{name}/{verb}", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code < 500, (name, verb, raw, response.text)


def test_fuzzing_reached_both_answers_and_errors(client, operations):
    """Guards the fuzzer itself: it must have produced successful requests, not only rejects."""
    if not SEEN:  # run alone: fuzz a little here
        test_fuzzed_json_bodies_never_5xx(client, operations)
    assert 200 in SEEN and {404, 422} <= SEEN
