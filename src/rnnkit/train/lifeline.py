"""Keep local worker processes, their temporary directories and their checkpoint from outliving
the run that started them.

:func:`rnnkit.train.distributed.run_workers` starts its workers from a fork server, so a worker's
parent is that server, not the main process: the kernel's parent-death signal alone cannot tell a
worker that the main process is gone (and the fork server itself lives on while workers hold its
"alive" pipe). These pieces cover every way a run can end:

- **Lifeline** (:class:`Lifeline`): a pipe whose write end only the main process holds. Each
  worker watches the read end in a thread; end of file means the main process has exited, however
  it died (even SIGKILL). The worker then removes the run's temporary directories and exits at once.
- **Parent-death signal** (:func:`die_with_parent`, Linux): a worker whose fork server is killed
  gets SIGKILL from the kernel, so it cannot go on training unseen.
- **Reaper** (:meth:`Lifeline.reap_on_death`): the fork server ends when the main process dies, so
  its workers' parent-death SIGKILL can strike before their lifeline thread has removed the
  directories. A small process (plain Python, no torch, its own session) holds another read end
  and removes them when the lifeline ends without the main process's "done" byte.
- **Owned temporary directories** (:class:`OwnedTempDir`): named ``rnnkit-<kind>-<pid>-*`` after
  the main process and removed when the run ends, normally or by an exception. When every process
  was killed at once (``kill -9`` of the whole process group, the OOM killer), nobody could clean
  up: the next run removes the directories of this user whose owner pid is no longer alive
  (:func:`remove_stale_tempdirs`). A process in another PID namespace sharing the same ``/tmp``
  can look dead; give such runs their own ``TMPDIR``.
- **Checkpoint lock** (:class:`CheckpointLock`): an ``flock`` on ``<checkpoint_dir>/.rnnkit.lock``
  taken by the main process and shared by every worker (the same open file), so it is held until
  the last process of the run has exited: a second run on the same checkpoint (``--resume`` right
  after a kill) is refused instead of training alongside survivors. A single-process
  :class:`rnnkit.train.Trainer` with a ``checkpoint_dir`` takes it too.
- **Signals** (:func:`signals_raise`): SIGTERM and SIGHUP to the main process raise
  :class:`Interrupted`, so ``finally`` blocks stop the workers and remove the directories; the CLI
  then exits with ``128 + signal`` (143 for SIGTERM), as a process killed by it would.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing import reduction
from pathlib import Path
from types import FrameType
from typing import Any

from rnnkit.errors import ConfigError, TrainingError
from rnnkit.io.atomic import remove_dirs

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock is skipped
    fcntl = None  # type: ignore[assignment]

#: Exit status of a worker that stopped because the main process is gone.
ORPHANED_EXIT_CODE = 70
LOCK_NAME = ".rnnkit.lock"
_PR_SET_PDEATHSIG = 1
_OWNED_DIR = re.compile(r"^rnnkit-(?:fit|workers)-(\d+)-")
#: The signals that end a run with :class:`Interrupted` (those this platform has).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


# ------------------------------------------------------------------------------ processes


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """``(state, start time in clock ticks)`` from ``/proc/<pid>/stat``; None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[19])


def _has_proc() -> bool:
    return Path("/proc/self/stat").is_file()


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie (exited, not yet reaped)."""
    if _has_proc():
        stat = _proc_stat(pid)
        return stat is not None and stat[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


@dataclass(frozen=True)
class ProcessId:
    """A pid plus its start time (Linux), so that a pid reused by another process is not taken
    for the worker it once was: such a process is never signalled."""

    pid: int
    started: int | None

    @classmethod
    def of(cls, pid: int) -> ProcessId:
        stat = _proc_stat(pid)
        return cls(pid, stat[1] if stat else None)

    def alive(self) -> bool:
        if self.started is None:
            return pid_alive(self.pid)
        stat = _proc_stat(self.pid)
        return stat is not None and stat[0] not in ("Z", "X") and stat[1] == self.started

    def signal(self, signum: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)


def die_with_parent(signum: int = getattr(signal, "SIGKILL", 9)) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent dies; False elsewhere.

    The parent is the process that forked this one (for forkserver workers, the fork server).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


# ------------------------------------------------------------------------------ file descriptors


class SharedFd:
    """A file descriptor handed to a child started by multiprocessing (spawn or forkserver): the
    child receives a duplicate of the same open file, so a pipe end or an ``flock`` is shared."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # DupFd works only while multiprocessing is starting a process (it sends the fd along).
        return (_received_fd, (reduction.DupFd(self.fd),))


def _received_fd(dup: Any) -> SharedFd:
    return SharedFd(dup.detach())


@dataclass
class WorkerGuard:
    """What a worker needs to die with the main process; call :meth:`engage` first thing."""

    lifeline: SharedFd | None
    cleanup: tuple[str, ...] = ()
    held: tuple[SharedFd, ...] = field(default_factory=tuple)
    main_pid: int = field(default_factory=os.getpid)

    def engage(self) -> None:
        """Die with the fork server (Linux), and with the main process: a thread waits for the
        lifeline's end of file, removes ``cleanup`` and ends this process."""
        # A child of the fork server; a spawned child of the main process leaves its death to the
        # lifeline, which (unlike the kernel's SIGKILL) removes the temporary directories first.
        if os.getppid() != self.main_pid:
            die_with_parent()
        if self.lifeline is None:
            return
        watcher = threading.Thread(
            target=_exit_when_closed, args=(self.lifeline.fd, self.cleanup),
            name="rnnkit-lifeline", daemon=True,
        )
        watcher.start()


def _exit_when_closed(fd: int, cleanup: tuple[str, ...]) -> None:
    try:
        while os.read(fd, 1):  # nothing is ever written: returns b"" when the main process is gone
            pass
    except OSError:
        return  # not a pipe we can watch: leave the worker to the other safeguards
    remove_dirs(cleanup)
    os._exit(ORPHANED_EXIT_CODE)


class Lifeline:
    """The pipe between the main process (write end, never written) and its workers (read ends).

    Use as a context manager in the main process; :meth:`guard` is what each worker gets;
    :meth:`started` drops the main process's read end once the workers have theirs.
    """

    def __init__(self) -> None:
        self._read: int | None = None
        self._write: int | None = None
        self._reaper: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Lifeline:
        if hasattr(reduction, "DupFd"):  # not on Windows, where workers go without a lifeline
            self._read, self._write = os.pipe()
        return self

    def guard(self, cleanup: Sequence[str] = (), held: Sequence[int] = ()) -> WorkerGuard:
        if self._read is None:
            return WorkerGuard(None, tuple(cleanup))
        return WorkerGuard(SharedFd(self._read), tuple(cleanup), tuple(SharedFd(fd) for fd in held))

    def reap_on_death(self, paths: Sequence[str]) -> None:
        """Start the reaper: when the main process dies without closing the lifeline through
        ``__exit__``, it removes ``paths`` (retrying for 2 s while dying workers still write)."""
        if self._read is None or not paths:
            return
        self._reaper = subprocess.Popen(
            [sys.executable, "-c", _REAPER, str(self._read), *paths], pass_fds=(self._read,),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to the terminal's process group must not end it
        )

    def started(self) -> None:
        if self._read is not None:
            os.close(self._read)
            self._read = None

    def __exit__(self, *exc: object) -> None:
        self.started()
        if self._write is not None:
            if self._reaper is not None:  # alive and cleaning up itself: the reaper stands down
                with contextlib.suppress(OSError):
                    os.write(self._write, b"d")
            os.close(self._write)  # workers still alive (none should be) see end of file
            self._write = None
        if self._reaper is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._reaper.wait(timeout=5)
            self._reaper = None


#: The reaper's whole program (rnnkit.io.atomic imports no torch): wait on the lifeline; end of
#: file with no "done" byte means the main process died, so remove the directories given.
_REAPER = """
import os, sys
from rnnkit.io.atomic import remove_dirs
if not os.read(int(sys.argv[1]), 1):
    remove_dirs(sys.argv[2:], tries=40)
"""


# ------------------------------------------------------------------------------ temporary dirs


def remove_stale_tempdirs(root: str | None = None) -> list[str]:
    """Remove ``rnnkit-fit-<pid>-*``/``rnnkit-workers-<pid>-*`` of this user whose pid is dead.

    They are left by runs whose every process was killed at once; returns the removed names.
    """
    base = Path(root or tempfile.gettempdir())
    removed: list[str] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        match = _OWNED_DIR.match(entry.name)
        if match is None or int(match.group(1)) == os.getpid() or pid_alive(int(match.group(1))):
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        if (uid is not None and info.st_uid != uid) or not entry.is_dir() or entry.is_symlink():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry.name)
    return removed


class OwnedTempDir:
    """``rnnkit-<kind>-<pid>-*`` in the temporary directory, removed on exit (stale ones of dead
    runs are removed on entry)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.path = ""

    def __enter__(self) -> str:
        remove_stale_tempdirs()
        self.path = tempfile.mkdtemp(prefix=f"rnnkit-{self.kind}-{os.getpid()}-")
        return self.path

    def __exit__(self, *exc: object) -> None:
        remove_dirs([self.path])


# ------------------------------------------------------------------------------ checkpoint lock


class CheckpointLock:
    """Exclusive use of a checkpoint directory by one run, its main process and its workers.

    Holds ``flock`` on ``<directory>/.rnnkit.lock`` (which records the owner's pid); workers get
    the same open file through :meth:`Lifeline.guard` (``held=lock.fds``), so the lock lasts
    until the last process of the run has exited. ``directory=None``: no lock. The lock file is
    removed at a normal end; one left by a killed run is taken over by the next.
    """

    def __init__(self, directory: str | os.PathLike[str] | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._fd: int | None = None
        self._created: list[Path] = []

    @property
    def fds(self) -> tuple[int, ...]:
        return () if self._fd is None else (self._fd,)

    def __enter__(self) -> CheckpointLock:
        if self.directory is None or fcntl is None:
            return self
        self._created = [p for p in (self.directory, *self.directory.parents) if not p.exists()]
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                f"checkpoint directory {self.directory}: cannot create it ({err.strerror or err}); "
                "give a writable --checkpoint-dir"
            ) from None
        self._fd = self._lock(self.directory / LOCK_NAME)
        return self

    def _lock(self, path: Path) -> int | None:
        """The locked file's descriptor; None where the file system cannot lock (run unlocked)."""
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise ConfigError(
                    f"checkpoint directory {self.directory}: cannot write in it "
                    f"({err.strerror or err}); give a writable --checkpoint-dir"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                os.close(fd)
                raise self._busy(owner) from None
            except OSError:  # e.g. ENOLCK on a network file system without locking
                os.close(fd)
                with contextlib.suppress(OSError):
                    path.unlink()
                return None
            # the holder may have removed the file between our open and flock: take the new one
            try:
                if os.fstat(fd).st_ino == path.stat().st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        return fd

    def _busy(self, owner: str) -> TrainingError:
        if owner.isdigit() and not pid_alive(int(owner)):
            who = (
                f"the workers of an ended run (pid {owner}) that are still stopping; try again in "
                "a few seconds"
            )
        else:
            who = f"another training run (pid {owner or '?'}); wait for it to end or stop it"
        return TrainingError(
            f"checkpoint directory {self.directory} is in use by {who}, "
            "or give another --checkpoint-dir"
        )

    def __exit__(self, *exc: object) -> None:
        if self.directory is None:
            return
        if self._fd is not None:
            with contextlib.suppress(OSError):
                (self.directory / LOCK_NAME).unlink()
            os.close(self._fd)  # the lock ends when the workers' copies are closed too
            self._fd = None
        for created in self._created:  # nothing was checkpointed: leave no empty directory behind
            try:
                created.rmdir()
            except OSError:
                break


# ------------------------------------------------------------------------------ signals


class Interrupted(TrainingError):
    """The main process got SIGTERM or SIGHUP during a run; its workers were stopped.

    ``exit_status`` (128 + the signal number) is the status a process killed by it reports.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_status = 128 + signum
        super().__init__(
            f"training stopped by {signal.Signals(signum).name}; every worker process was stopped "
            "and its temporary files removed. Resume from the last checkpoint with --resume "
            "(fit(..., resume=True))"
        )


@contextlib.contextmanager
def signals_raise(signums: Sequence[int] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, the first of ``signums`` raises :class:`Interrupted` (later ones are
    ignored while the cleanup runs). Only signals left at their default action are taken over
    (not one ignored by ``nohup`` or handled by the application), and only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def raise_interrupted(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if not fired:
            fired = True
            raise Interrupted(signum)

    previous = {}
    for signum in signums:
        if signal.getsignal(signum) is signal.SIG_DFL:
            previous[signum] = signal.signal(signum, raise_interrupted)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


__all__ = [
    "CheckpointLock",
    "Interrupted",
    "Lifeline",
    "OwnedTempDir",
    "ProcessId",
    "WorkerGuard",
    "die_with_parent",
    "pid_alive",
    "remove_stale_tempdirs",
    "signals_raise",
]
