"""tests/conftest.py: a pytest-xdist worker (``make test`` runs ``pytest -n 2``) computes on one
torch thread, so that two workers on two cores do not run two OpenMP teams per core; a serial run
keeps torch's count."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch


def _root_conftest():
    path = Path(__file__).with_name("conftest.py")
    spec = importlib.util.spec_from_file_location("rnnkit_tests_root_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_xdist_worker_computes_on_one_torch_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    configure = _root_conftest().pytest_configure
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
        configure(None)
        assert torch.get_num_threads() == 2  # a plain `pytest tests/x.py`: left alone
        monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
        configure(None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
