"""A whole-request deadline: one thread that cuts requests running past their time.

httpx's timeouts bound each network operation (connect, each read), not a request: a
server sending its answer one byte a second never lets a read time out, and kept
``collect --timeout 3s`` blocked for more than a minute. The client therefore arms
this watchdog with the request's deadline; if the request is still running then, the
watchdog shuts its socket down, the blocked read returns at once with an error, and
the client reports a timeout (retried like any other). One thread serves every
account (a heap of deadlines), so 200 accounts do not cost 200 timer threads.

The same cut serves SIGTERM: the run's :class:`~._stopper.Stopper` calls every
client's abort, so a stop never waits for a slow answer.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["Watchdog"]


class Watchdog:
    """Call a function at a monotonic deadline unless disarmed first."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._live: set[int] = set()
        self._numbers = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, action: Callable[[], None]) -> int:
        """Run ``action`` at ``deadline`` (``time.monotonic``); return a handle."""
        with self._wake:
            number = next(self._numbers)
            heapq.heappush(self._heap, (deadline, number, action))
            self._live.add(number)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="collect-watchdog", daemon=True
                )
                self._thread.start()
            self._wake.notify()
            return number

    def disarm(self, handle: int) -> None:
        with self._wake:
            self._live.discard(handle)

    def _watch(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)  # disarmed: forget it
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, number, action = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
                self._live.discard(number)
            action()  # outside the lock: an action may take a moment


WATCHDOG = Watchdog()
"""The process's one watchdog (its thread starts with the first request)."""
