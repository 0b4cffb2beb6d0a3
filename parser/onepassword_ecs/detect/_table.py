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

import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

__all__ = ["EventTable", "field_value"]

_BATCH = 2000
_FIXED = ("seq", "event.id", "ts", "ts_ns", "document")
_INDEXED = ("event.action", "onepassword.item_uuid")  # what most rules select on first


def field_value(document: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted ECS path (``user.target.id``), or None."""
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _json_path(dotted: str) -> str:
    """A SQLite JSON path for a dotted ECS name (each key quoted: names may hold dashes)."""
    return "'$" + "".join(f'."{part}"' for part in dotted.split(".")) + "'"


# Nanoseconds since the epoch from @timestamp: our canonical form
# (YYYY-MM-DDTHH:MM:SS.fffffffffZ) is cut apart exactly; anything else goes through
# julianday (millisecond precision), the way the store reads other tools' documents.
_TS_NS = (
    "(SELECT CASE WHEN length(t) = 30 AND substr(t, 20, 1) = '.' AND substr(t, 30, 1) = 'Z' "
    "THEN unixepoch(substr(t, 1, 19)) * 1000000000 + CAST(substr(t, 21, 9) AS INTEGER) "
    "ELSE CAST(round((julianday(t) - 2440587.5) * 86400000) AS INTEGER) * 1000000 END "
    "FROM (SELECT json_extract(v, '$[1]') AS t))"
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class EventTable:
    """A temporary SQLite file holding the flattened events; close it to delete it.

    Documents are staged as their bytes and flattened by SQLite's own JSON functions in
    one ``INSERT ... SELECT`` (:meth:`finish`): no Python code walks a million documents,
    and events read from the store are never parsed in Python at all.
    """

    table = "logs"

    def __init__(self, fields: Iterable[str], directory: str | None = None) -> None:
        self.fields = sorted(set(fields) - set(_FIXED))
        handle, name = tempfile.mkstemp(
            prefix="onepassword-ecs-detect-", suffix=".db", dir=directory
        )
        os.close(handle)
        self.path = Path(name)
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        self.connection.create_function("sha256_hex", 1, _sha256_hex, deterministic=True)
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
        # Each document is parsed once, as it is staged: one json_extract with every
        # path (SQLite 3.40 has no parse cache) returns a small array taken apart later.
        self.connection.execute("CREATE TABLE staged (v TEXT, document TEXT NOT NULL)")
        paths = ", ".join(_json_path(f) for f in ("event.id", "@timestamp", *self.fields))
        self._stage = (
            f"INSERT INTO staged (document, v) VALUES (CAST(?1 AS TEXT), "
            f"json_extract(CAST(?1 AS TEXT), {paths}))"
        )
        self._pending: list[tuple[bytes]] = []
        self.staged = 0
        self.added = 0
        self.duplicates = 0

    def add(self, document: dict[str, Any] | bytes) -> None:
        """Queue one document (a dict, or its canonical JSON bytes as the store keeps them)."""
        encoded = (
            document
            if isinstance(document, bytes)
            else orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        )
        self._pending.append((encoded,))
        if len(self._pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        connection = self.connection
        connection.execute("BEGIN")
        connection.executemany(self._stage, self._pending)
        connection.execute("COMMIT")
        self.staged += len(self._pending)
        self._pending.clear()

    def finish(self) -> None:
        """Flatten what was staged and index it: call once, after the last :meth:`add`."""
        self.flush()
        extract = "".join(f", json_extract(v, '$[{i + 2}]')" for i in range(len(self.fields)))
        columns = "".join(f", {_quote(f)}" for f in self.fields)
        connection = self.connection
        connection.execute("BEGIN")
        before = connection.total_changes
        connection.execute(
            f'INSERT OR IGNORE INTO {self.table} ("event.id", ts, ts_ns{columns}, document) '
            f"SELECT event_id, ts_ns / 1e9, ts_ns{extract}, CAST(document AS BLOB) FROM ("
            "SELECT document, v, COALESCE(json_extract(v, '$[0]'), "
            f"'sha256:' || sha256_hex(document)) AS event_id, {_TS_NS} AS ts_ns FROM ("
            "SELECT rowid, document, v FROM staged) ORDER BY rowid)"
        )
        self.added = connection.total_changes - before
        connection.execute("DROP TABLE staged")
        connection.execute("COMMIT")
        self.duplicates = self.staged - self.added
        connection.execute(f"CREATE INDEX IF NOT EXISTS logs_time ON {self.table} (ts_ns, seq)")
        for number, name in enumerate(f for f in _INDEXED if f in self.fields):
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS logs_i{number} ON {self.table} ({_quote(name)})"
            )
        connection.execute(f"ANALYZE {self.table}")

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

    def timeline(self, fields: Iterable[str]) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """``(event id, ts_ns, {field: value})`` for every event, in time order.

        Only the named columns are read (no document is parsed): the history rules walk
        every event, and parsing a million documents would cost more than the rules.
        """
        names = [f for f in fields if f in self.fields]
        columns = "".join(f", {_quote(f)}" for f in names)
        cursor = self.connection.execute(
            f'SELECT "event.id", ts_ns{columns} FROM {self.table} ORDER BY ts_ns, seq'
        )
        for event_id, ts_ns, *values in cursor:
            yield event_id, ts_ns, dict(zip(names, values, strict=True))

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
