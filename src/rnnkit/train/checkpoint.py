"""Training checkpoints without pickle: one safetensors file holding tensors + a JSON skeleton.

Arbitrary nested state (an optimizer ``state_dict`` with int keys, tuples, tensors, floats) is split
by :func:`flatten_state` into named tensors and a JSON skeleton in which each tensor is replaced by
``{"__tensor__": name}``. Both go into ONE safetensors file (the skeleton in its header metadata),
so a checkpoint is written with a single atomic rename: it is always either the previous complete
checkpoint or the new complete one.

Example:
    >>> import tempfile, pathlib, torch
    >>> state = {"step": 3, "betas": (0.9, 0.99), "buf": {0: torch.ones(2)}}
    >>> skeleton, tensors = flatten_state(state, "opt")
    >>> skeleton["buf"]
    {'__items__': [[0, {'__tensor__': 'opt/0'}]]}
    >>> restored = unflatten_state(skeleton, tensors)
    >>> restored["betas"], restored["buf"][0].tolist()
    ((0.9, 0.99), [1.0, 1.0])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ckpt.safetensors"
    >>> save_checkpoint(path, {"state": skeleton}, tensors)
    >>> meta, loaded = load_checkpoint(path)
    >>> meta["state"]["step"], sorted(loaded)
    (3, ['opt/0'])
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from rnnkit.errors import TrainingError
from rnnkit.io.atomic import atomic_write, remove_stale_temps

CHECKPOINT_FORMAT = "rnnkit-checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.safetensors"

_TENSOR = "__tensor__"
_TUPLE = "__tuple__"
_ITEMS = "__items__"


def flatten_state(obj: Any, prefix: str) -> tuple[Any, dict[str, torch.Tensor]]:
    """Split nested state into (JSON-able skeleton, ``{prefix/i: tensor}``).

    Tensors sharing storage (tied weights) are stored once and referenced twice. Dicts with
    non-string keys and tuples are tagged so :func:`unflatten_state` restores them exactly.
    """
    tensors: dict[str, torch.Tensor] = {}
    seen: dict[tuple[int, tuple[int, ...], tuple[int, ...], torch.dtype, int], str] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu()
            key: Any = (t.data_ptr(), tuple(t.shape), tuple(t.stride()), t.dtype,
                        t.storage_offset())
            if t.numel() and key in seen:
                return {_TENSOR: seen[key]}
            name = f"{prefix}/{len(tensors)}"
            tensors[name] = t.contiguous().clone() if not t.is_contiguous() else t
            if t.numel():
                seen[key] = name
            return {_TENSOR: name}
        if isinstance(value, Mapping):
            if all(isinstance(k, str) for k in value) and not any(
                k.startswith("__") for k in value
            ):
                return {k: walk(v) for k, v in value.items()}
            return {_ITEMS: [[walk(k), walk(v)] for k, v in value.items()]}
        if isinstance(value, tuple):
            return {_TUPLE: [walk(v) for v in value]}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise TrainingError(
            f"checkpoint: cannot store a value of type {type(value).__name__} in {prefix!r} "
            "without pickle; keep optimizer/scheduler/callback state to tensors, numbers, "
            "strings and lists"
        )

    return walk(obj), tensors


def unflatten_state(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten_state`."""
    if isinstance(skeleton, dict):
        if _TENSOR in skeleton and len(skeleton) == 1:
            return tensors[skeleton[_TENSOR]]
        if _TUPLE in skeleton and len(skeleton) == 1:
            return tuple(unflatten_state(v, tensors) for v in skeleton[_TUPLE])
        if _ITEMS in skeleton and len(skeleton) == 1:
            return {
                _hashable(unflatten_state(k, tensors)): unflatten_state(v, tensors)
                for k, v in skeleton[_ITEMS]
            }
        return {k: unflatten_state(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def save_checkpoint(
    path: str | os.PathLike[str], meta: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]
) -> None:
    """Atomically write ``tensors`` and the JSON ``meta`` into one safetensors file at ``path``."""
    from safetensors.torch import save as safetensors_save

    header = {
        "format": CHECKPOINT_FORMAT,
        "version": str(CHECKPOINT_VERSION),
        "state": json.dumps(meta, allow_nan=True),
    }
    payload = safetensors_save({k: v.contiguous() for k, v in tensors.items()}, metadata=header)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        atomic_write(target, payload)
    except OSError as err:  # a full disk or a lost mount must not end a run in a traceback
        kept = (
            "the previous checkpoint is unchanged"
            if target.exists()
            else "no checkpoint was written"
        )
        raise TrainingError(
            f"could not write the checkpoint {target}: {err.strerror or err}; {kept}; "
            "free some space (or choose another checkpoint directory) and rerun with --resume"
        ) from err


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives inside the block and deliver it when the block ends.

    Writing a checkpoint and recording that it was written must happen together. If a Ctrl-C
    arrives after the file is renamed into place but before the trainer has noted it, the
    report would say "nothing was saved" with a good checkpoint on disk. The signal goes to
    whatever handler was installed before, so a Ctrl-C still ends the run, only a few
    milliseconds later. Outside the main thread (where Python cannot set handlers) this does
    nothing.

    Example:
        >>> import signal
        >>> steps = []
        >>> try:
        ...     with ctrl_c_held():
        ...         signal.raise_signal(signal.SIGINT)
        ...         steps.append("finished the block")
        ... except KeyboardInterrupt:
        ...     steps.append("then interrupted")
        >>> steps
        ['finished the block', 'then interrupted']
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
        if held:
            signal.raise_signal(signal.SIGINT)


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a checkpoint written by :func:`save_checkpoint`: ``(meta, tensors)``. Never unpickles.

    Raises:
        TrainingError: the file is unreadable, truncated, or not an rnnkit checkpoint.
    """
    from safetensors import safe_open

    target = Path(path)
    try:
        tensors: dict[str, torch.Tensor] = {}
        with safe_open(str(target), framework="pt") as fh:
            header = fh.metadata() or {}
            for name in fh.keys():  # noqa: SIM118 - safe_open has no __iter__
                tensors[name] = fh.get_tensor(name)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise TrainingError(
            f"checkpoint {target} is unreadable ({err}); delete it or train without resume"
        ) from err
    if header.get("format") != CHECKPOINT_FORMAT:
        raise TrainingError(f"checkpoint {target} is not an rnnkit checkpoint; "
                            "delete it or pick another directory")
    if int(header.get("version", "0")) > CHECKPOINT_VERSION:
        raise TrainingError(
            f"checkpoint {target} has format version {header.get('version')}, "
            f"newer than this rnnkit ({CHECKPOINT_VERSION}); upgrade rnnkit to resume it"
        )
    return json.loads(header["state"]), tensors


__all__ = [
    "ctrl_c_held",
    "CHECKPOINT_NAME",
    "flatten_state",
    "unflatten_state",
    "save_checkpoint",
    "load_checkpoint",
]
