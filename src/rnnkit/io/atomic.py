"""Crash-safe file and directory writes.

A reader must never see a half-written file: every write goes to a temporary name in the same
directory, is flushed and fsynced, then renamed over the target with :func:`os.replace` (atomic on
POSIX and Windows), and finally the directory itself is fsynced so the rename survives a power cut.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(d / "hello.txt", "hi\\n")
    >>> (d / "hello.txt").read_text()
    'hi\\n'
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

TMP_MARKER = ".tmp-"


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a directory entry to disk (a no-op where directories cannot be opened, e.g. Windows).
    """
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_sibling(path: str | os.PathLike[str]) -> Path:
    """A fresh hidden name next to ``path``: ``.<name>.tmp-<pid>-<random>``."""
    target = Path(path)
    return target.with_name(f".{target.name}{TMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}")


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str, *, encoding: str = "utf-8"
) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either the old or the new content, never a
    mix.

    ``str`` data is encoded with ``encoding``. The parent directory must exist.
    """
    target = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    tmp = temp_sibling(target)
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)


def remove_stale_temps(path: str | os.PathLike[str]) -> int:
    """Delete temporary siblings of ``path`` left behind by a killed writer; returns how many.

    Only files written by processes that are no longer alive are removed, so a concurrent writer's
    temporary file is left alone.
    """
    target = Path(path)
    prefix = f".{target.name}{TMP_MARKER}"
    removed = 0
    if not target.parent.is_dir():
        return 0
    for entry in target.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if pid_text.isdigit() and (int(pid_text) == os.getpid() or _pid_alive(int(pid_text))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True




def remove_dirs(paths: Sequence[str], tries: int = 3) -> None:
    """Remove directories a dying peer may still be writing into: ``tries`` rounds 50 ms apart,
    errors ignored."""
    for _ in range(tries):
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)
        if not any(os.path.exists(p) for p in paths):
            return
        time.sleep(0.05)


__all__ = ["atomic_write", "fsync_dir", "temp_sibling", "remove_stale_temps", "remove_dirs"]
