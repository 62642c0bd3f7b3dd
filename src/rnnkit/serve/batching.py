"""Thread-safe inference with optional micro-batching.

A :class:`MicroBatcher` owns one worker thread per model. Requests hand it a list of items and get
a :class:`concurrent.futures.Future`; the worker takes every request already queued (and waits up to
``max_wait`` seconds for more, 0 by default: requests that arrive while a batch runs form the next
one), runs them together as one batch (eval mode, no grad: the task's ``predict_proba``), and
splits the result back. A request that arrives alone therefore pays no waiting time. With
``enabled=False`` every request runs alone, still one at a time, so a model is never used by two
threads at once.

Example:
    >>> import numpy as np
    >>> batcher = MicroBatcher(lambda items: np.array([[len(s)] for s in items]))
    >>> batcher.submit(["ab", "c"]).result().tolist()
    [[2], [1]]
    >>> batcher.close()
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from rnnkit.threads import GOVERNOR

BatchFn = Callable[[list[Any]], np.ndarray]


class MicroBatcher:
    """Group concurrent requests into batches of at most ``max_batch`` items.

    Args:
        fn: maps a list of items to an array with one row per item.
        max_batch: items per model call (a single larger request still runs whole).
        max_wait: seconds the worker waits for company after the first request arrives
            (0: only the requests already queued are grouped).
        enabled: False runs each request alone (same thread-safety, no grouping).
    """

    def __init__(self, fn: BatchFn, max_batch: int = 64, max_wait: float = 0.0,
                 enabled: bool = True) -> None:
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.enabled = enabled
        self.batches_run = 0
        self._queue: queue.Queue[tuple[list[Any], Future[np.ndarray]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="rnnkit-batcher", daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[Any]) -> Future[np.ndarray]:
        """Queue ``items``; the future's result has one row per item (or the model's exception)."""
        future: Future[np.ndarray] = Future()
        self._queue.put((list(items), future))
        return future

    def close(self) -> None:
        """Stop the worker after the requests already queued."""
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _collect(
        self, first: tuple[list[Any], Future[np.ndarray]]
    ) -> list[tuple[list[Any], Future[np.ndarray]]]:
        group = [first]
        if self.enabled:
            count = len(first[0])
            deadline = time.perf_counter() + self.max_wait
            while count < self.max_batch:
                left = deadline - time.perf_counter()
                try:
                    nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # let the outer loop see the stop signal
                    break
                group.append(nxt)
                count += len(nxt[0])
        return group

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = self._collect(first)
            # Requests whose caller gave up (timeout) are not computed.
            live = [(items, fut) for items, fut in group if fut.set_running_or_notify_cancel()]
            if not live:
                continue
            flat = [item for items, _ in live for item in items]
            try:
                GOVERNOR.tick()  # the thread policy, re-checked at most once a second
                result = self.fn(flat) if flat else np.zeros((0, 0))
            except BaseException as err:  # noqa: BLE001 - handed to every waiting caller
                for _, fut in live:
                    fut.set_exception(err)
                continue
            self.batches_run += 1
            start = 0
            for items, fut in live:
                fut.set_result(result[start:start + len(items)])
                start += len(items)
