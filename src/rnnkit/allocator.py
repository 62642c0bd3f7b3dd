"""Keep freed tensor memory in the process, so long sequences do not page-fault at every step.

glibc's ``malloc`` hands every block above its mmap threshold straight back to the kernel on
``free``, and trims the top of its heap when more than twice that is free. The threshold adapts
upwards to the largest block freed so far, but never beyond 32 MiB, and one tensor of a
long-sequence batch is larger than that (B=32, T=2048, 4H=512 float32 gates: 134 MB). torch has
no CPU caching allocator, so each training step then maps its big buffers afresh and the kernel
zero-fills every page on first touch. On this project's 2-core machine (fresh processes, medians
of 3, ``benchmarks/bench_allocator.py``) keeping the memory made a training step 1.8-1.95x faster
at T=2048 (``MinGRU`` 235 -> 131 ms, ``LSTM`` 661 -> 339 ms), 1.45x at T=512 and IMDB's
``TextClassifier()`` 1.45x; short-sequence tasks did not change beyond the machine's drift.

:func:`keep_freed_memory` tells glibc to serve large blocks from its heap and to keep freed heap
memory (``mallopt(M_MMAP_MAX, 0)``, ``mallopt(M_TRIM_THRESHOLD, 2 GiB - 1)``), which is what
``LD_PRELOAD``-ing jemalloc or tcmalloc does for PyTorch on CPUs, without a preload. The cost:
the process keeps the memory of its largest step until it exits (it is reused, not leaked), and
its peak grows (one heap packs less tightly than separate mappings: +34-43% at T=2048).
Threads other than the main one still map very large blocks (glibc falls back to mmap when their
arena cannot grow), so nothing can fail for lack of a mapping.

The trainer calls it at the start of every fit, prediction and evaluation. It does nothing when:

- ``RNNKIT_MALLOC_POLICY`` is ``off`` (also ``0``, ``false``, ``no``);
- the user already tuned malloc (``MALLOC_MMAP_MAX_``, ``MALLOC_MMAP_THRESHOLD_``,
  ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_TOP_PAD_`` or ``GLIBC_TUNABLES`` set) or preloads another
  allocator (``LD_PRELOAD``);
- the C library is not glibc (macOS, Windows, musl).

This module imports neither torch nor another rnnkit package.

Example:
    >>> from rnnkit.allocator import decide
    >>> decide({"RNNKIT_MALLOC_POLICY": "off"}, "glibc")
    'off: RNNKIT_MALLOC_POLICY=off'
    >>> decide({"LD_PRELOAD": "libjemalloc.so.2"}, "glibc")
    'off: LD_PRELOAD set (another allocator)'
    >>> decide({}, "glibc")
    'on'
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading
from collections.abc import Mapping

SWITCH = "RNNKIT_MALLOC_POLICY"
#: Environment variables through which a user tunes glibc malloc; any of them leaves it alone.
USER_TUNING = ("MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
               "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's <malloc.h>
KEEP_UP_TO = 2**31 - 1  # mallopt takes an int: keep up to 2 GiB of freed heap

_lock = threading.Lock()
_applied: str | None = None


def decide(environ: Mapping[str, str], libc: str) -> str:
    """``"on"`` or ``"off: <reason>"`` for this environment and C library name (pure)."""
    if environ.get(SWITCH, "").strip().lower() in ("off", "0", "false", "no"):
        return f"off: {SWITCH}={environ[SWITCH]}"
    if environ.get("LD_PRELOAD", "").strip():
        return "off: LD_PRELOAD set (another allocator)"
    tuned = [name for name in USER_TUNING if name in environ]
    if tuned:
        return f"off: {tuned[0]} set (malloc tuned by the user)"
    if libc != "glibc":
        return f"off: the C library is {libc or 'not glibc'}"
    return "on"


def keep_freed_memory(environ: Mapping[str, str] | None = None) -> str:
    """Apply the policy once per process; returns what was decided (as :func:`decide`).

    Later calls return the first decision without touching malloc again.
    """
    global _applied
    with _lock:
        if _applied is None:
            decision = decide(os.environ if environ is None else environ, platform.libc_ver()[0])
            if decision == "on" and not (
                _mallopt(M_MMAP_MAX, 0) and _mallopt(M_TRIM_THRESHOLD, KEEP_UP_TO)
            ):
                decision = "off: mallopt refused"
            _applied = decision
        return _applied


def status() -> str:
    """What the policy decided in this process, or would decide at the first training
    (``rnnkit info``)."""
    return _applied or decide(os.environ, platform.libc_ver()[0])


def _mallopt(option: int, value: int) -> bool:
    try:
        return bool(ctypes.CDLL(None).mallopt(option, value))
    except (OSError, AttributeError):
        return False


__all__ = ["SWITCH", "decide", "keep_freed_memory", "status"]
