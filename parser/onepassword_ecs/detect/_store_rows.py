"""The store read through the narrow contract the detection engine needs.

The detection engine asks the store three things: how far arrivals have gone
(:func:`last_seq`), the few fields the rules read for a range of arrivals or of time
(:func:`rows`), and whole documents for the evidence of an alert (:func:`documents`).
The store room is growing these as methods of ``EventStore`` (with columns for every
field the rule pack reads); until then this shim implements the same contract over
today's schema: the store's own columns where it has them, ``json_extract`` on the
stored document for the rest. Once ``EventStore`` has the methods, these functions
become one-line calls to them and nothing else in the room changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from ..sinks import EventStore

__all__ = ["documents", "last_seq", "rows"]

# Dotted ECS field -> the store's column that holds exactly its (string) value in
# today's schema. ``dataset`` (defaults to "unknown"), ``source_ip`` (falls back to
# client.ip) and ``country`` (the geo country, not 1Password's) are not exact copies.
_COLUMNS = {
    "event.action": "action",
    "event.outcome": "outcome",
    "user.id": "user_id",
    "user.email": "user_email",
    "user.target.id": "target_user_id",
}


def _json_path(dotted: str) -> str:
    """A SQLite JSON path for a dotted name, each key quoted (names may hold dashes)."""
    quoted = "".join('."' + part.replace('"', '""') + '"' for part in dotted.split("."))
    return "'$" + quoted.replace("'", "''") + "'"


def last_seq(store: EventStore) -> int:
    """The highest arrival sequence number in the store, 0 when it is empty."""
    row = store.connection.execute("SELECT max(seq) FROM events").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


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
    clauses: list[str] = []
    params: list[int] = []
    if after_seq is not None:
        clauses.append("seq > ?")
        params.append(after_seq)
    if since_ns is not None:
        clauses.append("ts_ns >= ?")
        params.append(since_ns)
    if until_ns is not None:
        clauses.append("ts_ns < ?")
        params.append(until_ns)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    order = "seq" if after_seq is not None else "ts_ns, seq"
    # The columns the store has, then one json_extract with every other path: SQLite
    # parses the document once per call, so one call with n paths, not n calls.
    extracted = [f for f in fields if f not in _COLUMNS]
    selected = "".join(f", {_COLUMNS[f]}" for f in fields if f in _COLUMNS)
    if extracted:
        paths = ", ".join(_json_path(f) for f in extracted)
        selected += f", json_extract(document, {paths}, '$.__none__')"
    cursor = store.connection.execute(
        f"SELECT seq, event_id, ts_ns{selected} FROM events{where} ORDER BY {order}", params
    )
    positions = {f: i for i, f in enumerate(f for f in fields if f in _COLUMNS)}
    base = len(positions)
    slots = {f: i for i, f in enumerate(extracted)}
    while True:
        fetched = cursor.fetchmany(batch_size)
        if not fetched:
            return
        batch = []
        for row in fetched:
            head, values = row[:3], row[3:]
            decoded = orjson.loads(values[base]) if extracted else ()
            batch.append(
                (
                    *head,
                    *(
                        values[positions[f]] if f in positions else decoded[slots[f]]
                        for f in fields
                    ),
                )
            )
        yield batch


def documents(store: EventStore, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The decoded documents of the given event ids (those the store holds)."""
    wanted = sorted(set(event_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        cursor = store.connection.execute(
            f"SELECT event_id, document FROM events WHERE event_id IN ({marks})", chunk
        )
        found.update((event_id, orjson.loads(document)) for event_id, document in cursor)
    return found
