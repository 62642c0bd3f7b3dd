"""The thread policy's decisions as pure functions of (affinity, quota, load), and the readers of
the machine (cgroup files, /proc/stat) on fake files."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnkit.threads import machine
from rnnkit.threads.policy import (
    Machine,
    decide,
    enabled,
    free_cpus,
    user_thread_count,
)


@pytest.mark.parametrize(
    ("affinity", "quota", "others", "workers", "cap", "threads"),
    [
        (2, None, None, 1, None, 2),   # nothing measured: every usable CPU
        (2, None, 0.0, 1, None, 2),    # quiet
        (2, None, 0.4, 1, None, 2),    # a light background task leaves more than half a CPU
        (2, None, 0.6, 1, None, 1),    # ... a heavier one does not
        (2, None, 1.0, 1, None, 1),    # one busy loop beside us: the collapse case
        (2, None, 2.0, 1, None, 1),    # everything busy: still one thread
        (8, None, 2.2, 1, None, 6),
        (8, 2.0, 0.0, 1, None, 2),     # a cgroup quota caps the usable CPUs
        (8, 1.5, 0.0, 1, None, 1),     # ... by whole CPUs
        (8, 0.5, 0.0, 1, None, 1),     # ... and never below one
        (1, None, 0.0, 1, None, 1),
        (8, None, 0.0, 2, None, 4),    # two data-parallel workers share the CPUs
        (8, None, 4.0, 2, None, 2),
        (2, None, 0.0, 4, None, 1),
        (8, None, 0.0, 1, 1, 1),       # a caller's cap (the forecaster's tiny networks)
        (2, None, 1.0, 1, 4, 1),
    ],
)
def test_threads_follow_affinity_quota_load_workers_and_cap(
    affinity: int, quota: float | None, others: float | None, workers: int, cap: int | None,
    threads: int,
) -> None:
    decision = decide(Machine(affinity, quota, others), workers=workers, cap=cap)
    assert decision.threads == threads
    assert decision.kernel_threads == threads
    assert decision.governed
    assert decision.reason.endswith(f"{threads} thread{'s' * (threads != 1)}")


def test_the_reason_names_the_inputs() -> None:
    reason = decide(Machine(4, 2.0, 1.0), workers=2).reason
    assert "2 usable CPUs" in reason and "CPU quota 2" in reason
    assert "busy on 1.0" in reason and "2 workers" in reason


def test_a_users_thread_count_is_kept_whatever_the_load() -> None:
    decision = decide(Machine(2, None, 2.0), user_threads=2)
    assert (decision.threads, decision.governed) == (2, False)
    assert "as you set them" in decision.reason


@pytest.mark.parametrize(
    ("environ", "count"),
    [({}, None), ({"OMP_NUM_THREADS": "3"}, 3), ({"OMP_NUM_THREADS": "2,1"}, 2),
     ({"OMP_NUM_THREADS": "zero"}, None), ({"OMP_NUM_THREADS": "0"}, None)],
)
def test_omp_num_threads_is_read_as_the_users_count(environ, count) -> None:
    assert user_thread_count(environ) == count


@pytest.mark.parametrize(("value", "on"), [("", True), ("on", True), ("off", False),
                                           ("OFF", False), ("0", False)])
def test_the_switch(value: str, on: bool) -> None:
    assert enabled({"RNNKIT_THREAD_POLICY": value}) is on
    assert enabled({}) is True


def test_free_cpus_never_exceeds_usable_with_negative_or_huge_load() -> None:
    assert free_cpus(Machine(2, None, -1.0)) == 2
    assert free_cpus(Machine(2, None, 50.0)) == 1


# ------------------------------------------------------------------------------ cgroups


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("max 100000", None), ("200000 100000", 2.0), ("50000 100000", 0.5), ("150000", 1.5),
     ("", None), ("garbage here", None)],
)
def test_cpu_max_parsing(text: str, cpus: float | None) -> None:
    assert machine.parse_cpu_max(text) == cpus


def test_cgroup_v2_quota_is_the_tightest_on_the_path(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _write(root / "cpu.max", "max 100000")
    _write(root / "user.slice" / "cpu.max", "300000 100000")
    _write(root / "user.slice" / "job" / "cpu.max", "max 100000")
    membership = tmp_path / "self_cgroup"
    membership.write_text("0::/user.slice/job\n")
    assert machine.cgroup_quota(root, membership) == 3.0


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _write(root / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_quota_us", "150000\n")
    _write(root / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_period_us", "100000\n")
    membership = tmp_path / "self_cgroup"
    membership.write_text("5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n")
    assert machine.cgroup_quota(root, membership) == 1.5


def test_no_quota_when_unlimited_or_unreadable(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _write(root / "cpu" / "cpu.cfs_quota_us", "-1\n")
    _write(root / "cpu" / "cpu.cfs_period_us", "100000\n")
    membership = tmp_path / "self_cgroup"
    membership.write_text("4:cpu:/\n")
    assert machine.cgroup_quota(root, membership) is None
    assert machine.cgroup_quota(root, tmp_path / "missing") is None


# ------------------------------------------------------------------------------ load


STAT = """cpu  300 0 100 1000 0 0 0 0 0 0
cpu0 100 0 50 500 10 0 0 0 0 0
cpu1 200 0 50 500 0 0 0 5 0 0
intr 12345
"""


def test_proc_stat_sums_the_busy_ticks_of_our_cpus_only() -> None:
    assert machine.parse_proc_stat(STAT, {1}) == (255.0, 755.0)
    assert machine.parse_proc_stat(STAT, {0, 1}) == (405.0, 1415.0)


def test_others_busy_subtracts_our_own_cpu_time() -> None:
    before = machine.Reading(wall=0.0, busy=0.0, own=0.0)
    assert machine.others_busy(before, machine.Reading(1.0, 2.0, 1.0)) == 1.0
    assert machine.others_busy(before, machine.Reading(1.0, 1.0, 1.0)) == 0.0
    assert machine.others_busy(before, machine.Reading(0.05, 1.0, 0.0)) is None  # too short


def test_read_clocks_on_a_fake_proc(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text(STAT)
    reading = machine.read_clocks({0}, proc=tmp_path)
    assert reading is not None and reading.busy > 0
    assert machine.read_clocks({0}, proc=tmp_path / "none") is None
