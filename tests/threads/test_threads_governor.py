"""The governor applies the policy to torch while training runs: fewer threads when the machine
became busy, all of them when it is quiet again, the count before the session restored after, and
a count the user set left alone. The load is fed in (no busy loop needed)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.threads import governor as governor_module
from rnnkit.threads.governor import Governor


@pytest.fixture()
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _governor(monkeypatch: pytest.MonkeyPatch, loads: list[float], **environ: str) -> Governor:
    gov = Governor(environ=dict(environ))
    gov.cpus = {0, 1}
    gov.quota = None
    feed = iter(loads)
    monkeypatch.setattr(gov, "_measure", lambda: next(feed))
    monkeypatch.setattr(governor_module, "_TORCH_PRESET", False)
    return gov


def test_busy_then_quiet_then_restored(monkeypatch, two_threads) -> None:
    gov = _governor(monkeypatch, [1.0, 1.0, 0.0])
    with gov.session() as first:
        assert first is not None and first.threads == 1
        assert torch.get_num_threads() == 1
        assert gov.tick(force=True).threads == 1
        assert gov.tick(force=True).threads == 2  # the other program stopped
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 2


def test_the_count_before_is_restored_after_a_busy_session(monkeypatch, two_threads) -> None:
    gov = _governor(monkeypatch, [1.0])
    with gov.session():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_a_cap_holds_inside_nested_sessions(monkeypatch, two_threads) -> None:
    gov = _governor(monkeypatch, [0.0, 0.0, 0.0])
    with gov.session(cap=1):
        with gov.session():  # the Trainer inside the forecaster's session
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_set_num_threads_before_training_is_left_alone(monkeypatch) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not a default of a 2-CPU machine: the user's choice
    try:
        gov = _governor(monkeypatch, [1.0, 1.0])
        with gov.session() as decision:
            assert torch.get_num_threads() == 3
            assert decision is None
        assert gov.pinned_by_user
    finally:
        torch.set_num_threads(before)


def test_set_num_threads_during_training_stops_the_governing(monkeypatch, two_threads) -> None:
    gov = _governor(monkeypatch, [1.0, 0.0])
    with gov.session():
        torch.set_num_threads(2)  # e.g. a callback of the user's
        assert gov.tick(force=True) is None
        assert torch.get_num_threads() == 2


def test_omp_num_threads_and_the_switch(monkeypatch, two_threads) -> None:
    gov = _governor(monkeypatch, [1.0, 1.0], OMP_NUM_THREADS="2")
    with gov.session():
        assert torch.get_num_threads() == 2
    gov = _governor(monkeypatch, [1.0], RNNKIT_THREAD_POLICY="off")
    with gov.session() as decision:
        assert decision is None and torch.get_num_threads() == 2


def test_ticks_are_rate_limited(monkeypatch, two_threads) -> None:
    gov = _governor(monkeypatch, [1.0])  # a second measurement would raise StopIteration
    with gov.session():
        for _ in range(100):
            gov.tick()
