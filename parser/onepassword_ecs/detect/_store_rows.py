"""The store read through the narrow contract the detection engine needs.

The detection engine asks the store three things: how far arrivals have gone
(:func:`last_seq`), the few fields the rules read for a range of arrivals or of time
(:func:`rows`), and whole documents for the evidence of an alert (:func:`documents`).
The store answers them itself (``EventStore.last_seq``, ``.rows``, ``.documents``):
from its columns for every field the rule pack reads, decoding documents only for any
other field. These functions are the one place the engine names them, so the engine
depends on three calls, not on the store's tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..sinks import EventStore

__all__ = ["documents", "last_seq", "rows"]


def last_seq(store: EventStore) -> int:
    """The highest arrival sequence number in the store, 0 when it is empty."""
    return store.last_seq()


def rows(
    store: EventStore,
    fields: Sequence[str],
    *,
    after_seq: int | None = None,
    since_ns: int | None = None,
    until_ns: int | None = None,
    batch_size: int = 5000,
) -> Iterator[list[tuple[Any, ...]]]:
    """``(seq, event_id, ts_ns, value of each field...)`` in lists of ``batch_size``.

    ``seq > after_seq`` and ``since_ns <= ts_ns < until_ns``; ordered by arrival when
    ``after_seq`` is given, by time (then arrival) otherwise. Rows are fetched lazily,
    so memory holds one batch whatever the store's size.
    """
    return store.rows(
        fields, after_seq=after_seq, since_ns=since_ns, until_ns=until_ns, batch_size=batch_size
    )


def documents(store: EventStore, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The decoded documents of the given event ids (those the store holds)."""
    return store.documents(sorted(set(event_ids)))
