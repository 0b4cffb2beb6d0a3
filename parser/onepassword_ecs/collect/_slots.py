"""At most N pages in memory at once, whatever the number of accounts.

Each account has its own thread; a page is fetched, parsed and converted, then waits
for the one delivery lock (the sinks and the state are shared). With 1,000-event
pages that is several MB per waiting account: the soak benchmark measured 12.7 MB per
account, 2.6 GB at 200 accounts. A page therefore needs a *slot*, taken after the
rate budget admitted its request (an account waiting for its budget holds no slot)
and given back once the page is delivered and committed, or its request failed.
Delivery is one page at a time anyway, so a handful of slots keeps the network
overlapped and the memory at ``slots x page`` instead of ``accounts x page``.
"""

from __future__ import annotations

import threading

from ._stopper import Interrupted, Stopper

__all__ = ["PageSlots", "Ticket"]


class PageSlots:
    """A counting semaphore whose waits end when the run is stopped."""

    def __init__(self, count: int, stopper: Stopper) -> None:
        self._semaphore = threading.BoundedSemaphore(max(1, count))
        self._stopper = stopper
        self.count = max(1, count)

    def ticket(self) -> Ticket:
        return Ticket(self)

    def _take(self) -> None:
        while not self._semaphore.acquire(timeout=0.1):
            if self._stopper.stopping:
                raise Interrupted
        if self._stopper.stopping:
            self._semaphore.release()
            raise Interrupted

    def _give(self) -> None:
        self._semaphore.release()


class Ticket:
    """One page's claim on a slot: taken at most once, given back at most once."""

    def __init__(self, slots: PageSlots) -> None:
        self._slots = slots
        self._held = False

    def take(self) -> None:
        if not self._held:
            self._slots._take()
            self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._give()
