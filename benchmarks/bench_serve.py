"""Serving load test: `rnnkit serve` on loopback, predict requests at concurrency 16.

Trains a small TextClassifier on the bundled UCI sentences, saves it, starts `rnnkit serve` in a
subprocess (with and without micro-batching) and sends N single-review predict requests from 16
concurrent clients (httpx, asyncio). Reports requests/s, p50/p99 latency and errors, and the
latency of one short review sent alone (sequential requests).

    python -m benchmarks.bench_serve [--quick] [--requests 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine, table

CONCURRENCY = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def train_bundle(root: Path) -> Path:
    from rnnkit.data.datasets import load_uci_sentiment
    from rnnkit.tasks import TextClassifier

    data = load_uci_sentiment("all")
    clf = TextClassifier(hidden_size=32, embedding_dim=32, epochs=3, verbose=0)
    clf.fit(list(data.texts), list(data.labels))
    return clf.save(root / "uci")


class Server:
    def __init__(self, bundle: Path, batching: bool) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        flag = "--batching" if batching else "--no-batching"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rnnkit", "serve", str(bundle), "--port", str(self.port), flag],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())

    def __enter__(self) -> Server:
        import httpx

        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rnnkit serve exited: "
                                   f"{self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("rnnkit serve did not start in 120 s")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


async def load_test(url: str, texts: list[str], requests: int) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        async def worker() -> None:
            nonlocal errors
            for i in counter:
                started = time.perf_counter()
                try:
                    response = await client.post("/models/uci/predict",
                                                 json={"texts": [texts[i % len(texts)]]})
                    ok = response.status_code == 200 and len(response.json()["predictions"]) == 1
                except Exception:  # noqa: BLE001 - counted as an error
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    lat = np.array(latencies) * 1000
    return {"rps": requests / elapsed, "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)), "errors": errors, "seconds": elapsed}


def single_latency(url: str, text: str, repeats: int) -> float:
    import httpx

    times = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(repeats + 5):
            started = time.perf_counter()
            client.post("/models/uci/predict", json={"texts": [text]}).raise_for_status()
            times.append(time.perf_counter() - started)
    return float(np.median(times[5:]) * 1000)


def run(quick: bool = False, requests: int | None = None) -> str:
    from rnnkit.data.datasets import load_uci_sentiment

    requests = requests or (500 if quick else 5000)
    texts = [str(t) for t in load_uci_sentiment("all").texts]
    rows = []
    single = {}
    with tempfile.TemporaryDirectory() as tmp:
        bundle = train_bundle(Path(tmp))
        for batching in (True, False):
            with Server(bundle, batching) as server:
                asyncio.run(load_test(server.url, texts, min(200, requests)))  # warm-up
                result = asyncio.run(load_test(server.url, texts, requests))
                single[batching] = single_latency(server.url, "A fine film.", 50 if quick else 200)
            rows.append(
                [
                    "micro-batching (default: group queued requests)"
                    if batching
                    else "one request per model call",
                    requests,
                    f"{result['rps']:.0f}",
                    f"{result['p50']:.1f}",
                    f"{result['p99']:.1f}",
                    int(result["errors"]),
                    f"{single[batching]:.2f}",
                ]
            )
    speedup = float(rows[0][2]) / max(1.0, float(rows[1][2]))
    return "\n".join([
        "## Serving (`rnnkit serve`, loopback)",
        "",
        f"{requests} `POST /models/uci/predict` requests, one UCI sentence each, from "
        f"{CONCURRENCY} concurrent clients (httpx, asyncio, same machine) against a TextClassifier "
        "(bidirectional LSTM 32, embedding 32) trained on the bundled UCI sentences. Latency in "
        "ms; single = median of sequential requests for `A fine film.`.",
        "",
        table(["server", "requests", "req/s", "p50 ms", "p99 ms", "errors", "single ms"], rows),
        "",
        f"Micro-batching throughput ratio: {speedup:.2f}x.",
        "",
        f"Machine: {machine()}",
        "",
        "Reproduce: `.venv/bin/python -m benchmarks.bench_serve`" + (" --quick" if quick else ""),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--requests", type=int, default=None)
    args = parser.parse_args()
    section = run(quick=args.quick, requests=args.requests)
    print(section)
    out = Path(__file__).parent / "results" / "serve.md"
    out.write_text(section + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
