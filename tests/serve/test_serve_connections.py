"""Issue 19, serving: stalled connections are closed after the read timeout, and connections
beyond the limit get a 503 JSON answer (real sockets against a live server on 127.0.0.1)."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from serve_helpers import LiveServer

from rnnkit.serve import ServeLimits, create_app

READ_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def strict_server(loaded) -> Iterator[LiveServer]:
    limits = ServeLimits(read_timeout_seconds=READ_TIMEOUT, max_connections=3)
    with LiveServer(create_app({"reviews": loaded["reviews"]}, limits=limits), limits) as server:
        yield server


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def read_until_closed(sock: socket.socket, limit: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    start = time.monotonic()
    chunks = []
    while time.monotonic() - start < limit:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks), time.monotonic() - start


def status_and_json(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize("partial", [
    b"GET /hea",                                                     # half a request line
    b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Ag",           # half the headers
    b"POST /models/reviews/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # half the body
    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"texts\": [",
])
def test_half_a_request_is_closed_with_a_408(strict_server, partial):
    with connect(strict_server) as sock:
        sock.sendall(partial)
        raw, waited = read_until_closed(sock)
    assert READ_TIMEOUT * 0.8 <= waited < READ_TIMEOUT + 3
    status, body = status_and_json(raw)
    assert status == 408 and body["status"] == 408 and "did not arrive whole" in body["error"]


def test_a_trickled_request_does_not_reset_the_timeout(strict_server):
    with connect(strict_server) as sock:
        start = time.monotonic()
        for byte in b"GET /health HTTP/1.1\r\n":  # one byte every 0.1 s: 2.3 s in all
            if select.select([sock], [], [], 0.1)[0]:
                break  # the server answered: stop sending to a closing connection
            sock.sendall(bytes([byte]))
        raw, _ = read_until_closed(sock)
    assert time.monotonic() - start < READ_TIMEOUT + 1.5
    assert status_and_json(raw)[0] == 408


def test_a_silent_connection_is_closed_without_an_answer(strict_server):
    with connect(strict_server) as sock:
        raw, waited = read_until_closed(sock)
    assert raw == b"" and waited < READ_TIMEOUT + 3


def test_keep_alive_requests_still_work(strict_server):
    with httpx.Client(base_url=strict_server.url, timeout=10) as http:
        for _ in range(4):  # one connection, several requests, pauses shorter than the timeout
            assert http.get("/health").status_code == 200
            time.sleep(READ_TIMEOUT / 3)
        assert http.post("/models/reviews/predict", json={"texts": ["fine"]}).status_code == 200


def test_a_model_slower_than_the_read_timeout_still_answers(loaded):
    limits = ServeLimits(read_timeout_seconds=0.2)
    app = create_app({"reviews": loaded["reviews"]}, limits=limits)
    served = app.state.models["reviews"]
    real = served.batcher.fn
    served.batcher.fn = lambda items: (time.sleep(0.8), real(items))[1]
    with LiveServer(app, limits) as server:
        answer = httpx.post(f"{server.url}/models/reviews/predict", json={"texts": ["fine"]},
                            timeout=10)
    assert answer.status_code == 200 and answer.json()["predictions"][0]["label"] in ("neg", "pos")


def test_connections_beyond_the_limit_get_a_503(strict_server):
    idle = [connect(strict_server) for _ in range(3)]  # the limit, held open
    try:
        time.sleep(0.1)
        with connect(strict_server) as extra:
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            raw, _ = read_until_closed(extra)
        status, body = status_and_json(raw)
        assert status == 503 and body["status"] == 503 and "--max-connections" in body["error"]
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.2)  # the server notices the closed connections
    assert httpx.get(f"{strict_server.url}/health", timeout=10).status_code == 200
