"""What runs the recurrent layers on this machine, and a way to compile the kernels ahead of use.

:func:`kernel_status` gathers what ``rnnkit info`` prints: versions, threads, the backend
choice (``RNNKIT_KERNELS``), where the kernels' work units run (``RNNKIT_KERNEL_THREADS``), the
size rules, and, with ``compile=True``, the seconds each kernel took to compile or to load from
numba's disk cache. Compiling ahead suits container images and CI caches: later processes then
load the kernels in well under a second.

Example:
    >>> from rnnkit.nn.kernels.status import kernel_status
    >>> status = kernel_status()
    >>> sorted(status["size_rule"])
    ['gru', 'lru', 'lstm', 'mingru', 'minlstm', 'mlstm', 'rnn', 'ssm']
"""

from __future__ import annotations

import time
from importlib import metadata
from typing import Any

import torch

from rnnkit.nn.kernels import dispatch, threads

KINDS = ("rnn", "gru", "lstm", "mingru", "minlstm", "lru", "ssm", "mlstm")
#: What ``compile=True`` builds: every layer's kernels and the residual blocks' (no size rule).
COMPILED_KINDS = (*KINDS, "block")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def kernel_status(compile: bool = False) -> dict[str, Any]:
    """A JSON-ready summary; ``compile=True`` also compiles (or loads) every kernel for both
    dtypes and reports ``{"rnn/float32": seconds, ...}`` under ``"compiled"`` (None where a
    kernel could not be built; ``"failure"`` then says why)."""
    status: dict[str, Any] = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "numba": _version("numba"),
        "kernels": dispatch.requested(None),
        "work_units_on": threads.backend(),
        "size_rule": {kind: dispatch.NUMBA_MAX_HIDDEN[kind] for kind in KINDS},
        "inference_rule": {
            kind: {
                "max_hidden": dispatch.NUMBA_INFERENCE_MAX_HIDDEN[kind],
                "max_batch_x_hidden": dispatch.NUMBA_INFERENCE_MAX_CELLS[kind],
            }
            for kind in KINDS
        },
    }
    if compile:
        compiled: dict[str, float | None] = {}
        for kind in COMPILED_KINDS:
            for name, dtype in DTYPES.items():
                started = time.perf_counter()
                module = dispatch.kernels_for(kind, dtype)
                compiled[f"{kind}/{name}"] = (
                    None if module is None else round(time.perf_counter() - started, 3)
                )
        status["compiled"] = compiled
    status["failure"] = dispatch.failure()
    return status
