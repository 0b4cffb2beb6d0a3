"""One stop flag for a run: set by SIGTERM/SIGINT, obeyed by every wait.

Every sleep in the collector (backoff, rate budget, poll interval) waits on the same
:class:`threading.Event`, so a signal ends a wait at once instead of after it. An HTTP
request in flight is cut (each client registers an abort with :meth:`Stopper.on_stop`):
its page was not delivered, so its cursor is not committed and nothing is lost. A page
already being delivered is finished, flushed and committed, and then the loop stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Interrupted", "Stopper"]


class Interrupted(Exception):
    """A wait was cut short because the run is stopping."""


class Stopper:
    """The run's stop flag and the only way the collector sleeps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._actions: dict[int, Callable[[], None]] = {}
        self._lock = threading.Lock()

    def stop(self) -> None:
        """Set the flag and run every registered abort (safe in a signal handler:
        the actions only shut sockets down)."""
        self._event.set()
        with self._lock:
            actions = list(self._actions.values())
        for action in actions:
            action()

    def on_stop(self, action: Callable[[], None]) -> Callable[[], None]:
        """Run ``action`` when the run is stopped; return the function that unregisters it."""
        key = id(action)
        with self._lock:
            self._actions[key] = action
        if self._event.is_set():
            action()

        def forget() -> None:
            with self._lock:
                self._actions.pop(key, None)

        return forget

    @property
    def stopping(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; raise :class:`Interrupted` if the run is told to stop."""
        if seconds > 0:
            self._event.wait(seconds)
        if self._event.is_set():
            raise Interrupted

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopped; say whether the run goes on."""
        if seconds > 0:
            self._event.wait(seconds)
        return not self._event.is_set()
