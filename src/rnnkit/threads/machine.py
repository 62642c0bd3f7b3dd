"""Reading the machine for the thread policy: affinity, cgroup CPU quota, and how busy others are.

The load is measured, not guessed from the load average (which follows a new process with a
one-minute lag): two readings of ``/proc/stat`` (the busy time of the CPUs this process may use)
and of this process's own CPU time (``os.times``, all its threads, spinning included); what the
CPUs did minus what we did, over the wall time between, is the CPUs' worth the others used.
Functions take their file roots as arguments so tests feed them fake files.

Example:
    >>> from rnnkit.threads.machine import parse_cpu_max
    >>> parse_cpu_max("150000 100000"), parse_cpu_max("max 100000")
    (1.5, None)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC = Path("/proc")
# /proc/stat columns after the name: user nice system idle iowait irq softirq steal ...
_IDLE_COLUMNS = (3, 4)  # idle, iowait
_BUSY_COLUMNS = 8  # user..steal: steal is time a hypervisor gave to someone else


def affinity() -> set[int]:
    """The CPUs this process may run on (all of ``os.cpu_count()`` where affinity is unknown)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def parse_cpu_max(text: str) -> float | None:
    """cgroup v2 ``cpu.max`` (``"quota period"`` or ``"max period"``) -> CPUs, None for no limit."""
    words = text.split()
    if not words or words[0] == "max":
        return None
    try:
        quota = int(words[0])
        period = int(words[1]) if len(words) > 1 else 100000
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _v1_quota(directory: Path) -> float | None:
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        period = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def cgroup_quota(root: Path = CGROUP_ROOT, self_cgroup: Path = PROC / "self" / "cgroup"
                 ) -> float | None:
    """The tightest CPU quota (in CPUs) on this process's cgroup and its ancestors, v2 or v1;
    None when there is none or it cannot be read."""
    membership = _read(self_cgroup) or ""
    limits: list[float] = []
    for line in membership.splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        relative = path.strip().lstrip("/")
        if controllers == "":  # v2: "0::/path"
            bases = [root]
        elif "cpu" in controllers.split(","):  # v1: "4:cpu,cpuacct:/path"
            bases = [root / controllers, root / "cpu", root / "cpu,cpuacct"]
        else:
            continue
        for base in bases:
            for directory in _ancestors(base, relative):
                if controllers == "":
                    text = _read(directory / "cpu.max")
                    quota = parse_cpu_max(text) if text is not None else None
                else:
                    quota = _v1_quota(directory)
                if quota is not None:
                    limits.append(quota)
    return min(limits) if limits else None


def _ancestors(base: Path, relative: str) -> Iterable[Path]:
    parts = [p for p in relative.split("/") if p]
    for depth in range(len(parts), -1, -1):
        yield base.joinpath(*parts[:depth])


def parse_proc_stat(text: str, cpus: Iterable[int]) -> tuple[float, float]:
    """(busy, total) clock ticks of ``cpus`` summed from ``/proc/stat``'s ``cpuN`` lines."""
    wanted = {f"cpu{n}" for n in cpus}
    busy = total = 0.0
    for line in text.splitlines():
        name, *values = line.split()
        if name not in wanted:
            continue
        ticks = [float(v) for v in values[:_BUSY_COLUMNS]]
        idle = sum(ticks[i] for i in _IDLE_COLUMNS if i < len(ticks))
        total += sum(ticks)
        busy += sum(ticks) - idle
    return busy, total


@dataclass(frozen=True)
class Reading:
    """One look at the clocks: wall seconds, CPU-busy seconds of our CPUs, our own CPU seconds."""

    wall: float
    busy: float
    own: float


def read_clocks(cpus: Iterable[int], proc: Path = PROC) -> Reading | None:
    """A :class:`Reading` now, None where ``/proc/stat`` cannot be read (not Linux)."""
    text = _read(proc / "stat")
    if text is None:
        return None
    busy, _ = parse_proc_stat(text, cpus)
    hertz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    times = os.times()
    return Reading(time.monotonic(), busy / hertz, times.user + times.system)


def others_busy(before: Reading, after: Reading, min_seconds: float = 0.2) -> float | None:
    """CPUs' worth of time used by other processes between two readings (None when the window
    is shorter than ``min_seconds``: the clocks tick in hundredths).

    Example:
        >>> others_busy(Reading(0.0, 10.0, 1.0), Reading(2.0, 13.0, 2.0))
        1.0
    """
    wall = after.wall - before.wall
    if wall < min_seconds:
        return None
    return max(0.0, ((after.busy - before.busy) - (after.own - before.own)) / wall)
