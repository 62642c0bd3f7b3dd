"""``rnnkit serve``: loopback by default, explicit opt-in for other interfaces, real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
from serve_helpers import free_port

from rnnkit.cli.serve import is_loopback

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def test_remote_host_needs_allow_remote(bundles):
    done = subprocess.run([sys.executable, "-m", "rnnkit", "serve", str(bundles["reviews"]),
                           "--host", "0.0.0.0"], capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 2 and "--allow-remote" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_command_answers_http(bundles):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnkit", "serve", f"films={bundles['reviews']}", str(bundles["wave"]),
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.poll() else "slow"
            time.sleep(0.2)
        names = [m["name"] for m in httpx.get(f"{url}/models").json()["models"]]
        assert names == ["films", "wave"]
        pred = httpx.post(f"{url}/models/films/predict", json={"texts": ["a superb cast"]}).json()
        assert pred["predictions"][0]["label"] == "pos"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
