"""How many threads rnnkit computes on, so that it stays fast when another program takes a CPU.

One policy for every entry point (see :mod:`rnnkit.threads.policy` for the rules and the
measurement behind them, docs/threads.md for the user's view):

- :data:`GOVERNOR`: torch's thread count from the CPUs this process may use and how busy the
  others keep them, re-decided during training (``GOVERNOR.session()`` around a fit,
  ``GOVERNOR.tick()`` per batch, at most once a second).
- ``RNNKIT_THREAD_POLICY=off`` restores rnnkit's behaviour before the policy.

This package imports neither torch nor another rnnkit package at import time.

Example:
    >>> from rnnkit.threads import Machine, decide
    >>> decide(Machine(affinity=4, quota=2.0, others=0.0)).threads
    2
"""

from rnnkit.threads.governor import GOVERNOR, Governor, status
from rnnkit.threads.policy import SWITCH, Decision, Machine, decide, enabled

__all__ = [
    "GOVERNOR", "Governor", "status",
    "SWITCH", "Decision", "Machine", "decide", "enabled",
]
