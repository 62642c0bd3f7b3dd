"""Applying the thread policy: torch's thread count re-decided while training and serving run.

- :data:`GOVERNOR` measures the load and calls ``torch.set_num_threads``: at the start of
  training, at each epoch and about every second inside one (the Trainer calls
  :meth:`Governor.tick`), and before served predictions. ``session`` restores the count that was
  there before the training.

Example:
    >>> from rnnkit.threads.governor import GOVERNOR
    >>> GOVERNOR.decide().threads >= 1
    True
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

from rnnkit.threads import machine
from rnnkit.threads.policy import (
    WAIT_VARIABLES,
    Decision,
    Machine,
    decide,
    enabled,
    user_thread_count,
)

#: Seconds between two load measurements while training (and serving).
INTERVAL = 1.0

# What the process looked like when rnnkit.threads was first imported: torch not yet imported
# means torch's thread count, when we first see it, is its own default and not a user's choice.
_TORCH_PRESET = "torch" in sys.modules


class Governor:
    """Measures, decides and applies torch's intra-op thread count (one per process).

    OpenMP keeps the thread count per calling thread (the server predicts on executor threads),
    so the decision is shared and applied in each thread that computes.
    """

    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.cpus = machine.affinity()
        self.quota = machine.cgroup_quota()
        self._reading = machine.read_clocks(self.cpus)
        self._others: float | None = None
        self._checked = -INTERVAL
        self._local = threading.local()  # per thread: applied count, caps of open sessions
        self.pinned_by_user = False
        self.last: Decision | None = None

    def _measure(self) -> float | None:
        """Others' CPUs since the last reading; the previous figure while that window is too
        short; the 1-minute load average minus our running thread before any."""
        now = machine.read_clocks(self.cpus)
        if now is not None and self._reading is not None:
            others = machine.others_busy(self._reading, now)
            if others is not None:
                self._reading, self._others = now, others
        if self._others is None and hasattr(os, "getloadavg"):
            return max(0.0, os.getloadavg()[0] - 1.0)
        return self._others

    def decide(self, *, workers: int = 1, cap: int | None = None) -> Decision:
        """The policy's decision for the machine now (measures; applies nothing)."""
        state = Machine(len(self.cpus), self.quota, self._measure())
        user = user_thread_count(self.environ)
        if user is None and self.pinned_by_user:
            user = _torch_threads()
        return decide(state, workers=workers, cap=cap, user_threads=user)

    def tick(self, force: bool = False) -> Decision | None:
        """Re-decide when :data:`INTERVAL` has passed (or ``force``) and apply the decision to
        the calling thread; None when the policy is off or the user fixed the count."""
        if not enabled(self.environ) or self.pinned_by_user:
            return None
        current = _torch_threads()
        applied = getattr(self._local, "applied", None)
        if applied is not None and current != applied:
            self.pinned_by_user = True  # torch.set_num_threads was called behind our back
            return None
        now = time.monotonic()
        if force or self.last is None or now - self._checked >= INTERVAL:
            self._checked = now
            self.last = self.decide()
        if not self.last.governed:
            return self.last
        caps = getattr(self._local, "caps", [])
        wanted = min([self.last.threads, *[c for c in caps if c is not None]])
        if wanted != current:
            _set_torch_threads(wanted)
        self._local.applied = wanted
        return self.last

    def adopt(self, threads: int) -> None:
        """Set ``threads`` in the calling thread as the policy's own choice (a data-parallel
        worker given its share of the CPUs), so later ticks may change it."""
        _set_torch_threads(threads)
        self._local.applied = threads

    @contextlib.contextmanager
    def session(self, cap: int | None = None, force: bool = True) -> Iterator[Decision | None]:
        """Govern the calling thread for a ``with`` block (a training, a prediction) and restore
        the count found at its start. ``cap``: at most that many threads inside (nested sessions
        keep the outer caps). A count the user set before (``OMP_NUM_THREADS``, or
        ``torch.set_num_threads`` in a program that imported torch first) is left alone."""
        if not enabled(self.environ):
            yield None
            return
        before = _torch_threads()
        outermost = not getattr(self._local, "caps", [])
        if outermost and getattr(self._local, "applied", None) is None:
            if not self._looks_default(before):
                self.pinned_by_user = True
        self._local.caps = [*getattr(self._local, "caps", []), cap]
        try:
            yield self.tick(force=force)
        finally:
            self._local.caps = self._local.caps[:-1]
            if outermost and getattr(self._local, "applied", None) is not None:
                if _torch_threads() == self._local.applied:
                    _set_torch_threads(before)
                self._local.applied = None
            elif not outermost and getattr(self._local, "applied", None) is not None:
                self.tick()  # the outer session's caps again

    def _looks_default(self, threads: int) -> bool:
        """Whether ``threads`` is torch's own default rather than a user's set_num_threads."""
        if user_thread_count(self.environ) is not None:
            return False
        logical = os.cpu_count() or 1
        if not _TORCH_PRESET:
            return threads in (len(self.cpus), logical)
        return threads in (len(self.cpus), logical, max(1, logical // 2))


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _set_torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


GOVERNOR = Governor()


def status() -> dict[str, Any]:
    """What ``rnnkit info`` shows: the decision now, and the OpenMP wait settings you set."""
    env = os.environ
    on = enabled(env)
    decision = GOVERNOR.decide() if on else None
    waits = {k: env[k] for k in WAIT_VARIABLES if k in env}
    wait_source = "set by you" if waits else "OpenMP's default"
    return {
        "enabled": on,
        "threads": None if decision is None else decision.threads,
        "kernel_threads": None if decision is None else decision.kernel_threads,
        "governed": False if decision is None else decision.governed,
        "reason": machine_summary() if decision is None else decision.reason,
        "wait": waits,
        "wait_source": wait_source,
        "affinity": len(GOVERNOR.cpus),
        "quota": GOVERNOR.quota,
    }


def machine_summary() -> str:
    """``"2 CPUs"`` with the quota when there is one."""
    quota = "" if GOVERNOR.quota is None else f", CPU quota {GOVERNOR.quota:g}"
    return f"{len(GOVERNOR.cpus)} CPUs{quota}"
