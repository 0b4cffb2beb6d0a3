"""The Events API as a :class:`~onepassword_ecs.stream.Source`: one chunk per page.

A :class:`EventsSource` reads one stream of one account from its stored cursor (or a
ResetCursor from the stream's start time on the first run) and yields each page as a
:class:`PageChunk`, whose origin ``{"stream": ..., "cursor": ...}`` names the cursor
that fetched the page, so a rejected record's error line says where to find it again.
The consumer delivers the chunk, flushes, and commits ``next_cursor``; only then does
the source ask for the next page.

When a cycle ends (pagination rules from the API's documentation and from other
collectors' bugs):

* ``has_more=false``: caught up.
* an empty page whose cursor did not change: caught up, whatever ``has_more`` says
  (the API answers this way when there is nothing new).
* an empty page with ``has_more=true`` and a new cursor is *not* the end.
* after ``pages_per_cycle`` pages, the cycle yields to the account's other streams;
  if every one of those pages was empty, the stream counts as caught up for this
  cycle, so an API that keeps answering ``has_more=true`` with nothing cannot keep
  ``--once`` running for ever (the cursor has moved on; the next cycle resumes there).

* a page whose every record was delivered before (``has_more=true``, a new cursor,
  the same items again) brings nothing new; after ``max_stale_pages`` such pages in a
  row (counted across cycles) the source gives up (``stale``): an API that repeats
  itself must not spend the whole rate budget, nor keep ``--once`` running for ever.
  The bound is generous because a cursor reset legitimately re-reads the overlap.

A page holds one of the run's :class:`~._slots.PageSlots` from its request until the
consumer has delivered it (the generator resumes), which bounds the pages in memory
across all accounts.

Records whose uuid was delivered within the recent window (see ``seen`` in
:mod:`._state`) are dropped before conversion and counted as duplicates: after a
cursor reset the overlap is fetched again, and nothing in it is delivered twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from ..mapping import Dataset
from ..stream import Chunk, Unit
from ._client import EventsClient
from ._config import ENDPOINTS
from ._slots import PageSlots
from ._state import StateDb, StreamKey, utc_text
from ._stopper import Stopper

__all__ = ["EventsSource", "PageChunk", "event_time"]


@dataclass(frozen=True)
class PageChunk(Chunk):
    """A page's records as a chunk, with what the commit after it needs."""

    next_cursor: str
    seen: list[tuple[str, str]]
    duplicates: int


def event_time(record: Any) -> str | None:
    """A record's ``timestamp`` as fixed-width UTC text, or None if it has no valid one."""
    value = record.get("timestamp") if isinstance(record, dict) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    # Python 3.11 reads at most 6 fraction digits; the API sends up to 9.
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return utc_text(moment) if moment.tzinfo is not None else None


class EventsSource:
    """Pages of one stream, from its cursor, for one polling cycle."""

    def __init__(
        self,
        client: EventsClient,
        state: StateDb,
        key: StreamKey,
        dataset: Dataset,
        *,
        page_size: int,
        pages_per_cycle: int,
        until: str | None,
        stopper: Stopper,
        stale_pages: int = 0,
        max_stale_pages: int = 0,
        slots: PageSlots | None = None,
    ) -> None:
        """``stale_pages``: pages in a row that brought nothing new before this cycle;
        ``max_stale_pages``: how many are tolerated (0: no bound)."""
        self._client = client
        self._state = state
        self._key = key
        self._dataset = dataset
        self._page_size = page_size
        self._pages_per_cycle = pages_per_cycle
        self._until = until
        self._stopper = stopper
        self.caught_up = False
        self.pages = 0
        self.stale_pages = stale_pages
        self._max_stale_pages = max_stale_pages
        self.stale = False
        self._slots = slots

    def _reset_body(self, start_time: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"limit": self._page_size}
        if start_time:
            body["start_time"] = start_time.replace("+00:00", "Z")
        if self._until:
            body["end_time"] = self._until.replace("+00:00", "Z")
        return body

    def _prepare(self, items: list[Any]) -> tuple[list[Unit], list[tuple[str, str]], int]:
        uuids = [i["uuid"] for i in items if isinstance(i, dict) and isinstance(i.get("uuid"), str)]
        known = self._state.already_seen(self._key, uuids)
        units: list[Unit] = []
        seen: list[tuple[str, str]] = []
        duplicates = 0
        for position, item in enumerate(items, 1):
            uuid = item.get("uuid") if isinstance(item, dict) else None
            if isinstance(uuid, str):
                if uuid in known:
                    duplicates += 1
                    continue
                when = event_time(item)
                if when is not None:
                    known.add(uuid)
                    seen.append((uuid, when))
            units.append((position, orjson.dumps(item)))
        return units, seen, duplicates

    def __iter__(self) -> Iterator[PageChunk]:
        state = self._state.stream(self._key)
        if state is None:
            raise RuntimeError(f"no state row for {self._key}")
        cursor = state.cursor
        endpoint = ENDPOINTS[self._dataset]
        items_seen = 0
        while self.pages < self._pages_per_cycle and not self._stopper.stopping:
            body = {"cursor": cursor} if cursor else self._reset_body(state.start_time)
            ticket = self._slots.ticket() if self._slots is not None else None
            try:
                page = self._client.page(self._key.api_version, endpoint, body, ticket)
                self.pages += 1
                items_seen += len(page.items)
                units, seen, duplicates = self._prepare(page.items)
                origin = {"stream": self._dataset.value, "cursor": cursor or "(reset)"}
                yield PageChunk(origin, units, page.cursor, seen, duplicates)
            finally:  # delivered and committed (or abandoned): the next page may come in
                if ticket is not None:
                    ticket.release()
            # Drop the page before waiting for the next one: an account waiting for its
            # budget or a slot must not keep a delivered page alive.
            has_more, items_on_page, next_cursor = page.has_more, bool(page.items), page.cursor
            new_on_page = bool(units)
            del page, units, seen
            if items_on_page and not new_on_page:
                self.stale_pages += 1
            elif items_on_page:
                self.stale_pages = 0
            if self._max_stale_pages and self.stale_pages >= self._max_stale_pages:
                self.stale = True
                return
            ended = not has_more or (not items_on_page and next_cursor == cursor)
            cursor = next_cursor
            if ended:
                self.caught_up = True
                return
        if self.pages >= self._pages_per_cycle and items_seen == 0:
            self.caught_up = True
