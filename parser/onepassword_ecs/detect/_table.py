"""The engine's working table: ECS documents flattened to the columns the rules read.

pySigma's SQLite backend queries a table whose columns are field names
(``event.action``, ``user.id``, ...). We build that table in a private SQLite file
(never in memory, so a month of events costs disk, not RAM): one row per distinct
event, the few dotted fields the loaded rules use, the time in seconds for the
correlation windows, and the document itself so alerts can quote it. Columns compare
case-insensitively (``COLLATE NOCASE``), as Sigma's string matching does.

Rows are appended in any order; readers sort by time (then arrival), so an NDJSON file
that is not in time order still correlates correctly.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ..sinks import event_row

__all__ = ["EventTable", "field_value"]

_BATCH = 2000
_FIXED = ("seq", "event.id", "ts", "ts_ns", "document")


def field_value(document: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted ECS path (``user.target.id``), or None."""
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return orjson.dumps(value).decode()
    return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class EventTable:
    """A temporary SQLite file holding the flattened events; close it to delete it."""

    table = "logs"

    def __init__(self, fields: Iterable[str], directory: str | None = None) -> None:
        self.fields = sorted(set(fields) - set(_FIXED))
        handle, name = tempfile.mkstemp(
            prefix="onepassword-ecs-detect-", suffix=".db", dir=directory
        )
        os.close(handle)
        self.path = Path(name)
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "temp_store = FILE",
            "cache_size = -32000",
        ):
            self.connection.execute(f"PRAGMA {pragma}")
        columns = "".join(f", {_quote(f)} TEXT COLLATE NOCASE" for f in self.fields)
        self.connection.execute(
            f'CREATE TABLE {self.table} (seq INTEGER PRIMARY KEY, "event.id" TEXT NOT NULL UNIQUE, '
            f"ts REAL NOT NULL, ts_ns INTEGER NOT NULL{columns}, document BLOB NOT NULL)"
        )
        placeholders = ", ".join("?" for _ in range(4 + len(self.fields)))
        self._insert = (
            f'INSERT OR IGNORE INTO {self.table} ("event.id", ts, ts_ns, '
            + "".join(f"{_quote(f)}, " for f in self.fields)
            + f"document) VALUES ({placeholders})"
        )
        self._pending: list[tuple[Any, ...]] = []
        self.added = 0
        self.duplicates = 0

    def add(self, document: dict[str, Any], encoded: bytes | None = None) -> None:
        """Queue one document (``encoded``: its canonical bytes, when already at hand)."""
        if encoded is None:
            encoded = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        row = event_row(document, encoded)
        event_id, ts_ns = row[0], row[1]
        cells = [_cell(field_value(document, f)) for f in self.fields]
        self._pending.append((event_id, ts_ns / 1e9, ts_ns, *cells, encoded))
        if len(self._pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        connection = self.connection
        connection.execute("BEGIN")
        before = connection.total_changes
        connection.executemany(self._insert, self._pending)
        inserted = connection.total_changes - before
        connection.execute("COMMIT")
        self.added += inserted
        self.duplicates += len(self._pending) - inserted
        self._pending.clear()

    def finish(self) -> None:
        """Flush and index: call once, after the last :meth:`add`, before queries."""
        self.flush()
        self.connection.execute(
            f"CREATE INDEX IF NOT EXISTS logs_time ON {self.table} (ts_ns, seq)"
        )
        self.connection.execute(f"ANALYZE {self.table}")

    def documents(self, seqs: Iterable[int] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(event id, document)`` in time order: all of them, or the given rows."""
        if seqs is None:
            cursor = self.connection.execute(
                f'SELECT "event.id", document FROM {self.table} ORDER BY ts_ns, seq'
            )
            for event_id, document in cursor:
                yield event_id, orjson.loads(document)
            return
        wanted = sorted(set(seqs))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self.connection.execute(
                f'SELECT "event.id", document FROM {self.table} WHERE seq IN ({marks})', chunk
            )
            yield from ((event_id, orjson.loads(doc)) for event_id, doc in rows)

    def by_ids(self, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The documents of the given event ids (a bounded set: one alert's evidence)."""
        ids = sorted(set(event_ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self.connection.execute(
                f'SELECT "event.id", document FROM {self.table} WHERE "event.id" IN ({marks})',
                chunk,
            )
            found.update((event_id, orjson.loads(doc)) for event_id, doc in rows)
        return found

    def timeline(self) -> Iterator[tuple[str, dict[str, Any], int]]:
        """``(event id, document, ts_ns)`` for every event, in time order."""
        cursor = self.connection.execute(
            f'SELECT "event.id", document, ts_ns FROM {self.table} ORDER BY ts_ns, seq'
        )
        for event_id, document, ts_ns in cursor:
            yield event_id, orjson.loads(document), ts_ns

    def time_range(self) -> tuple[int, int] | None:
        row = self.connection.execute(f"SELECT min(ts_ns), max(ts_ns) FROM {self.table}").fetchone()
        return None if row[0] is None else (int(row[0]), int(row[1]))

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> EventTable:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
