"""How kernel work units reach the cores: torch's OpenMP threads, or a thread pool."""

from __future__ import annotations

import sys
import threading

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.nn.kernels import threads


@pytest.fixture(params=["openmp", "pool"])
def spread(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(threads.ENV_VAR, request.param)
    return str(request.param)


def test_linux_torch_runs_units_on_its_openmp_threads() -> None:
    if sys.platform != "linux" or "OpenMP" not in torch.__config__.parallel_info():
        pytest.skip("torch here does not use OpenMP on Linux")
    assert threads.backend() == "openmp"
    assert any("gomp" in path or "omp" in path for path in threads._loaded_openmp())


def test_every_unit_runs_once_on_up_to_n_threads(spread: str) -> None:
    seen: list[int] = []
    names: set[int] = set()
    lock = threading.Lock()

    def work(unit: int) -> None:
        with lock:
            seen.append(unit)
            names.add(threading.get_ident())

    threads.run_units(work, list(range(9)), threads=2)
    assert sorted(seen) == list(range(9))
    assert 1 <= len(names) <= 2


def test_one_thread_runs_in_order_on_the_caller() -> None:
    seen: list[tuple[int, int]] = []
    threads.run_units(lambda u: seen.append((u, threading.get_ident())), [3, 1, 2], threads=1)
    assert seen == [(3, threading.get_ident()), (1, threading.get_ident()),
                    (2, threading.get_ident())]


def test_a_failing_unit_raises_on_the_caller(spread: str) -> None:
    def work(unit: int) -> None:
        if unit == 2:
            raise ValueError("unit 2 failed")

    with pytest.raises(ValueError, match="unit 2 failed"):
        threads.run_units(work, [0, 1, 2, 3], threads=2)


def test_pool_is_forced_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.ENV_VAR, "pool")
    assert threads.backend() == "pool"


def test_an_unknown_choice_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.ENV_VAR, "gpu")
    with pytest.raises(ConfigError, match="^RNNKIT_KERNEL_THREADS: expected 'openmp' or 'pool'"):
        threads.backend()
