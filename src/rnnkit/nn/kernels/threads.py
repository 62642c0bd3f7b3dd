"""Run the kernels' work units on torch's own OpenMP threads (or a thread pool as a fallback).

A kernel call is split into independent units (direction, block of batch rows); any thread may
run any unit and the results do not change. How the units reach the cores matters a lot on a
small machine:

- **openmp** (the default where torch's CPU ops run on OpenMP, i.e. every Linux and macOS wheel):
  one ``GOMP_parallel`` region on the OpenMP runtime torch itself loaded, so the units run on
  the very threads that just ran the layer's input GEMM. Those threads spin-wait for a while after
  every torch op (libgomp's default); a second pool of threads has to fight them for the cores.
  On 2 cores this made the fused kernels' training step 1.14x (SimpleRNN) and 1.55x
  (bidirectional GRU) faster than the pool. Each OpenMP thread enters Python briefly (a ctypes
  callback) to take the next unit; the kernels themselves run without the GIL.
- **pool**: a ``ThreadPoolExecutor`` of ``threads`` workers, used when no OpenMP runtime with
  the GNU entry point (libgomp, LLVM's libomp and Intel's libiomp5 all export it) is loaded.

``RNNKIT_KERNEL_THREADS=pool`` forces the pool (debugging, comparisons); any value other than
``openmp`` or ``pool`` is a ConfigError.

Example:
    >>> from rnnkit.nn.kernels.threads import run_units
    >>> done = []
    >>> run_units(lambda unit: done.append(unit), [0, 1, 2], threads=2)
    >>> sorted(done)
    [0, 1, 2]
"""

from __future__ import annotations

import ctypes
import itertools
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from rnnkit.errors import ConfigError

ENV_VAR = "RNNKIT_KERNEL_THREADS"
_RUNTIMES = ("libgomp", "libomp", "libiomp5")
_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_state: dict[str, Any] = {"gomp": None, "searched": False, "executor": None, "size": 0}

Unit = TypeVar("Unit")


def _loaded_openmp() -> list[str]:
    """Paths of the OpenMP runtimes mapped into this process, torch's own first."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    paths = {line.split()[-1] for line in maps.read_text().splitlines() if ".so" in line}
    found = [p for p in paths if Path(p).name.startswith(_RUNTIMES)]
    return sorted(found, key=lambda p: ("torch" not in p, p))


def _gomp_parallel() -> Any:
    """``GOMP_parallel`` of torch's OpenMP runtime, or None (searched once per process)."""
    if not _state["searched"]:
        _state["searched"] = True
        for path in _loaded_openmp():
            try:
                function = ctypes.CDLL(path).GOMP_parallel
            except (OSError, AttributeError):
                continue
            function.argtypes = [_CALLBACK, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
            function.restype = None
            _state["gomp"] = function
            break
    return _state["gomp"]


def backend() -> str:
    """"openmp" or "pool": how :func:`run_units` spreads units over threads in this process
    (``RNNKIT_KERNEL_THREADS``: unset or ``openmp`` for OpenMP where available, ``pool``)."""
    choice = os.environ.get(ENV_VAR, "").strip().lower()
    if choice not in ("", "openmp", "pool"):
        raise ConfigError(f"{ENV_VAR}: expected 'openmp' or 'pool', got {choice!r}")
    if choice == "pool":
        return "pool"
    return "openmp" if sys.platform != "win32" and _gomp_parallel() is not None else "pool"


def run_units(work: Callable[[Unit], Any], units: Sequence[Unit], threads: int) -> None:
    """Call ``work(unit)`` for every unit, on up to ``threads`` threads; re-raises the first
    exception a unit raised. ``work`` must release the GIL for the threads to overlap (the
    numba kernels do)."""
    threads = min(threads, len(units))
    if threads <= 1:
        for unit in units:
            work(unit)
        return
    if backend() == "openmp":
        _run_openmp(work, units, threads)
    else:
        _run_pool(work, units, threads)


def _run_openmp(work: Callable[[Unit], Any], units: Sequence[Unit], threads: int) -> None:
    counter = itertools.count()  # next() on it is atomic under the GIL
    errors: list[BaseException] = []

    def body(_: Any) -> None:
        try:
            while not errors:
                index = next(counter)
                if index >= len(units):
                    return
                work(units[index])
        except BaseException as error:  # noqa: BLE001 - re-raised on the calling thread
            errors.append(error)

    callback = _CALLBACK(body)  # kept alive by this frame for the whole region
    _gomp_parallel()(callback, None, threads, 0)
    if errors:
        raise errors[0]


def _run_pool(work: Callable[[Unit], Any], units: Sequence[Unit], threads: int) -> None:
    if _state["executor"] is None or _state["size"] != threads:
        if _state["executor"] is not None:
            _state["executor"].shutdown(wait=False)
        _state["executor"] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rnnkit")
        _state["size"] = threads
    futures = [_state["executor"].submit(work, unit) for unit in units]
    for future in futures:
        future.result()
