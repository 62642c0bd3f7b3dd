"""The thread policy as pure functions: what the machine looks like in, a :class:`Decision` out.

Nothing here reads the machine or touches torch (:mod:`rnnkit.threads.machine` reads,
:mod:`rnnkit.threads.governor` applies), so every rule is a table test.

The rules, and the measurement behind them (2 cores, ``benchmarks/bench_threads.py``: fixed
training steps of every task, alone and beside a ``setsid python3 -c 'while True: pass'``). With
torch's two threads and libgomp's default waiting, a thread that reaches a barrier spins for a
while (``GOMP_SPINCOUNT``, 300000 turns) before it sleeps. When another session takes one core,
the scheduler shares the other between our two threads, so at every barrier one of them spins
through the time slice the other needs: 50-130x slower (``rnnkit text train`` on the UCI
sentences: 69 -> 0.9 steps/s). One thread has no barriers and kept 56 steps/s.

1. **Threads**: the CPUs this process may use (affinity, capped by a cgroup CPU quota), minus the
   CPUs other processes keep busy (a CPU counts as free when others leave at least half of it),
   at least 1; shared out between ``workers`` processes of one training. Re-decided at the
   start of a training, at each epoch and about once a second between batches.
2. **Waiting**: OpenMP's own default. A short spin (``GOMP_SPINCOUNT=1000``) kept two threads at
   30 steps/s beside the busy loop, but cost 7-30% on a quiet machine (sleeping threads are woken
   for every small op; in a VM that wake-up is slow), and with rule 1 the loaded machine runs one
   thread anyway. What is left: when a load starts in the middle of a training step, that one
   step runs at the collapsed speed until the next re-check.
3. **Kernels**: rnnkit's numba kernels run their units on the same threads, so they follow
   rule 1 (one thread: no barrier per layer call).
4. **The user wins**: ``OMP_NUM_THREADS`` or ``torch.set_num_threads`` called before training
   are left as they are (and OpenMP wait variables are OpenMP's business);
   ``RNNKIT_THREAD_POLICY=off`` turns the policy off (rnnkit before it: torch's default threads,
   the forecaster pinned to one thread during training).

Example:
    >>> from rnnkit.threads.policy import Machine, decide
    >>> decide(Machine(affinity=2, quota=None, others=1.0)).threads
    1
    >>> decide(Machine(affinity=2, quota=None, others=0.1)).threads
    2
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: The switch: "off" restores rnnkit's behaviour before the policy; unset or "on" applies it.
SWITCH = "RNNKIT_THREAD_POLICY"
#: Environment variables by which a user chooses the OpenMP wait behaviour (shown by ``info``).
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
#: A CPU counts as free for one of our threads when others leave at least this share of it.
FREE_SHARE = 0.5


@dataclass(frozen=True)
class Machine:
    """What the policy looks at.

    Attributes:
        affinity: CPUs this process may run on (``len(os.sched_getaffinity(0))``).
        quota: the cgroup CPU quota in CPUs (``cpu.max`` 150000/100000 -> 1.5), None for none.
        others: CPUs' worth of time the other processes used on those CPUs lately (0.0 to
            ``affinity``), None when not measured.
    """

    affinity: int
    quota: float | None = None
    others: float | None = None

    @property
    def usable(self) -> int:
        """CPUs this process can use at all: the affinity, capped by the whole CPUs of a quota."""
        if self.quota is None:
            return max(1, self.affinity)
        return max(1, min(self.affinity, math.floor(self.quota)))


@dataclass(frozen=True)
class Decision:
    """How many intra-op threads, and why.

    Attributes:
        threads: torch intra-op threads (and the threads rnnkit's numba kernels use).
        reason: one human-readable line.
        governed: False when the user fixed the thread count (rnnkit leaves it alone).
    """

    threads: int
    reason: str = ""
    governed: bool = True

    @property
    def kernel_threads(self) -> int:
        """Threads of rnnkit's numba kernels: the same pool, so the same count."""
        return self.threads


def free_cpus(machine: Machine) -> int:
    """CPUs of :attr:`Machine.usable` that others leave at least half free (at least 1).

    Example:
        >>> free_cpus(Machine(affinity=8, others=2.2)), free_cpus(Machine(affinity=2, others=0.4))
        (6, 2)
    """
    usable = machine.usable
    if machine.others is None:
        return usable
    free = usable - min(max(machine.others, 0.0), float(usable))
    return max(1, min(usable, math.ceil(free - FREE_SHARE - 1e-9)))


def decide(
    machine: Machine,
    *,
    workers: int = 1,
    cap: int | None = None,
    user_threads: int | None = None,
) -> Decision:
    """The decision for ``machine``.

    Args:
        workers: processes of one training sharing the CPUs (data-parallel workers).
        cap: at most this many threads (a caller whose work gains nothing from more).
        user_threads: a thread count the user fixed (``OMP_NUM_THREADS`` or
            ``torch.set_num_threads``); it is kept.
    """
    if user_threads is not None:
        return Decision(user_threads, f"{user_threads} threads as you set them; "
                        "rnnkit leaves the count alone", governed=False)
    usable = machine.usable
    threads = free_cpus(machine)
    per_worker = max(1, threads // max(1, workers))
    capped = per_worker if cap is None else max(1, min(per_worker, cap))
    return Decision(capped, _reason(machine, usable, threads, workers, cap, capped))


def _reason(machine: Machine, usable: int, threads: int, workers: int, cap: int | None,
            chosen: int) -> str:
    quota = "no CPU quota" if machine.quota is None else f"CPU quota {machine.quota:g}"
    parts = [f"{usable} usable CPU{'s' * (usable != 1)} (affinity {machine.affinity}, {quota})"]
    if machine.others is None:
        parts.append("load not measured")
    else:
        parts.append(f"other processes busy on {machine.others:.1f} of them")
    text = ", ".join(parts) + f" -> {threads} free"
    if workers > 1:
        text += f", shared by {workers} workers"
    if cap is not None and chosen == cap and threads // max(1, workers) > cap:
        text += f", capped at {cap} for this work"
    return text + f": {chosen} thread{'s' * (chosen != 1)}"


def user_thread_count(environ: Mapping[str, str]) -> int | None:
    """The thread count from ``OMP_NUM_THREADS`` (its first entry), None when unset or unusable.

    Example:
        >>> user_thread_count({"OMP_NUM_THREADS": "3"}), user_thread_count({})
        (3, None)
    """
    raw = environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def enabled(environ: Mapping[str, str]) -> bool:
    """False when ``RNNKIT_THREAD_POLICY`` is off (also 0, false, no); anything else is on."""
    return environ.get(SWITCH, "").strip().lower() not in ("off", "0", "false", "no")
