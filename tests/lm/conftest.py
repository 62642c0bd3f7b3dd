"""Language-model tests run torch on one thread: their models are tiny, and on a shared 2-core
machine a second OpenMP thread mostly waits for a busy core (measured: 50x slower under load)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
