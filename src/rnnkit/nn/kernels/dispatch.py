"""Which backend runs a recurrent layer: rnnkit's numba kernels, torch's fused kernels, or the loop
(for MinGRU/MinLSTM: the numba kernels or the torch scan path).

Nothing here imports numba: the kernels are imported (and, the first time on a machine, compiled
and cached to disk) on the first call that needs them.

Choice, in order:

1. ``RNNKIT_KERNELS`` in the environment (``numba``, ``torch`` or ``auto``), read at every call,
   unless the layer was built with an explicit ``kernels="numba"|"torch"``.
2. ``"torch"`` never runs the numba kernels; ``"numba"`` runs them whenever the configuration
   allows (CPU, float32/float64, standard activations, no layer norm, no recurrent dropout in
   training); ``"auto"`` additionally applies :func:`numba_preferred`, the size rule measured by
   ``benchmarks/bench_kernels.py`` (see docs/kernels.md), or for calls without autograd
   :func:`numba_preferred_for_inference` (small LSTM batches too).
3. If numba is missing or a kernel fails to compile, one ``RuntimeWarning`` is issued and every
   layer falls back to the torch path for the rest of the process.

Example:
    >>> from rnnkit.nn.kernels.dispatch import numba_preferred
    >>> numba_preferred("gru", hidden_size=30), numba_preferred("lstm", hidden_size=256)
    (True, False)
"""

from __future__ import annotations

import os
import threading
import warnings
from types import ModuleType
from typing import Any

import torch

from rnnkit.errors import ConfigError

ENV_VAR = "RNNKIT_KERNELS"
CHOICES = ("auto", "numba", "torch")

# Size rule, measured by benchmarks/bench_kernels.py (single-thread sweep, B=64, T=50, F=64, on a
# 2-core AMD EPYC with torch 2.13): the numba kernels run when hidden_size <= this bound.
# torch.nn.RNN and GRU run an unfused per-step path on CPU, which the kernels beat by 1.1-1.6x at
# every size swept (32-512) on one thread, and by more with two threads, small H or two
# directions. torch.nn.LSTM runs oneDNN's fused primitive, which is about twice as fast as the
# LSTM kernel per core at every size swept, so LSTM stays on torch unless forced.
# MinGRU/MinLSTM (benchmarks/bench_scan.py, one thread, B=32, float32, fwd+bwd): the fused
# kernels make one pass over time where the torch scan path makes ~30 elementwise passes over
# (B, T, H) tensors; they beat it 2.4-2.6x at H=16, 2.0-2.4x at H=128 (1.2-2.3x at T=128-2048)
# and 1.4-1.7x at H=512, so they run at any size.
# SelectiveSSM ("ssm"): the fused selective scan replaces a composition of torch ops over
# (B, T, E, N) tensors; it wins at every size tried (docs/kernels.md), so it runs at any size.
# LRU ("lru"): the torch scan path runs complex tensors through the chunked scan (B=32, T=512,
# F=H=N=128: 0.9x the LSTM); the kernel runs the diagonal recurrence in one pass over time on
# (re, im) pairs and leaves only GEMMs to torch: 1.7x the torch scan path in one quick check
# (1.22x vs 0.71x the LSTM, T=512, on a loaded machine). It does the same GEMMs as the torch
# path plus one pass over time instead of the complex scan's many, so it runs at any size.
# (The rest is GEMMs: 80K weights a token at F=H=N=128, 61% of the LSTM's, which bounds the
# ratio to the LSTM.)
# MLSTM ("mlstm"): the fused recurrence replaces the chunkwise parallel form's (chunk, chunk)
# score matrices and its Python loop over chunks: a training step at B=32, T=512, F=H=128,
# 4 heads took 0.30 s against 0.60 s (one quick check on the busy 2-core machine; the kernel
# is also the fast path for one-token generation), so it runs at any size.
ANY_SIZE = 2**31 - 1
NUMBA_MAX_HIDDEN = {
    "rnn": 512, "gru": 512, "lstm": 0, "mingru": ANY_SIZE, "minlstm": ANY_SIZE, "ssm": ANY_SIZE,
    "lru": ANY_SIZE, "mlstm": ANY_SIZE,
}
# Inference (no autograd) on a few sequences: per-call overhead dominates and the kernels beat
# oneDNN's LSTM where batch * hidden <= this and hidden <= 128 (measured, LSTM T=100: H=32 B<=16
# 1.9-3.0x, H=128 B=1 1.5x; B=4 only 1.08x and H=256 B=1 0.69x, so the bound is conservative).
NUMBA_INFERENCE_MAX_CELLS = {
    "rnn": 512 * 1024, "gru": 512 * 1024, "lstm": 256, "mingru": 0, "minlstm": 0, "ssm": 0,
    "lru": 0, "mlstm": 0,
}
NUMBA_INFERENCE_MAX_HIDDEN = {
    "rnn": 512, "gru": 512, "lstm": 128, "mingru": 0, "minlstm": 0, "ssm": 0, "lru": 0,
    "mlstm": 0,
}

_lock = threading.Lock()
_state: dict[str, Any] = {"module": None, "failure": None, "compiled": set()}


def check_kernels_option(value: object) -> str | None:
    """Validate a layer's ``kernels=`` argument (None, "auto", "numba" or "torch")."""
    if value is None:
        return None
    if value not in CHOICES:
        raise ConfigError(f"kernels: expected None, 'auto', 'numba' or 'torch', got {value!r}")
    return str(value)


def requested(layer_choice: str | None) -> str:
    """The effective choice: the layer's explicit one, else ``RNNKIT_KERNELS``, else "auto"."""
    if layer_choice is not None:
        return layer_choice
    value = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise ConfigError(f"{ENV_VAR}: expected 'auto', 'numba' or 'torch', got {value!r}")
    return value


def kernels_can_run(x: torch.Tensor) -> bool:
    """Whether a numba kernel may take ``x`` at all: a CPU float32/float64 tensor, outside
    exports (ONNX, TorchScript) and torch.compile, which trace torch's ops."""
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return False
    return not (torch.jit.is_tracing() or torch.jit.is_scripting()
                or torch.compiler.is_compiling())


def numba_preferred(kind: str, hidden_size: int) -> bool:
    """The measured size rule: True where the numba kernels train faster than torch's path."""
    return hidden_size <= NUMBA_MAX_HIDDEN[kind]


def numba_preferred_for_inference(kind: str, hidden_size: int, batch_size: int) -> bool:
    """The rule for calls without autograd: also True for small LSTM batches (serving one or a
    few sequences), where the kernels' lower per-call cost beats oneDNN."""
    if numba_preferred(kind, hidden_size):
        return True
    return (
        hidden_size <= NUMBA_INFERENCE_MAX_HIDDEN[kind]
        and batch_size * hidden_size <= NUMBA_INFERENCE_MAX_CELLS[kind]
    )


def failure() -> str | None:
    """Why the numba kernels are unavailable in this process, or None."""
    return _state["failure"]


def _load() -> ModuleType:
    """Import the numba-backed autograd module (numba itself is imported here, lazily).

    numba caches compiled kernels in ``__pycache__`` next to the sources (editable installs),
    else in its user-wide cache directory (``~/.cache/numba``; read-only site-packages), or in
    ``NUMBA_CACHE_DIR`` when set. If no location is writable numba refuses ``cache=True`` at
    import; then a private temporary directory is used (compiles once per process).
    """
    try:
        from rnnkit.nn.kernels import autograd
    except RuntimeError as error:
        if "cannot cache" not in str(error):
            raise
        import sys
        import tempfile

        import numba

        numba.config.CACHE_DIR = tempfile.mkdtemp(prefix="rnnkit-numba-")  # type: ignore[attr-defined]
        for name in [m for m in sys.modules if m.startswith("rnnkit.nn.kernels.")]:
            if name != __name__:
                del sys.modules[name]
        from rnnkit.nn.kernels import autograd
    return autograd


def _disable(reason: str) -> None:
    _state["failure"] = reason
    warnings.warn(
        f"rnnkit: numba kernels unavailable ({reason}); using torch's path instead",
        RuntimeWarning,
        stacklevel=4,
    )


def kernels_for(kind: str, dtype: torch.dtype) -> ModuleType | None:
    """The autograd module with ``kind``'s kernels compiled for ``dtype``, or None after a
    failure (warned once). The first call per (kind, dtype) compiles or loads from the cache."""
    if _state["failure"] is not None:
        return None
    key = (kind, dtype)
    if key in _state["compiled"]:
        return _state["module"]
    with _lock:
        if _state["failure"] is not None:
            return None
        try:
            module = _state["module"] or _load()
            module.warm_up(kind, dtype)
        except Exception as error:  # noqa: BLE001 - any compile/import failure means fall back
            _disable(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
            return None
        _state["module"] = module
        _state["compiled"].add(key)
        return module


def reset() -> None:
    """Forget compile results and failures (tests use this after simulating a failure)."""
    with _lock:
        _state.update(module=None, failure=None, compiled=set())
