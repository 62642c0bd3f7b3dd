"""Helpers for the serving tests: synthetic reviews, a free port, uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np

POSITIVE = ["good", "great", "fine", "wonderful", "lovely", "superb"]
NEGATIVE = ["bad", "awful", "dull", "terrible", "boring", "poor"]
FILLER = ["the", "film", "plot", "acting", "was", "a", "and", "story", "cast"]


def review_data(n: int = 240, seed: int = 0) -> tuple[list[str], list[str]]:
    """Short reviews whose label is given by one sentiment word among fillers."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = list(rng.choice(FILLER, size=int(rng.integers(2, 6))))
        words.insert(int(rng.integers(0, len(words) + 1)),
                     str(rng.choice(POSITIVE if label == "pos" else NEGATIVE)))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The app served as ``rnnkit serve`` serves it (pre-bound socket, guarded protocol) by
    uvicorn in a background thread, on a free loopback port."""

    def __init__(self, app: object, limits: object = None) -> None:
        from rnnkit.serve import ServeLimits
        from rnnkit.serve.server import bind_listener, make_server

        self.listener = bind_listener("127.0.0.1", 0)
        self.port = int(self.listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server(app, limits or ServeLimits())
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.listener]},
                                       daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start within 20 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.listener.close()
