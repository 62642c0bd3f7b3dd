"""A warm `rnnkit` for tests that run many commands: one interpreter imports torch, rnnkit, pandas,
matplotlib, FastAPI and the numba kernels once, then forks a fresh child per command.

Each command still runs in its own process, with the caller's stdin/stdout/stderr (passed over a
Unix socket), working directory, environment and argv, through ``rnnkit.cli.main`` as the console
script does; only the seconds of imports and kernel loading are paid once instead of per command.

    server = WarmRnnkit.start(tmp_path / "rnnkit.sock")
    subprocess.run([*server.client, "text", "predict", "bundle", "a fine film"])
    server.stop()

Run as a script: ``warm_rnnkit.py serve SOCKET`` (the server) or ``warm_rnnkit.py SOCKET ARGS...``
(the client: exits with the command's status; SIGTERM/SIGINT are passed on to the command).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

STATUS = struct.Struct("!i")
#: Modules the commands of a test would import; imported once by the server.
PRELOAD = [
    "torch", "torch._dynamo", "numpy", "pandas", "matplotlib.pyplot", "sacrebleu", "fastapi",
    "uvicorn", "rnnkit.cli", "rnnkit.tasks.text", "rnnkit.tasks.sequence", "rnnkit.tasks.forecast",
    "rnnkit.tasks.language_model", "rnnkit.tasks.translation", "rnnkit.serve.app", "rnnkit.viz",
]


@dataclass
class WarmRnnkit:
    """A running server; ``client`` is the command line that runs ``rnnkit ARGS`` through it."""

    process: subprocess.Popen[bytes]
    socket_path: Path

    @classmethod
    def start(cls, socket_path: Path, env: dict[str, str], timeout: float = 300) -> WarmRnnkit:
        """Start the server (its imports take the seconds the commands then save)."""
        process = subprocess.Popen([sys.executable, __file__, "serve", str(socket_path)], env=env,
                                   stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not socket_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"warm rnnkit did not start: {process.communicate()[1]!r}")
            time.sleep(0.05)
        return cls(process, socket_path)

    @property
    def client(self) -> list[str]:
        # -I -S: the client imports only the standard library and starts in milliseconds.
        return [sys.executable, "-I", "-S", __file__, str(self.socket_path)]

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


# ------------------------------------------------------------------------------------ the server
def serve(socket_path: str) -> None:
    import importlib
    import threading

    for name in PRELOAD:
        importlib.import_module(name)
    _load_kernels()
    # fork() copies one thread: a preload that started others would leave locks held in children.
    assert threading.active_count() == 1, threading.enumerate()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".tmp")
    listener.listen(8)
    os.replace(socket_path + ".tmp", socket_path)  # the client may connect once the name exists
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        connection, _ = listener.accept()
        with connection:
            _run_one(connection, listener)


def _load_kernels() -> None:
    """Compile (or load from numba's disk cache) the recurrent kernels once, on one thread."""
    import torch

    from rnnkit.nn.kernels import dispatch

    for kind in ("rnn", "gru", "lstm"):
        dispatch.kernels_for(kind, torch.float32)


def _run_one(connection: socket.socket, listener: socket.socket) -> None:
    message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    request = json.loads(message)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the command
        listener.close()
        connection.close()
        _child(request, fds)
    for fd in fds:
        os.close(fd)
    connection.sendall(STATUS.pack(pid))
    _, status = os.waitpid(pid, 0)
    connection.sendall(STATUS.pack(os.waitstatus_to_exitcode(status)))


def _child(request: dict, fds: list[int]) -> None:
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["rnnkit", *request["argv"]]
        from rnnkit.cli import main

        try:
            main(request["argv"])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported like an uncaught exception in the console script
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a reader that went away (`| head -2`)
                pass
        os._exit(code)


# ------------------------------------------------------------------------------------ the client
def client(socket_path: str, argv: list[str]) -> int:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(socket_path)
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
    pid = STATUS.unpack(_receive(connection, STATUS.size))[0]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _frame: os.kill(pid, number))
    return int(STATUS.unpack(_receive(connection, STATUS.size))[0])


def _receive(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise SystemExit("warm rnnkit server went away")
        data += chunk
    return data


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        sys.exit(client(sys.argv[1], sys.argv[2:]))
