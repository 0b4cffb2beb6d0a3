"""One rate budget per account, shared by all its streams and by successive runs.

The Events API allows 600 requests a minute and 30,000 an hour. The budget is a
sliding-window log kept in the state database: before each request it counts the
requests of the last window (for every configured window) and waits until one more
fits. A window log, unlike a token bucket, can never let a burst exceed the count in
*any* window, and because the log is in the state file a cron job running ``--once``
every minute starts with the requests of the previous run already counted.

Each entry is first stamped when the request is sent and re-stamped when it completes,
so the next request is spaced from when the server *received* the earlier one, not
from when we queued it: network latency cannot squeeze more into the server's window.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ._config import RateLimit
from ._state import StateDb
from ._stopper import Stopper

__all__ = ["RateBudget"]


class RateBudget:
    """Admit requests for one account within every limit in ``limits``."""

    def __init__(
        self, state: StateDb, account: str, limits: Sequence[RateLimit], stopper: Stopper
    ) -> None:
        self._state = state
        self._account = account
        self._limits = tuple(limits)
        self._stopper = stopper
        self._horizon = max((limit.seconds for limit in self._limits), default=0.0)
        self.waited = 0.0

    def acquire(self) -> int:
        """Wait until a request fits, record it, and return its log entry."""
        while True:
            now = time.time()
            wait = 0.0
            with self._state.transaction() as db:
                db.execute(
                    "DELETE FROM requests WHERE account=? AND at < ?",
                    (self._account, now - self._horizon),
                )
                for limit in self._limits:
                    row = db.execute(
                        "SELECT at FROM requests WHERE account=? AND at > ? "
                        "ORDER BY at DESC LIMIT 1 OFFSET ?",
                        (self._account, now - limit.seconds, limit.count - 1),
                    ).fetchone()
                    if row is not None:
                        wait = max(wait, float(row[0]) + limit.seconds - now)
                if wait <= 0:
                    cursor = db.execute(
                        "INSERT INTO requests (account, at) VALUES (?, ?)", (self._account, now)
                    )
                    return int(cursor.lastrowid or 0)
            self.waited += wait
            self._stopper.sleep(wait + 0.001)

    def complete(self, entry: int) -> None:
        """The request is over: count it from now (never earlier than the server saw it)."""
        with self._state.transaction() as db:
            db.execute("UPDATE requests SET at=? WHERE id=?", (time.time(), entry))
