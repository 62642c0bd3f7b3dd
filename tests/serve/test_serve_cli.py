"""``rnnkit serve``: loopback by default, explicit opt-in for other interfaces, real HTTP,
options checked before anything starts."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rnnkit.cli.serve import checked_limits, host_names_to_answer, is_loopback
from rnnkit.errors import ConfigError
from warm_cli import run_rnnkit

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert (
        not is_loopback("0.0.0.0")
        and not is_loopback("192.168.1.5")
        and not is_loopback("example.org")
    )


def test_remote_host_needs_allow_remote(bundles):
    done = subprocess.run([sys.executable, "-m", "rnnkit", "serve", str(bundles["reviews"]),
                           "--host", "0.0.0.0"], capture_output=True, text=True, env=ENV,
                          timeout=60)
    assert done.returncode == 2 and "--allow-remote" in done.stderr
    assert "Traceback" not in done.stderr


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_serve(*args: str) -> subprocess.CompletedProcess[str]:
    return run_rnnkit(["serve", *args], env=ENV, timeout=60)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and "serving" not in done.stderr and done.stdout == ""
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize(("option", "value"), [
    ("--max-items", "0"), ("--timeout", "-5"), ("--max-body-bytes", "-1"), ("--port", "70000"),
])
def test_bad_options_are_one_line_exit_2(bundles, option, value):
    before = tree_digest(bundles["reviews"])
    done = run_serve(str(bundles["reviews"]), option, value)
    assert_one_line_error(done, option, value)
    assert tree_digest(bundles["reviews"]) == before


@pytest.mark.parametrize(("field", "value", "option"), [
    ("timeout_seconds", float("nan"), "--timeout"), ("timeout_seconds", float("inf"), "--timeout"),
    ("read_timeout_seconds", 0.0, "--read-timeout"), ("max_connections", 0, "--max-connections"),
    ("max_text_chars", -3, "--max-text-chars"), ("max_generate_length", 0, "--max-generate-length"),
    ("max_forecast_steps", 0, "--max-forecast-steps"),
])
def test_every_limit_option_is_checked(field, value, option):
    with pytest.raises(ConfigError, match=f"^{option} must be"):
        checked_limits({field: value})


def test_port_in_use_is_one_line_before_any_announcement(bundles):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_serve(str(bundles["reviews"]), "--port", str(port))
    assert_one_line_error(done, f"port {port}", "already in use", "--port")


def test_host_check_is_off_only_with_allow_remote_alone():
    assert host_names_to_answer("127.0.0.1", False, []) == ["127.0.0.1"]
    assert host_names_to_answer("0.0.0.0", True, []) is None
    assert host_names_to_answer("0.0.0.0", True, ["models.lan"]) == ["0.0.0.0", "models.lan"]


def test_serve_command_answers_http(bundles):
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnkit", "serve", f"films={bundles['reviews']}",
         str(bundles["wave"]),
         "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        announced = proc.stderr.readline()  # printed once the socket listens
        assert announced.startswith("serving films, wave on http://127.0.0.1:"), announced
        url = announced.split(" on ")[1].split("/ ")[0]
        assert not url.endswith(":0")
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.time() < deadline, (
                proc.stderr.read() if proc.poll() else "slow"
            )
            time.sleep(0.2)
        names = [m["name"] for m in httpx.get(f"{url}/models").json()["models"]]
        assert names == ["films", "wave"]
        pred = httpx.post(f"{url}/models/films/predict", json={"texts": ["a superb cast"]}).json()
        assert pred["predictions"][0]["label"] == "pos"
        rebound = httpx.get(f"{url}/models", headers={"host": "evil.example"})
        assert rebound.status_code == 400 and "DNS rebinding" in rebound.json()["error"]
        named = httpx.get(f"{url}/health",
                          headers={"host": url.split("//")[1].replace("127.0.0.1", "localhost")})
        assert named.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
