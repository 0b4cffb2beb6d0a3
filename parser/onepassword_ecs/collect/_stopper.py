"""One stop flag for a run: set by SIGTERM/SIGINT, obeyed by every wait.

Every sleep in the collector (backoff, rate budget, poll interval) waits on the same
:class:`threading.Event`, so a signal ends a wait at once instead of after it. What is
in flight is not abandoned: an HTTP request finishes (its timeout bounds it), the page
is delivered, flushed and committed, and only then does the loop stop.
"""

from __future__ import annotations

import threading

__all__ = ["Interrupted", "Stopper"]


class Interrupted(Exception):
    """A wait was cut short because the run is stopping."""


class Stopper:
    """The run's stop flag and the only way the collector sleeps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def stop(self) -> None:
        self._event.set()

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
