"""Model bundles: one directory that holds everything needed to use a trained model again.

Layout (all names fixed except the pipeline-state JSON files and the plots)::

    my_model/
      config.json          task, model hyper-parameters, rnnkit version, schema version,
                           file manifest
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
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnkit.errors import BundleError
from rnnkit.io.atomic import fsync_dir, remove_stale_temps, temp_sibling

# torch is imported inside the functions that need it: checking where a bundle may go
# (check_bundle_target) must not cost the CLI a torch import before it reports a bad --out.
if TYPE_CHECKING:
    import torch

SCHEMA_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"
METRICS_NAME = "metrics.json"
HISTORY_NAME = "history.csv"
BACKUP_SUFFIX = ".backup"
RESERVED = {CONFIG_NAME, WEIGHTS_NAME, METRICS_NAME, HISTORY_NAME}
#: The config.json entry holding the SHA-256 of the rest of config.json (see ``_config_digest``).
CONFIG_DIGEST_KEY = "config_sha256"


def _rnnkit_version() -> str:
    try:
        from rnnkit._version import __version__

        return __version__
    except ImportError:  # pragma: no cover - only during partial installs
        return "unknown"


def backup_path(path: str | os.PathLike[str]) -> Path:
    """Where the previous bundle lives while a new one is being swapped in: ``<path>.backup``."""
    target = Path(path)
    return target.with_name(target.name + BACKUP_SUFFIX)


# --------------------------------------------------------------------------- where a bundle may go

#: The largest config.json read while deciding whether a directory is a bundle (a real one is KBs).
MAX_CONFIG_BYTES = 64 << 20
#: Files a bundle without a manifest (written before manifests existed) may hold.
_BUNDLE_SUFFIXES = (".json", ".png", ".csv", ".safetensors")


def check_bundle_target(path: str | os.PathLike[str], task: str, force: bool = False) -> Path:
    """Check that a ``task`` bundle may be saved at ``path``, without writing; returns the resolved
    path.

    Saving replaces only what rnnkit wrote: nothing, an empty directory, or a bundle (a directory
    whose ``config.json`` rnnkit wrote and that holds no other files). A bundle of another task is
    replaced only with ``force=True`` (``--force`` in the CLI). Refused, with a one-line
    :class:`BundleError` that starts with ``path``: a file, a non-empty directory that is not a
    bundle, ``.``/``..``, the current directory or one of its parents, a stray ``<path>.backup``
    that is not a bundle, and a parent directory that cannot be created or written. The parent's
    writability is probed by creating and removing an empty directory.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "notes.txt").write_text("mine")
        >>> check_bundle_target(d / "model", "text_classifier") == (d / "model").resolve()
        True
        >>> check_bundle_target(d / "notes.txt", "text_classifier")
        Traceback (most recent call last):
        ...
        rnnkit.errors.BundleError: ...notes.txt: exists and is a file, not an rnnkit bundle; choose another path
    """  # noqa: E501 (the doctest's expected exception message is one line)
    shown = os.fspath(path)
    if not isinstance(task, str) or not task:
        raise BundleError(f"{shown}: the bundle needs a task name such as 'text_classifier'")
    if not shown.strip():
        raise BundleError("the bundle path is empty; give a directory name such as 'model'")
    given = Path(shown).expanduser()
    if given.name in ("", ".", ".."):
        raise BundleError(f"{shown}: names an existing directory, not a new bundle; "
                          f"give a name such as {os.path.join(shown, 'model')!r}")
    try:
        target = given.resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop before Python 3.13
        raise BundleError(
            f"{shown}: cannot be resolved ({_reason(err)}); choose another path"
        ) from err
    with contextlib.suppress(OSError):  # a deleted working directory has no parents to protect
        cwd = Path.cwd().resolve()
        if target == cwd or target in cwd.parents:
            raise BundleError(f"{shown}: is the current directory or one of its parents; "
                              "choose another path")
    _check_replaceable(target, shown, task, force)
    _check_replaceable_backup(target, shown)
    _probe_writable_parent(target.parent, shown)
    return target


def _check_replaceable(target: Path, shown: str, task: str, force: bool) -> None:
    """Raise unless ``target`` is missing, an empty directory or a bundle that may be replaced."""
    if not os.path.lexists(target):
        backup_task = _bundle_task(backup_path(target)) if _is_dir(backup_path(target)) else None
        if backup_task is not None:  # an interrupted save: the backup is the bundle at this path
            _check_task(backup_task, shown, task, force)
        return
    if not target.is_dir():
        kind = "a file" if target.is_file() else "not a directory"
        raise BundleError(f"{shown}: exists and is {kind}, not an rnnkit bundle; "
                          "choose another path")
    entries = _entries(target, shown)
    if not entries:
        return
    existing_task = _bundle_task(target)
    if existing_task is None:
        raise BundleError(f"{shown}: exists and is not an rnnkit bundle ({_holds(entries)}); "
                          "choose another path")
    foreign = _foreign_entries(target, entries)
    if foreign:
        raise BundleError(f"{shown}: is an rnnkit bundle but also holds files rnnkit did not write "
                          f"({_few(foreign)}); move them out or choose another path")
    _check_task(existing_task, shown, task, force)


def _check_task(existing: str, shown: str, task: str, force: bool) -> None:
    if existing != task and not force:
        raise BundleError(f"{shown}: holds a {existing!r} bundle, not a {task!r} one; "
                          "replace it with --force (force=True in Python) or choose another path")


def _check_replaceable_backup(target: Path, shown: str) -> None:
    """A save deletes ``<path>.backup``: it must be a bundle (left by an interrupted save)."""
    backup = backup_path(target)
    if not os.path.lexists(backup):
        return
    if not _is_dir(backup) or (_entries(backup, shown) and _bundle_task(backup) is None):
        raise BundleError(f"{shown}: {backup.name} exists and is not an rnnkit bundle "
                          "(saving would replace it); move it or choose another path")


def _probe_writable_parent(parent: Path, shown: str) -> None:
    """Raise unless a directory can be made in the nearest existing ancestor of ``parent``."""
    existing = parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise BundleError(f"{shown}: {existing} is not a directory; choose another path")
    probe = existing / f".rnnkit-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.mkdir(probe)
    except OSError as err:
        raise BundleError(f"{shown}: cannot write in {existing} ({_reason(err)}); "
                          "choose another path") from err
    with contextlib.suppress(OSError):
        os.rmdir(probe)


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _entries(directory: Path, shown: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError as err:
        raise BundleError(f"{shown}: cannot be read ({_reason(err)}); choose another path") from err


def _holds(entries: list[str]) -> str:
    count = f"{len(entries)} file{'s' if len(entries) != 1 else ''}"
    return f"it holds {count}, e.g. {entries[0]!r}"


def _bundle_task(directory: Path) -> str | None:
    """The task of the bundle in ``directory``, or None when its config.json is not rnnkit's."""
    config_file = directory / CONFIG_NAME
    try:
        if not config_file.is_file() or config_file.stat().st_size > MAX_CONFIG_BYTES:
            return None
        config = json.loads(config_file.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: bad JSON or bad UTF-8
        return None
    if not isinstance(config, dict):
        return None
    task, schema, files = config.get("task"), config.get("schema_version"), config.get("files")
    if (
        not isinstance(task, str)
        or not task
        or not isinstance(schema, int)
        or isinstance(schema, bool)
    ):
        return None
    has_weights = (
        isinstance(files, dict) and WEIGHTS_NAME in files or (directory / WEIGHTS_NAME).is_file()
    )
    return task if has_weights else None


def _foreign_entries(directory: Path, entries: list[str]) -> list[str]:
    """Entries of a bundle directory that its manifest does not list (the user's own files)."""
    try:
        files = json.loads((directory / CONFIG_NAME).read_bytes().decode("utf-8")).get("files")
    except (OSError, ValueError, RecursionError):
        files = None
    if isinstance(files, dict):
        known = set(files) | {CONFIG_NAME}
        return [e for e in entries if e not in known]
    return [e for e in entries
            if not (e.endswith(_BUNDLE_SUFFIXES) and (directory / e).is_file())]


def _reason(err: BaseException) -> str:
    """The OS's words for an error (``No space left on device``), without errno and path noise."""
    return ((err.strerror if isinstance(err, OSError) and err.strerror else str(err))
            or type(err).__name__)


# --------------------------------------------------------------------------------------- saving


def save_bundle(
    path: str | os.PathLike[str],
    config: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    extra_json: Mapping[str, Any] | None = None,
    history: Any = None,
    metrics: Mapping[str, Any] | None = None,
    plots: Mapping[str, Any] | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write a bundle directory at ``path`` atomically and return ``path``.

    Only what :func:`check_bundle_target` allows is replaced (nothing, an empty directory, a bundle
    of the same task, or with ``force`` a bundle of another task); anything else is refused before
    a byte is written.

    Args:
        config: JSON-serializable; must contain ``"task"`` (the name ``rnnkit.load`` dispatches on).
            ``schema_version``, ``rnnkit_version`` and ``files`` are added.
        state_dict: name -> tensor, saved to ``weights.safetensors`` (shared tensors are copied).
        extra_json: pipeline state, ``{"vocab": obj}`` -> ``vocab.json``.
        history: an object with ``to_csv() -> str`` (``rnnkit.train.History``) or CSV text.
        metrics: final numbers -> ``metrics.json``.
        plots: ``{"curves": matplotlib Figure | PNG bytes}`` -> ``curves.png``.
        force: replace a bundle of another task.

    Raises:
        BundleError: ``config`` has no ``task``, a file name collides with a reserved one, ``path``
            may not be replaced, or writing failed (disk full, ...: the previous bundle is kept).
    """
    if "task" not in config:
        raise BundleError("save_bundle: config needs a 'task' entry naming the task, e.g. "
                          "'text_classifier'")
    # Write at the resolved path: through a symlink, the real bundle is replaced, not the link.
    target = check_bundle_target(path, str(config["task"]), force=force)
    files = _render_files(config, state_dict, extra_json, history, metrics, plots)
    had_bundle = os.path.lexists(target) or os.path.lexists(backup_path(target))
    tmp = temp_sibling(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        tmp.mkdir()
        for name, payload in files.items():
            _write_synced(tmp / name, payload)
        fsync_dir(tmp)
        _swap_into_place(tmp, target)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        kept = "the previous bundle is unchanged" if had_bundle else "nothing was saved"
        raise BundleError(
            f"could not save the bundle to {os.fspath(path)}: {_reason(err)}; {kept}"
        ) from err
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Path(path)


def _write_synced(file: Path, payload: bytes) -> None:
    """Write one file of a bundle and fsync it (tests replace this to simulate a full disk)."""
    with open(file, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())


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
    full_config[CONFIG_DIGEST_KEY] = _config_digest(full_config)
    files[CONFIG_NAME] = _json_bytes(full_config)
    return files


def _check_name(name: str) -> None:
    if name in RESERVED or "/" in name or "\\" in name or name.startswith("."):
        raise BundleError(f"save_bundle: file name {name!r} is reserved or not a plain name; "
                          "rename it")


def _json_bytes(obj: Any) -> bytes:
    try:
        return (
            json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=True) + "\n"
        ).encode("utf-8")
    except TypeError as err:
        raise BundleError(
            f"save_bundle: value is not JSON-serializable ({err}); convert it first"
        ) from err


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
    """Rename ``tmp`` to ``target``; an existing ``target`` survives at the backup name meanwhile.

    When the second rename fails with an OSError the old bundle is renamed back, so a failed save
    leaves ``path`` as it was; a kill in between leaves the backup, which loading falls back to.
    """
    backup = backup_path(target)
    moved = False
    if os.path.lexists(target):
        # a stale backup from an earlier crash; target is complete, so drop it
        if os.path.lexists(backup):
            shutil.rmtree(backup)
        os.rename(target, backup)
        moved = True
        fsync_dir(target.parent)
    try:
        os.rename(tmp, target)
    except OSError:
        if moved:
            with contextlib.suppress(OSError):
                os.rename(backup, target)
        raise
    fsync_dir(target.parent)
    if os.path.lexists(backup):
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

    def section(self, key: str, kind: type | tuple[type, ...] = dict) -> Any:
        """``config[key]``, a BundleError unless it is there with type ``kind`` (e.g. ``list``)."""
        value = self.config.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            wanted = " or ".join(_JSON_KIND.get(k, k.__name__) for k in kinds)
            raise BundleError(f"bundle {self.path}: {CONFIG_NAME} has no {key!r} {wanted}; "
                              "re-save the model")
        return value

    def require_task(self, task: str) -> None:
        """Raise :class:`BundleError` unless this bundle holds a ``task`` model."""
        if self.task != task:
            raise BundleError(f"bundle {self.path} holds a {self.task!r} model, not a {task!r}")

    def check(self, expect: Mapping[str, Any]) -> None:
        """Raise :class:`BundleError` unless the weights match ``expect`` (see check_state_dict)."""
        check_state_dict(self.state_dict, expect, where=f"bundle {self.path}")


_JSON_KIND = {dict: "object", list: "list", str: "text", int: "integer", float: "number"}


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
        raise BundleError(f"bundle {target}: missing {CONFIG_NAME}; this is not an rnnkit model "
                          "directory")
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
    root = resolve_bundle_dir(path)
    config = _read_json(root / CONFIG_NAME, max_bytes=MAX_CONFIG_BYTES)
    if not isinstance(config, dict) or not isinstance(config.get("task"), str):
        raise BundleError(f"bundle {root}: {CONFIG_NAME} has no 'task' entry; re-save the model")
    schema = config.get("schema_version")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise BundleError(f"bundle {root}: {CONFIG_NAME} has no integer schema_version; "
                          "re-save the model")
    if schema > SCHEMA_VERSION:
        raise BundleError(
            f"bundle {root}: schema version {schema} (rnnkit {config.get('rnnkit_version', '?')}) "
            f"is newer than this rnnkit supports ({SCHEMA_VERSION}); upgrade rnnkit to load it"
        )
    _verify_config_digest(root, config)
    for name, entry in _manifest(root, config).items():
        _verify_file(root, name, entry)
    state_dict = _load_weights(root)
    metrics_file = root / METRICS_NAME
    metrics = _read_json(metrics_file) if metrics_file.is_file() else {}
    if not isinstance(metrics, dict):
        raise BundleError(f"bundle {root}: {METRICS_NAME} is not a JSON object; re-save the model")
    parts = BundleParts(path=root, config=config, state_dict=state_dict, metrics=metrics)
    if expect is not None:
        parts.check(expect)
    return parts


def _config_digest(config: Mapping[str, Any]) -> str:
    """SHA-256 of ``config`` without its ``config_sha256`` entry, in a canonical JSON form.

    The config goes through one JSON round trip first, so the digest computed at save time (tuples,
    int keys) equals the one computed from the file.
    """
    plain = json.loads(_json_bytes({k: v for k, v in config.items() if k != CONFIG_DIGEST_KEY}))
    canonical = json.dumps(plain, sort_keys=True, ensure_ascii=False, allow_nan=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _verify_config_digest(root: Path, config: Mapping[str, Any]) -> None:
    """Refuse an edited ``config.json``; bundles saved before the digest existed have none and
    pass (every other check still applies to them)."""
    digest = config.get(CONFIG_DIGEST_KEY)
    if digest is None:
        return
    try:
        expected = _config_digest(config)
    except RecursionError as err:
        raise BundleError(
            f"bundle {root}: {CONFIG_NAME} is nested too deeply; re-save the model"
        ) from err
    if not isinstance(digest, str) or digest != expected:
        raise BundleError(
            f"bundle {root}: {CONFIG_NAME} was modified after saving (checksum differs); "
            "re-save the model"
        )


def _manifest(root: Path, config: Mapping[str, Any]) -> dict[str, Mapping[str, Any] | None]:
    """The ``files`` manifest, checked: plain names mapped to ``{"bytes": int, "sha256": str}``."""
    manifest = config.get("files", {WEIGHTS_NAME: None})
    if not isinstance(manifest, dict):
        raise BundleError(f"bundle {root}: {CONFIG_NAME} has a malformed 'files' list; "
                          "re-save the model")
    if WEIGHTS_NAME not in manifest:
        raise BundleError(
            f"bundle {root}: {CONFIG_NAME} lists no {WEIGHTS_NAME}; re-save the model"
        )
    for name, entry in manifest.items():
        plain = (
            isinstance(name, str)
            and name not in ("", ".", "..")
            and "/" not in name
            and "\\" not in name
        )
        well_formed = entry is None or (
            isinstance(entry, dict)
            and isinstance(entry.get("bytes"), int) and not isinstance(entry.get("bytes"), bool)
            and isinstance(entry.get("sha256"), str)
        )
        if not plain or not well_formed:
            raise BundleError(f"bundle {root}: {CONFIG_NAME} has a malformed 'files' entry "
                              f"{str(name)[:80]!r}; re-save the model")
    return manifest


def _load_weights(root: Path) -> dict[str, torch.Tensor]:
    """The tensors of ``weights.safetensors``; a BundleError for an unreadable file or a tensor
    holding NaN or infinity (a diverged or tampered model would answer with garbage)."""
    import torch
    from safetensors.torch import load_file

    try:
        state_dict = load_file(str(root / WEIGHTS_NAME))
    except Exception as err:  # safetensors raises its own error type on corrupt headers
        raise BundleError(f"bundle {root}: {WEIGHTS_NAME} is unreadable ({_one_line(err)}); "
                          "re-save the model") from err
    for name, tensor in state_dict.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise BundleError(
                f"bundle {root}: {WEIGHTS_NAME} tensor {name} holds NaN or infinite values "
                "(training diverged or the file was modified); retrain or re-save the model"
            )
    return state_dict


def _verify_file(root: Path, name: str, entry: Mapping[str, Any] | None) -> None:
    file = root / name
    if not file.is_file():
        raise BundleError(f"bundle {root}: missing {name}; the bundle is incomplete, "
                          "re-save the model")
    if entry is None:
        return
    size = file.stat().st_size
    if size != entry["bytes"]:
        raise BundleError(
            f"bundle {root}: {name} has {size} bytes but {entry['bytes']} were saved "
            "(truncated or modified); re-save the model"
        )
    if _sha256(file) != entry["sha256"]:
        raise BundleError(f"bundle {root}: {name} is corrupt (checksum differs); re-save the model")


def _sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_json(file: Path, max_bytes: int | None = None) -> Any:
    try:
        if max_bytes is not None and file.stat().st_size > max_bytes:
            raise BundleError(f"bundle {file.parent}: {file.name} is larger than {max_bytes >> 20} "
                              "MiB; this is not an rnnkit bundle file")
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise BundleError(f"bundle {file.parent}: missing {file.name}; re-save the model") from err
    except (ValueError, RecursionError) as err:  # bad JSON, bad UTF-8, nesting too deep
        reason = "nested too deeply" if isinstance(err, RecursionError) else _one_line(err)
        raise BundleError(
            f"bundle {file.parent}: {file.name} is not valid JSON ({reason}); re-save the model"
        ) from err
    except OSError as err:
        raise BundleError(
            f"bundle {file.parent}: {file.name} cannot be read ({_reason(err)})"
        ) from err


def _one_line(err: BaseException) -> str:
    """An exception's message squeezed onto one short line."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def check_state_dict(
    state_dict: Mapping[str, torch.Tensor], expect: Mapping[str, Any], where: str = "weights"
) -> None:
    """Raise :class:`BundleError` unless ``state_dict`` has exactly the names and shapes of
    ``expect``.

    ``expect`` maps names to tensors or shapes (tuples). Dtypes may differ (float32 vs float64).

    Example:
        >>> import torch
        >>> check_state_dict({"w": torch.ones(2)}, {"w": (3,)})
        Traceback (most recent call last):
        ...
        rnnkit.errors.BundleError: weights: w has shape (2,), expected (3,); the weights do not match the config
    """  # noqa: E501 (the doctest's expected exception message is one line)
    import torch

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
    "check_bundle_target",
    "save_bundle",
    "load_bundle_parts",
    "check_state_dict",
    "resolve_bundle_dir",
    "backup_path",
    "delete_bundle",
    "restore_from_parts",
]


#: What a malformed config.json or pipeline file makes the restoring code raise.
_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError,
              OverflowError, RuntimeError, MemoryError)


def restore_from_parts(loader: Any, parts: BundleParts) -> Any:
    """``loader(parts)``, with every error that a malformed bundle causes turned into one line.

    The loader reads untrusted files: a wrong option becomes the ConfigError's message inside a
    :class:`BundleError`; a missing key, wrong type or deep nesting becomes a BundleError naming
    the exception rather than a traceback.
    """
    from rnnkit.errors import RnnkitError

    try:
        return loader(parts)
    except BundleError:
        raise
    except RnnkitError as err:
        raise BundleError(f"bundle {parts.path}: {CONFIG_NAME} is invalid ({_one_line(err)}); "
                          "re-save the model") from err
    except _MALFORMED as err:
        raise BundleError(
            f"bundle {parts.path}: {CONFIG_NAME} or a pipeline file is malformed "
            f"({type(err).__name__}: {_one_line(err)}); re-save the model"
        ) from err
