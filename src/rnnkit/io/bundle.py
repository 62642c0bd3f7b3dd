"""Model bundles: one directory that holds everything needed to use a trained model again.

Layout (all names fixed except the pipeline-state JSON files and the plots)::

    my_model/
      config.json          task, model hyper-parameters, rnnkit version, schema version, file manifest
      weights.safetensors  the model state_dict (no pickle)
      vocab.json, ...      pipeline state, one JSON file per entry of ``extra_json``
      metrics.json         final evaluation numbers
      history.csv          per-epoch training history
      curves.png, ...      plots

``config.json`` is written last and lists every other file with its size and SHA-256, so a truncated
or edited file is caught on load with a message naming it. Saving over an existing bundle is atomic:
the new bundle is written to a hidden sibling directory, fsynced, and swapped in with two renames;
at every moment a complete bundle exists at ``path`` or at ``<path>.backup``, and loading falls
back to the backup when ``path`` is missing.

Example:
    >>> import tempfile, pathlib, torch
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> _ = save_bundle(d, {"task": "demo", "model": {"hidden": 2}}, {"w": torch.ones(2)},
    ...                 extra_json={"vocab": {"<pad>": 0}})
    >>> parts = load_bundle_parts(d, expect={"w": torch.zeros(2)})
    >>> parts.config["model"], parts.json("vocab"), parts.state_dict["w"].tolist()
    ({'hidden': 2}, {'<pad>': 0}, [1.0, 1.0])
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from rnnkit.errors import BundleError
from rnnkit.io.atomic import fsync_dir, remove_stale_temps, temp_sibling

SCHEMA_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"
METRICS_NAME = "metrics.json"
HISTORY_NAME = "history.csv"
BACKUP_SUFFIX = ".backup"
RESERVED = {CONFIG_NAME, WEIGHTS_NAME, METRICS_NAME, HISTORY_NAME}


def _rnnkit_version() -> str:
    try:
        from rnnkit import __version__

        return __version__
    except ImportError:  # pragma: no cover - only during partial installs
        return "unknown"


def backup_path(path: str | os.PathLike[str]) -> Path:
    """Where the previous bundle lives while a new one is being swapped in: ``<path>.backup``."""
    target = Path(path)
    return target.with_name(target.name + BACKUP_SUFFIX)


# --------------------------------------------------------------------------------------- saving


def save_bundle(
    path: str | os.PathLike[str],
    config: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    extra_json: Mapping[str, Any] | None = None,
    history: Any = None,
    metrics: Mapping[str, Any] | None = None,
    plots: Mapping[str, Any] | None = None,
) -> Path:
    """Write a bundle directory at ``path`` atomically and return ``path``.

    Args:
        config: JSON-serializable; must contain ``"task"`` (the name ``rnnkit.load`` dispatches on).
            ``schema_version``, ``rnnkit_version`` and ``files`` are added.
        state_dict: name -> tensor, saved to ``weights.safetensors`` (shared tensors are copied).
        extra_json: pipeline state, ``{"vocab": obj}`` -> ``vocab.json``.
        history: an object with ``to_csv() -> str`` (``rnnkit.train.History``) or CSV text.
        metrics: final numbers -> ``metrics.json``.
        plots: ``{"curves": matplotlib Figure | PNG bytes}`` -> ``curves.png``.

    Raises:
        BundleError: ``config`` has no ``task`` or a file name collides with a reserved one.
    """
    target = Path(path)
    if "task" not in config:
        raise BundleError("save_bundle: config needs a 'task' entry naming the task, e.g. 'text_classifier'")
    files = _render_files(config, state_dict, extra_json, history, metrics, plots)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp = temp_sibling(target)
    try:
        tmp.mkdir()
        for name, payload in files.items():
            with open(tmp / name, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
        fsync_dir(tmp)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _render_files(
    config: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    extra_json: Mapping[str, Any] | None,
    history: Any,
    metrics: Mapping[str, Any] | None,
    plots: Mapping[str, Any] | None,
) -> dict[str, bytes]:
    """Every file of the bundle as bytes, ``config.json`` last (it carries the manifest)."""
    from safetensors.torch import save as safetensors_save

    files: dict[str, bytes] = {WEIGHTS_NAME: safetensors_save(_unshare(state_dict))}
    for key, obj in (extra_json or {}).items():
        name = key if key.endswith(".json") else f"{key}.json"
        _check_name(name)
        files[name] = _json_bytes(obj)
    if metrics is not None:
        files[METRICS_NAME] = _json_bytes(dict(metrics))
    if history is not None:
        text = history if isinstance(history, str) else history.to_csv()
        files[HISTORY_NAME] = text.encode("utf-8")
    for key, plot in (plots or {}).items():
        name = key if key.endswith(".png") else f"{key}.png"
        _check_name(name)
        files[name] = bytes(plot) if isinstance(plot, bytes | bytearray) else _figure_png(plot)
    manifest = {
        name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in files.items()
    }
    full_config = dict(config)
    full_config["schema_version"] = SCHEMA_VERSION
    full_config["rnnkit_version"] = _rnnkit_version()
    full_config["files"] = manifest
    files[CONFIG_NAME] = _json_bytes(full_config)
    return files


def _check_name(name: str) -> None:
    if name in RESERVED or "/" in name or "\\" in name or name.startswith("."):
        raise BundleError(f"save_bundle: file name {name!r} is reserved or not a plain name; rename it")


def _json_bytes(obj: Any) -> bytes:
    try:
        return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=True) + "\n").encode("utf-8")
    except TypeError as err:
        raise BundleError(f"save_bundle: value is not JSON-serializable ({err}); convert it first") from err


def _figure_png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=getattr(fig, "dpi", 100))
    return buffer.getvalue()


def _unshare(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU tensors; tensors sharing memory (tied weights) are copied."""
    out: dict[str, torch.Tensor] = {}
    seen: set[tuple[int, int]] = set()
    for name, tensor in state_dict.items():
        t = tensor.detach().cpu().contiguous()
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key in seen and t.numel() > 0:
            t = t.clone()
        seen.add(key)
        out[name] = t
    return out


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an existing ``target`` survives at the backup name meanwhile."""
    backup = backup_path(target)
    if target.exists():
        if backup.exists():  # a stale backup from an earlier crash; target is complete, so drop it
            shutil.rmtree(backup)
        os.rename(target, backup)
        fsync_dir(target.parent)
    os.rename(tmp, target)
    fsync_dir(target.parent)
    if backup.exists():
        shutil.rmtree(backup, ignore_errors=True)


# -------------------------------------------------------------------------------------- loading


@dataclass
class BundleParts:
    """The validated content of a bundle directory.

    Attributes:
        path: the directory actually read (``<path>.backup`` after an interrupted save).
        config: ``config.json`` including ``schema_version``, ``rnnkit_version`` and ``files``.
        state_dict: name -> tensor from ``weights.safetensors``.
        metrics: ``metrics.json`` or ``{}``.
    """

    path: Path
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return str(self.config["task"])

    def has(self, name: str) -> bool:
        """Whether the bundle contains file ``name`` (``"vocab"`` means ``vocab.json``)."""
        return (self.path / _json_name(name)).is_file() or (self.path / name).is_file()

    def json(self, name: str) -> Any:
        """A pipeline-state JSON file: ``parts.json("vocab")`` reads ``vocab.json``."""
        file = self.path / _json_name(name)
        if not file.is_file():
            raise BundleError(f"bundle {self.path}: missing {file.name}; re-save the model")
        return _read_json(file)

    def file(self, name: str) -> Path:
        """The path of a file of the bundle (e.g. ``"history.csv"``, ``"curves.png"``)."""
        file = self.path / name
        if not file.is_file():
            raise BundleError(f"bundle {self.path}: missing {name}; re-save the model")
        return file

    def history_csv(self) -> str | None:
        """The text of ``history.csv`` (``History.from_csv`` parses it), or None when absent."""
        file = self.path / HISTORY_NAME
        return file.read_text(encoding="utf-8") if file.is_file() else None

    def require_task(self, task: str) -> None:
        """Raise :class:`BundleError` unless this bundle holds a ``task`` model."""
        if self.task != task:
            raise BundleError(f"bundle {self.path} holds a {self.task!r} model, not a {task!r}")

    def check(self, expect: Mapping[str, Any]) -> None:
        """Raise :class:`BundleError` unless the weights match ``expect`` (see check_state_dict)."""
        check_state_dict(self.state_dict, expect, where=f"bundle {self.path}")


def _json_name(name: str) -> str:
    return name if name.endswith(".json") else f"{name}.json"


def resolve_bundle_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` if it is a bundle directory, else its backup left by an interrupted save."""
    target = Path(path)
    if (target / CONFIG_NAME).is_file():
        return target
    backup = backup_path(target)
    if not target.exists() and (backup / CONFIG_NAME).is_file():
        return backup
    if target.is_dir():
        raise BundleError(f"bundle {target}: missing {CONFIG_NAME}; this is not an rnnkit model directory")
    raise BundleError(f"bundle {target}: no such directory; check the path")


def load_bundle_parts(
    path: str | os.PathLike[str], expect: Mapping[str, Any] | None = None
) -> BundleParts:
    """Read and validate a bundle. Never unpickles and never writes.

    Args:
        expect: optional name -> tensor (or shape) that the weights must match exactly, e.g.
            ``model.state_dict()`` of the model built from ``parts.config``.

    Raises:
        BundleError: missing directory or file, schema newer than this rnnkit, a file whose size or
            checksum differs from the manifest (truncated / edited), unreadable weights, or weights
            that do not match ``expect``.
    """
    from safetensors.torch import load_file

    root = resolve_bundle_dir(path)
    config = _read_json(root / CONFIG_NAME)
    if not isinstance(config, dict) or "task" not in config:
        raise BundleError(f"bundle {root}: {CONFIG_NAME} has no 'task' entry; re-save the model")
    schema = config.get("schema_version")
    if not isinstance(schema, int):
        raise BundleError(f"bundle {root}: {CONFIG_NAME} has no integer schema_version; re-save the model")
    if schema > SCHEMA_VERSION:
        raise BundleError(
            f"bundle {root}: schema version {schema} (rnnkit {config.get('rnnkit_version', '?')}) is "
            f"newer than this rnnkit supports ({SCHEMA_VERSION}); upgrade rnnkit to load it"
        )
    manifest = config.get("files", {WEIGHTS_NAME: None})
    if WEIGHTS_NAME not in manifest:
        raise BundleError(f"bundle {root}: {CONFIG_NAME} lists no {WEIGHTS_NAME}; re-save the model")
    for name, entry in manifest.items():
        _verify_file(root, name, entry)
    try:
        state_dict = load_file(str(root / WEIGHTS_NAME))
    except Exception as err:  # safetensors raises its own error type on corrupt headers
        raise BundleError(f"bundle {root}: {WEIGHTS_NAME} is unreadable ({err}); re-save the model") from err
    metrics_file = root / METRICS_NAME
    metrics = _read_json(metrics_file) if metrics_file.is_file() else {}
    parts = BundleParts(path=root, config=config, state_dict=state_dict, metrics=metrics)
    if expect is not None:
        parts.check(expect)
    return parts


def _verify_file(root: Path, name: str, entry: Mapping[str, Any] | None) -> None:
    file = root / name
    if not file.is_file():
        raise BundleError(f"bundle {root}: missing {name}; the bundle is incomplete, re-save the model")
    if entry is None:
        return
    size = file.stat().st_size
    if size != entry.get("bytes", size):
        raise BundleError(
            f"bundle {root}: {name} has {size} bytes but {entry['bytes']} were saved "
            "(truncated or modified); re-save the model"
        )
    digest = entry.get("sha256")
    if digest is not None and _sha256(file) != digest:
        raise BundleError(f"bundle {root}: {name} is corrupt (checksum differs); re-save the model")


def _sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise BundleError(f"bundle {file.parent}: missing {file.name}; re-save the model") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(f"bundle {file.parent}: {file.name} is not valid JSON ({err}); re-save the model") from err


def check_state_dict(
    state_dict: Mapping[str, torch.Tensor], expect: Mapping[str, Any], where: str = "weights"
) -> None:
    """Raise :class:`BundleError` unless ``state_dict`` has exactly the names and shapes of ``expect``.

    ``expect`` maps names to tensors or shapes (tuples). Dtypes may differ (float32 vs float64).

    Example:
        >>> check_state_dict({"w": torch.ones(2)}, {"w": (3,)})
        Traceback (most recent call last):
        ...
        rnnkit.errors.BundleError: weights: w has shape (2,), expected (3,); the weights do not match the config
    """
    problems: list[str] = []
    missing = [k for k in expect if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expect]
    if missing:
        problems.append(f"missing {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected {_few(unexpected)}")
    for name, want in expect.items():
        if name not in state_dict:
            continue
        want_shape = tuple(want.shape) if isinstance(want, torch.Tensor) else tuple(want)
        got_shape = tuple(state_dict[name].shape)
        if got_shape != want_shape:
            problems.append(f"{name} has shape {got_shape}, expected {want_shape}")
    if problems:
        shown = "; ".join(problems[:4]) + ("; ..." if len(problems) > 4 else "")
        raise BundleError(f"{where}: {shown}; the weights do not match the config")


def _few(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def delete_bundle(path: str | os.PathLike[str]) -> None:
    """Remove a bundle directory and its backup, if any."""
    for p in (Path(path), backup_path(path)):
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(p)


__all__ = [
    "SCHEMA_VERSION",
    "BundleParts",
    "save_bundle",
    "load_bundle_parts",
    "check_state_dict",
    "resolve_bundle_dir",
    "backup_path",
    "delete_bundle",
]


_Estimator = TypeVar("_Estimator", bound="LoadableFromBundle")


class LoadableFromBundle:
    """Mixin for estimators: ``load(path)`` reads a bundle and hands it to ``_from_parts``."""

    @classmethod
    def load(cls: type[_Estimator], path: str | Path) -> _Estimator:
        """Read a bundle written by ``save`` (never unpickles)."""
        return cls._from_parts(load_bundle_parts(path))

    @classmethod
    def _from_parts(cls, parts: BundleParts) -> Any:
        raise NotImplementedError

    def _build_network(self) -> torch.nn.Module:
        raise NotImplementedError

    def _restore_network(self, parts: BundleParts) -> None:
        """Rebuild the network (``_build_network``), load the bundle's checked weights into it
        in eval mode, and restore ``history_`` and ``metrics_``."""
        from rnnkit.train import History  # rnnkit.train imports rnnkit.io: import late

        model = self._build_network()
        parts.check(model.state_dict())
        model.load_state_dict(parts.state_dict)
        self.model_: Any = model.eval()
        csv_text = parts.history_csv()
        self.history_: Any = History.from_csv(csv_text) if csv_text else None
        self.metrics_: Any = dict(parts.metrics)
