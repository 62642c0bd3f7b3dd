"""Running the app under uvicorn: a socket bound before anything is announced, a read timeout
for whole requests, and a cap on open connections.

uvicorn's HTTP/1.1 protocol (h11) closes idle keep-alive connections, but a client that sends
half a request line, or headers one byte at a time, or a body shorter than its Content-Length,
holds its connection (and a task waiting for the body) for ever. :class:`GuardedH11Protocol`
gives every request ``read_timeout_seconds`` from the moment the connection opens (or the
previous answer ends) to arrive whole, and answers requests on connections beyond
``max_connections`` with a 503 JSON error.

Example:
    >>> listener = bind_listener("127.0.0.1", 0)
    >>> 0 < listener.getsockname()[1] < 65536
    True
    >>> listener.close()
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
from typing import Any

import h11
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from rnnkit.errors import ConfigError
from rnnkit.serve.schemas import ServeLimits


def check_port(port: int) -> None:
    """A TCP port number, or 0 for "any free port" (ConfigError otherwise)."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: give a TCP port between 1 and 65535 (or 0 for any "
                          "free port)")


def bind_listener(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one), or one ConfigError line.

    Binding before the server starts lets ``rnnkit serve`` report a busy port in one line, and
    announce the address only once it really listens."""
    check_port(port)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as err:
        raise ConfigError(f"--host {host}: cannot resolve it ({err}); give an address such as "
                          "127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as err:
        sock.close()
        raise ConfigError(_bind_problem(host, port, err)) from None
    sock.setblocking(False)
    return sock


def _bind_problem(host: str, port: int, err: OSError) -> str:
    if err.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another server?); stop it or choose "
                "another port with --port N (--port 0 picks a free one)")
    if err.errno == errno.EACCES:
        return (f"not allowed to listen on port {port} of {host} (ports below 1024 need "
                "privileges); choose a port above 1023 with --port N")
    if err.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine; use 127.0.0.1 or one of its own"
    return f"cannot listen on {host} port {port}: {err.strerror or err}; check --host and --port"


def _raw_response(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 response with the API's JSON error body; the connection then closes."""
    body = json.dumps({"error": message, "status": status}, separators=(",", ":")).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a read deadline per request and a connection cap.

    Use :func:`guarded_protocol` to get a subclass with the limits filled in."""

    read_timeout: float = ServeLimits.read_timeout_seconds
    max_connections: int = ServeLimits.max_connections

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._request_started = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            # Read the request (so the client sees the answer, not a reset), then refuse it.
            self.app = self._busy
        self._arm_read_deadline()

    def data_received(self, data: bytes) -> None:
        self._request_started = self._request_started or bool(data)
        super().data_received(data)
        state = self.conn.their_state
        if state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
            self._cancel_read_deadline()  # the whole request is in; the model may take its time
        elif state is h11.IDLE and not self.conn.trailing_data[0]:
            # Between requests (the body of an early-answered request just ended): start afresh.
            self._cancel_read_deadline()
            self._request_started = False
            self._arm_read_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is not h11.DONE:
            self._request_started = bool(self.conn.trailing_data[0])
            self._arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_deadline()
        super().connection_lost(exc)

    def _arm_read_deadline(self) -> None:
        if self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _cancel_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and self.cycle.response_started and \
            not self.cycle.response_complete
        if self._request_started and not answering:
            self.transport.write(_raw_response(
                408, "Request Timeout", f"the request did not arrive whole within "
                f"{self.read_timeout:g} s; send it at once (the server's --read-timeout)"))
        self.transport.close()  # connection_lost() then tells a waiting app it is disconnected

    async def _busy(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (f"the server has {self.max_connections} open connections, its limit; try "
                   "again shortly (the server's --max-connections)")
        body = json.dumps({"error": message, "status": 503}, separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def guarded_protocol(limits: ServeLimits) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` subclass using ``limits``' read timeout and connection cap."""
    return type("RnnkitH11Protocol", (GuardedH11Protocol,),
                {"read_timeout": limits.read_timeout_seconds,
                 "max_connections": limits.max_connections})


def make_server(app: Any, limits: ServeLimits, log_level: str = "warning") -> Any:
    """A ``uvicorn.Server`` for ``app``; start it with ``.run(sockets=[bind_listener(...)])``."""
    import uvicorn

    config = uvicorn.Config(app, http=guarded_protocol(limits), log_level=log_level,
                            proxy_headers=False)
    return uvicorn.Server(config)
