"""rnnkit.io: model bundles on disk (no pickle), atomic writes, and the task registry.

The storage layer: it imports only :mod:`rnnkit.errors`, torch and safetensors. Tasks register
their loaders here (:func:`register_task`); ``rnnkit.load`` lives in the task layer.

Example:
    >>> import tempfile, pathlib, torch
    >>> from rnnkit.io import save_bundle, load_bundle_parts
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> _ = save_bundle(d, {"task": "demo"}, {"w": torch.ones(3)}, metrics={"accuracy": 0.9})
    >>> load_bundle_parts(d).metrics
    {'accuracy': 0.9}
"""

from __future__ import annotations

from rnnkit.io.atomic import atomic_write, fsync_dir
from rnnkit.io.bundle import (
    SCHEMA_VERSION,
    BundleParts,
    backup_path,
    check_bundle_target,
    check_state_dict,
    delete_bundle,
    load_bundle_parts,
    save_bundle,
)
from rnnkit.io.registry import load_registered, register_task, registered_tasks

__all__ = [
    "SCHEMA_VERSION",
    "BundleParts",
    "atomic_write",
    "backup_path",
    "check_bundle_target",
    "check_state_dict",
    "delete_bundle",
    "fsync_dir",
    "load_bundle_parts",
    "load_registered",
    "register_task",
    "registered_tasks",
    "save_bundle",
]
