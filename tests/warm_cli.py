"""``python -m rnnkit ARGS`` for the tests, forked from a warm interpreter.

A fresh ``python -m rnnkit`` spends 2-5 s before the command starts: importing torch, the
``torch._dynamo`` that torch's optimizers pull in, numba and matplotlib. The CLI tests start a
few hundred such processes, so :func:`run_rnnkit` starts, per environment, one *warm* interpreter
that has imported those third-party packages (never rnnkit: every child imports rnnkit afresh, so
its lazy imports and registrations are exercised as in a real run), and forks it for each command:

* the child is a new process with the test's environment, working directory, stdin and fresh
  pipes as stdout and stderr; it runs ``rnnkit`` as ``__main__`` exactly as ``python -m`` does
  (``runpy._run_module_as_main``) and ends through the interpreter's normal exit (uncaught
  exceptions print their traceback, ``atexit`` runs, stdout is flushed);
* the result is a :class:`subprocess.CompletedProcess` as ``subprocess.run(..., text=True,
  capture_output=True)`` returns it (same ``args``, universal newlines, ``TimeoutExpired``).

What differs from a cold start, and how it is kept from hiding a failure:

* output printed while the warm interpreter imports (a deprecation warning, say) would not reach
  the child: a warm interpreter that printed anything is not used (cold subprocesses instead);
* environment variables read at import time (``OMP_NUM_THREADS``, ``MPLBACKEND``...): one warm
  interpreter per distinct environment (``PYTEST_CURRENT_TEST`` aside), started with it; an
  environment seen once runs cold, the warm one starts at its second command;
* children of one warm interpreter share its string-hash seed (``PYTHONHASHSEED``), where cold
  processes each draw their own;
* the modules of the warm interpreter are already in ``sys.modules``: tests about what a command
  imports (tests/cli/test_cli_startup.py) run cold processes of their own.

``RNNKIT_TEST_COLD_CLI=1`` makes every call a plain ``subprocess.run`` (to compare, or debug).
"""

from __future__ import annotations

import atexit
import gc
import json
import locale
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence

#: Third-party modules the warm interpreter imports (the ones a command spends its start on).
PRELOAD = ("numpy", "torch", "torch._dynamo", "numba", "numba.core.registry", "matplotlib",
           "matplotlib.pyplot", "pandas", "typer", "pydantic", "rich", "safetensors.torch",
           "scipy", "sacrebleu", "yaml", "tabulate", "charset_normalizer")
COLD_SWITCH = "RNNKIT_TEST_COLD_CLI"
#: Not part of an environment's identity: it changes with every test and is read by no import.
_VOLATILE = ("PYTEST_CURRENT_TEST",)


def run_rnnkit(
    args: Sequence[str | os.PathLike[str]], *, env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None, input: str | None = None, timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """What ``subprocess.run([sys.executable, "-m", "rnnkit", *args], capture_output=True,
    text=True, env=env, cwd=cwd, input=input, timeout=timeout)`` returns, from a warm fork."""
    words = [str(a) for a in args]
    env = dict(os.environ if env is None else env)
    warm = None if os.environ.get(COLD_SWITCH) == "1" else _warm_for(env)
    if warm is None:
        return subprocess.run([sys.executable, "-m", "rnnkit", *words], capture_output=True,
                              text=True, env=env, cwd=cwd, input=input, timeout=timeout,
                              check=False)
    return warm.run(words, env, os.fspath(cwd) if cwd is not None else os.getcwd(), input,
                    timeout)


# ------------------------------------------------------------------------------- client side
_SEEN: dict[frozenset[tuple[str, str]], int] = {}
_WARM: dict[frozenset[tuple[str, str]], _Warm] = {}
#: Environments whose warm interpreter printed while importing or started a thread: run cold.
_REFUSED: set[frozenset[tuple[str, str]]] = set()


def _warm_for(env: dict[str, str]) -> _Warm | None:
    key = frozenset((k, v) for k, v in env.items() if k not in _VOLATILE)
    _SEEN[key] = _SEEN.get(key, 0) + 1
    if _SEEN[key] < 2 or key in _REFUSED:
        return None  # a one-off environment: a warm interpreter would cost more than it saves
    warm = _WARM.get(key)
    if warm is None or not warm.alive():
        started = _Warm.start(env)
        if started is None:
            _REFUSED.add(key)
            return None
        warm = _WARM[key] = started
    return warm


class _Warm:
    """The client's handle on one warm interpreter: a socket to it and its process."""

    def __init__(self, proc: subprocess.Popen[bytes], sock: socket.socket) -> None:
        self.proc, self.sock, self.lock = proc, sock, threading.Lock()

    @classmethod
    def start(cls, env: dict[str, str]) -> _Warm | None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with tempfile.TemporaryFile() as noise:
            proc = subprocess.Popen(
                [sys.executable, __file__, str(theirs.fileno())], env=env,
                cwd=tempfile.gettempdir(), stdin=subprocess.DEVNULL, stdout=noise, stderr=noise,
                pass_fds=[theirs.fileno()],
            )
            theirs.close()
            warm = cls(proc, ours)
            try:
                ready = _readline(ours)
            except RuntimeError:  # it ended early (see _serve)
                ready = ""
            noise.seek(0)
            printed = noise.read()
        if ready != "ready" or printed:
            warm.close()
            return None
        atexit.register(warm.close)
        return warm

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def run(self, words: list[str], env: dict[str, str], cwd: str, input: str | None,
            timeout: float) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "rnnkit", *words]
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if input is not None else (_our_stdin(), -1)
        request = json.dumps({"argv": words, "env": env, "cwd": cwd}).encode() + b"\n"
        with self.lock:
            socket.send_fds(self.sock, [request], [in_r, out_w, err_w])
            for fd in (out_w, err_w, *([in_r] if in_r != 0 else [])):
                os.close(fd)
            pid = int(_readline(self.sock))
            if input is not None:
                threading.Thread(target=_feed, args=(in_w, input), daemon=True).start()
            outputs = _collect(out_r, err_r)
            self.sock.settimeout(timeout)
            try:
                status = int(_readline(self.sock))
            except TimeoutError:  # nothing of the status line had come: none is lost
                os.kill(pid, signal.SIGKILL)
                self.sock.settimeout(None)
                _readline(self.sock)
                out, err = (_text(b) for b in _finish(outputs))
                raise subprocess.TimeoutExpired(command, timeout, out, err) from None
            self.sock.settimeout(None)
        out, err = (_text(b) for b in _finish(outputs))
        return subprocess.CompletedProcess(command, status, out, err)


def _readline(sock: socket.socket) -> str:
    """One short ``\\n``-ended message (a pid, an exit status, ``ready``)."""
    data = b""
    while not data.endswith(b"\n"):
        byte = sock.recv(1)
        if not byte:
            raise RuntimeError("the warm rnnkit interpreter went away")
        data += byte
    return data.decode().strip()


def _our_stdin() -> int:
    """Our stdin, which a child of ``subprocess.run`` inherits; /dev/null when we have none."""
    try:
        os.fstat(0)
    except OSError:
        return os.open(os.devnull, os.O_RDONLY)
    return 0


def _feed(fd: int, text: str) -> None:
    with open(fd, "w", encoding=locale.getpreferredencoding(False)) as pipe:
        try:
            pipe.write(text)
        except BrokenPipeError:
            pass


def _collect(*fds: int) -> list[tuple[threading.Thread, list[bytes]]]:
    """Read each pipe to its end in a thread (as ``communicate`` does: no pipe fills up)."""
    found = []
    for fd in fds:
        chunks: list[bytes] = []

        def read(fd: int = fd, chunks: list[bytes] = chunks) -> None:
            with open(fd, "rb", buffering=0) as pipe:
                while block := pipe.read(65536):
                    chunks.append(block)

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        found.append((thread, chunks))
    return found


def _finish(outputs: list[tuple[threading.Thread, list[bytes]]]) -> list[bytes]:
    for thread, _ in outputs:
        thread.join()
    return [b"".join(chunks) for _, chunks in outputs]


def _text(data: bytes) -> str:
    """Decoded as ``subprocess.run(text=True)`` does: locale encoding, universal newlines."""
    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ------------------------------------------------------------------------------- server side
def _serve(fd: int) -> dict[str, object]:
    """Import :data:`PRELOAD`, then fork a child per request; returns only in a child, with its
    request (the parent answers requests until the client closes the socket)."""
    sock = socket.socket(fileno=fd)
    import numpy  # noqa: F401  (OpenBLAS starts its threads here: those are fork-safe)

    threads_before = len(os.listdir("/proc/self/task"))
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    if len(os.listdir("/proc/self/task")) != threads_before:  # a thread that fork would lose
        os._exit(3)
    sys.stdout.flush()
    sys.stderr.flush()
    gc.collect()
    gc.freeze()  # the children's collections then skip (and do not copy) what was preloaded
    sock.sendall(b"ready\n")
    while True:
        line, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
        if not line:
            os._exit(0)
        while not line.endswith(b"\n"):
            line += sock.recv(1 << 20)
        pid = os.fork()
        if pid == 0:
            sock.close()
            for target, fd_in in enumerate(fds):
                os.dup2(fd_in, target)
                os.close(fd_in)
            return json.loads(line)
        for fd_in in fds:
            os.close(fd_in)
        sock.sendall(f"{pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        sock.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())


def _become_the_command(request: dict[str, object]) -> None:
    """Turn this forked child into ``python -m rnnkit ARGV`` started in ``cwd`` with ``env``."""
    import runpy
    import types

    env = request["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(str(request["cwd"]))
    argv = [str(a) for a in request["argv"]]  # type: ignore[attr-defined]
    sys.argv = ["-m", *argv]
    sys.orig_argv = [sys.executable, "-m", "rnnkit", *argv]
    sys.path[0] = os.getcwd()  # what `python -m` puts first
    sys.modules["__main__"] = types.ModuleType("__main__")
    runpy._run_module_as_main("rnnkit", alter_argv=True)  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.path[0] = tempfile.gettempdir()  # not tests/: the child's sys.path is set as -m sets it
    _become_the_command(_serve(int(sys.argv[1])))
