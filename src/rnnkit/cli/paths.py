"""Checks on the paths a command is given, made before it reads data or trains.

Training, validation and test files must not overlap; a bundle, checkpoint, picture or report is
written only where it replaces nothing of the user's (a bundle: see
:func:`rnnkit.io.bundle.check_bundle_target`).
"""

from __future__ import annotations

import codecs
import json
import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

from rnnkit.errors import ConfigError, DataError

#: A safetensors header larger than this is not read when telling whether a file is a checkpoint.
MAX_HEADER_BYTES = 64 << 20


# ------------------------------------------------------------------------ train/valid/test overlap
def check_disjoint(groups: Mapping[str, Sequence[Path | None]]) -> None:
    """Refuse a file that is in two groups (``{"TRAIN": [...], "--test": [...]}``), also when one
    is a directory holding the other or two names reach the same file (symlink, hard link)."""
    named = [(name, Path(p)) for name, paths in groups.items() for p in paths if p is not None]
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1 :]:
            if name_a != name_b:
                _check_pair(name_a, a, name_b, b)


def _check_pair(name_a: str, a: Path, name_b: str, b: Path) -> None:
    real_a, real_b = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    fix = "training, validation and test data must not overlap"
    if real_a == real_b or _same_file(a, b):
        raise DataError(f"{b} is given both as {name_a} and as {name_b}; {fix}: give it only once")
    if real_b.is_relative_to(real_a):
        raise DataError(f"{name_b} {b} is inside the {name_a} directory {a}; {fix}: move it out "
                        "or give other files")
    if real_a.is_relative_to(real_b):
        raise DataError(f"{name_a} {a} is inside the {name_b} directory {b}; {fix}: move it out "
                        "or give other files")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: the reader will say so
        return False


# ------------------------------------------------------------------------------------- outputs
def check_checkpoint_dir(checkpoint_dir: Path | None, out: Path) -> None:
    """Refuse a checkpoint directory where checkpoints would replace or mix with the user's files.

    Training writes ``checkpoint.safetensors`` there after every epoch (replacing an older one),
    so the path must be a directory or not exist yet, hold no such file that rnnkit did not write,
    and be neither the bundle directory nor inside it (the bundle is replaced at the end).
    """
    if checkpoint_dir is None:
        return
    from rnnkit.train.checkpoint import CHECKPOINT_NAME

    shown = f"--checkpoint-dir {checkpoint_dir}"
    real, real_out = Path(os.path.realpath(checkpoint_dir)), Path(os.path.realpath(out))
    if real.is_relative_to(real_out) or real_out.is_relative_to(real):
        raise ConfigError(f"{shown}: overlaps the bundle directory --out {out}; give a directory "
                          "outside it (default: OUT.checkpoints)")
    if os.path.lexists(checkpoint_dir) and not checkpoint_dir.is_dir():
        raise ConfigError(f"{shown}: exists and is not a directory; choose another path")
    existing = checkpoint_dir / CHECKPOINT_NAME
    if os.path.lexists(existing) and not is_rnnkit_checkpoint(existing):
        raise ConfigError(f"{shown}: holds a {CHECKPOINT_NAME} that rnnkit did not write (training "
                          "would replace it); choose another directory")
    check_writable(checkpoint_dir, "--checkpoint-dir")


def is_rnnkit_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a checkpoint file written by rnnkit (read from its header only)."""
    from rnnkit.train.checkpoint import CHECKPOINT_FORMAT

    try:
        with open(path, "rb") as fh:
            prefix = fh.read(8)
            if len(prefix) < 8:
                return False
            (size,) = struct.unpack("<Q", prefix)
            if size > MAX_HEADER_BYTES:
                return False
            header = json.loads(fh.read(size).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return isinstance(meta, dict) and meta.get("format") == CHECKPOINT_FORMAT


def check_output_dir(path: Path, option: str) -> None:
    """A directory that pictures or tables are written into: refuse a file, or no write access."""
    if os.path.lexists(path) and not path.is_dir():
        raise ConfigError(f"{option} {path}: exists and is not a directory; give a directory name")
    check_writable(path, option)


def check_output_file(path: Path, option: str, suffixes: tuple[str, ...]) -> None:
    """A file about to be written (a ``.png``, an ``.html``): refuse a directory, and an existing
    file of another kind (writing would replace the user's file)."""
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a directory; give a file name such as "
                          f"{path / ('output' + suffixes[0])}")
    if os.path.lexists(path) and path.suffix.lower() not in suffixes:
        raise ConfigError(f"{option} {path}: exists and is not a {suffixes[0]} file (writing would "
                          "replace it); choose another name")
    check_writable(path.parent, option)


def check_writable(path: Path, option: str) -> None:
    """Refuse a path whose nearest existing directory (itself or an ancestor) is not writable."""
    existing = Path(os.path.abspath(path))
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{option} {path}: {existing} is a file, not a directory; "
                          "choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: cannot write in {existing} (permission denied); "
                          "choose another path")


# ------------------------------------------------------------------------------------- encoding
def check_encoding(encoding: str) -> str:
    """The ``--encoding`` value if Python knows it; a one-line ConfigError otherwise."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(
            f"--encoding {encoding!r} is unknown; use e.g. utf-8, latin-1 or cp1252"
        ) from None
    return encoding
