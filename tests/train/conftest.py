"""Trainer tests run single-threaded: tiny models are slower with 2 OpenMP threads on a shared
2-core machine (spin-waiting threads fight other processes), and one thread keeps results exact."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
