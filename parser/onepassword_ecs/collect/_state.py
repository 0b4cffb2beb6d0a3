"""The state database: cursors, committed output lengths, health figures, request log.

One SQLite file (standard library) holds everything the collector must remember
between runs, so that one transaction can move a cursor *and* record how long the
output file is at that moment: that pairing is what makes file delivery exactly-once
(see :mod:`._writer`). Tables:

``streams``   one row per (account, stream, API version): the cursor, where the first
              run started, health figures (last poll, last delivery, last event time,
              events delivered, consecutive failures, last error, status).
``outputs``   per output file: its length when the last cursor was committed.
``seen``      uuids delivered recently, per stream, for deduplication after a cursor
              reset (pruned to the reset overlap behind the newest event time).
``requests``  when each request to an account was sent (then completed): the rate
              budget reads it, so back-to-back runs from cron share one budget.

The token is never stored; accounts are keyed by the uuid the introspection returns.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .._errors import CollectorConfigError

__all__ = ["StateDb", "StreamKey", "StreamState", "utc_text"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    account TEXT NOT NULL,
    stream TEXT NOT NULL,
    api_version TEXT NOT NULL,
    account_name TEXT NOT NULL,
    cursor TEXT,
    start_time TEXT,
    status TEXT NOT NULL DEFAULT 'ok',
    last_error TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    last_poll REAL,
    last_delivery REAL,
    cursor_updated REAL,
    last_event_time TEXT,
    shard TEXT,
    PRIMARY KEY (account, stream, api_version)
);
CREATE TABLE IF NOT EXISTS outputs (
    path TEXT PRIMARY KEY,
    length INTEGER NOT NULL,
    pending INTEGER
);
CREATE TABLE IF NOT EXISTS seen (
    account TEXT NOT NULL,
    stream TEXT NOT NULL,
    api_version TEXT NOT NULL,
    uuid TEXT NOT NULL,
    event_time TEXT NOT NULL,
    PRIMARY KEY (account, stream, api_version, uuid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_by_account ON requests (account, at);
"""

_TABLES = frozenset({"streams", "outputs", "seen", "requests"})

_COLUMNS_ADDED = (
    ("outputs", "pending", "INTEGER"),
    ("streams", "shard", "TEXT"),
)
"""Columns later versions added, with ``ALTER TABLE`` for a state file made before."""


@dataclass(frozen=True)
class StreamKey:
    """Whose cursor: the account's uuid, the stream, the API version."""

    account: str
    stream: str
    api_version: str


@dataclass(frozen=True)
class StreamState:
    """One row of ``streams``, as read."""

    key: StreamKey
    account_name: str
    cursor: str | None
    start_time: str | None
    status: str
    last_error: str | None
    consecutive_failures: int
    delivered: int
    created: float
    last_poll: float | None
    last_delivery: float | None
    cursor_updated: float | None
    last_event_time: str | None
    shard: str | None = None


class StateDb:
    """The state file, shared by the threads of one run (one connection, one lock).

    Writes use ``BEGIN IMMEDIATE`` so that a second process on the same file waits
    instead of interleaving. WAL with ``synchronous=NORMAL``: a commit survives the
    process being killed at once; after a power cut the last commits may be lost, which
    is safe, because the output file was fsynced *before* each commit: a lost commit
    only leaves the file longer than the committed length, and the tail is cut and
    fetched again. (``FULL`` would add an fsync per request for no gain.)
    """

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        """Open (and on first use create) the state file.

        ``read_only`` (``--status``) opens it with SQLite's ``mode=ro``: nothing is
        created, migrated, switched to WAL or otherwise written, and a file without the
        collector's tables is refused (:class:`CollectorConfigError`).
        """
        self.path = str(path)
        self._lock = threading.RLock()
        if read_only:
            uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=ro"
            self._db = sqlite3.connect(
                uri, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            try:
                tables = {
                    row[0]
                    for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
            except BaseException:
                self._db.close()
                raise
            if not tables >= _TABLES:
                self._db.close()
                raise CollectorConfigError(
                    f"{self.path} is not a collector state database (it has none of the "
                    "collector's tables); pass the --state file a collect run wrote"
                )
            self._columns = self._stream_columns()
            return
        self._db = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        for table, column, kind in _COLUMNS_ADDED:
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        self._columns = self._stream_columns()

    def _stream_columns(self) -> frozenset[str]:
        return frozenset(row[1] for row in self._db.execute("PRAGMA table_info(streams)"))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # streams ---------------------------------------------------------------

    def stream(self, key: StreamKey) -> StreamState | None:
        with self._lock:
            row = self._db.execute(
                "SELECT account_name, cursor, start_time, status, last_error, "
                "consecutive_failures, delivered, created, last_poll, last_delivery, "
                "cursor_updated, last_event_time FROM streams "
                "WHERE account=? AND stream=? AND api_version=?",
                (key.account, key.stream, key.api_version),
            ).fetchone()
        return None if row is None else StreamState(key, *row)

    def streams(self) -> list[StreamState]:
        shard = "shard" if "shard" in self._columns else "NULL"  # a file --status cannot migrate
        with self._lock:
            rows = self._db.execute(
                "SELECT account, stream, api_version, account_name, cursor, start_time, "
                "status, last_error, consecutive_failures, delivered, created, last_poll, "
                f"last_delivery, cursor_updated, last_event_time, {shard} FROM streams "
                "ORDER BY account_name, account, stream, api_version"
            ).fetchall()
        return [StreamState(StreamKey(*row[:3]), *row[3:]) for row in rows]

    def ensure_stream(
        self, key: StreamKey, account_name: str, start_time: str | None, shard: str | None = None
    ) -> None:
        """Create the stream's row on first sight; keep everything of an existing one
        but its name and the shard (``K/N``) of the collector that now holds it."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO streams (account, stream, api_version, account_name, start_time, "
                "created, shard) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (account, stream, api_version) "
                "DO UPDATE SET account_name=excluded.account_name, shard=excluded.shard",
                (
                    key.account,
                    key.stream,
                    key.api_version,
                    account_name,
                    start_time,
                    time.time(),
                    shard,
                ),
            )

    def set_status(
        self, key: StreamKey, status: str, error: str | None = None, *, failed: bool = False
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE streams SET status=?, last_error=?, consecutive_failures="
                "CASE WHEN ? THEN consecutive_failures + 1 ELSE consecutive_failures END "
                "WHERE account=? AND stream=? AND api_version=?",
                (status, error, failed, key.account, key.stream, key.api_version),
            )

    def record_failure(self, key: StreamKey, error: str) -> None:
        """A poll failed (after its retries): count it, keep the message."""
        with self.transaction() as db:
            db.execute(
                "UPDATE streams SET consecutive_failures=consecutive_failures + 1, "
                "last_error=? WHERE account=? AND stream=? AND api_version=?",
                (error, key.account, key.stream, key.api_version),
            )

    def clear_cursor(self, key: StreamKey, start_time: str) -> None:
        """Forget a refused cursor: the next request is a ResetCursor from ``start_time``."""
        with self.transaction() as db:
            db.execute(
                "UPDATE streams SET cursor=NULL, start_time=? "
                "WHERE account=? AND stream=? AND api_version=?",
                (start_time, key.account, key.stream, key.api_version),
            )

    def commit_page(
        self,
        key: StreamKey,
        *,
        cursor: str,
        seen: Iterable[tuple[str, str]],
        documents: int,
        output_lengths: Mapping[str, int],
        overlap_seconds: float,
    ) -> None:
        """Move the cursor, with everything that must move with it, in one transaction.

        ``seen`` is (uuid, UTC event time) of each record of the page handed to
        conversion; ``documents`` how many documents the sinks were given;
        ``output_lengths`` the length of each exactly-once file after its flush.
        """
        now = time.time()
        rows = [(key.account, key.stream, key.api_version, u, t) for u, t in seen]
        newest = max((t for *_, t in rows), default=None)
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO seen (account, stream, api_version, uuid, event_time) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            db.execute(
                "UPDATE streams SET cursor=:cursor, "
                "cursor_updated=CASE WHEN cursor IS :cursor THEN cursor_updated ELSE :now END, "
                "last_poll=:now, consecutive_failures=0, last_error=NULL, status='ok', "
                "delivered=delivered + :documents, "
                "last_delivery=CASE WHEN :documents > 0 THEN :now ELSE last_delivery END, "
                "last_event_time=CASE WHEN last_event_time IS NULL OR :newest > last_event_time "
                "THEN :newest ELSE last_event_time END "
                "WHERE account=:account AND stream=:stream AND api_version=:version",
                {
                    "cursor": cursor,
                    "now": now,
                    "documents": documents,
                    "newest": newest,
                    "account": key.account,
                    "stream": key.stream,
                    "version": key.api_version,
                },
            )
            for path, length in output_lengths.items():
                db.execute(
                    "INSERT INTO outputs (path, length) VALUES (?, ?) "
                    "ON CONFLICT (path) DO UPDATE SET length=excluded.length, pending=NULL",
                    (path, length),
                )
            if newest is not None:
                horizon = _minus_seconds(newest, overlap_seconds)
                db.execute(
                    "DELETE FROM seen WHERE account=? AND stream=? AND api_version=? "
                    "AND event_time < ?",
                    (key.account, key.stream, key.api_version, horizon),
                )

    def already_seen(self, key: StreamKey, uuids: list[str]) -> set[str]:
        """Which of ``uuids`` were delivered within the recent window."""
        if not uuids:
            return set()
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(uuids), 500):
                part = uuids[start : start + 500]
                marks = ",".join("?" * len(part))
                found.update(
                    row[0]
                    for row in self._db.execute(
                        "SELECT uuid FROM seen WHERE account=? AND stream=? AND api_version=? "
                        f"AND uuid IN ({marks})",
                        (key.account, key.stream, key.api_version, *part),
                    )
                )
        return found

    # outputs ---------------------------------------------------------------

    def output_length(self, path: str) -> int | None:
        committed, _ = self.output_marks(path)
        return committed

    def output_marks(self, path: str) -> tuple[int | None, int | None]:
        """(committed length, end of the write in progress) of an exactly-once file.

        The second is set by :meth:`set_output_pending` before the collector writes
        past the committed length and cleared by the commit: after a crash, bytes up to
        it are the collector's own; bytes beyond it were put there by someone else.
        """
        with self._lock:
            row = self._db.execute(
                "SELECT length, pending FROM outputs WHERE path=?", (path,)
            ).fetchone()
        if row is None:
            return None, None
        return int(row[0]), None if row[1] is None else int(row[1])

    def set_output_length(self, path: str, length: int) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO outputs (path, length) VALUES (?, ?) "
                "ON CONFLICT (path) DO UPDATE SET length=excluded.length, pending=NULL",
                (path, length),
            )

    def set_output_pending(self, path: str, end: int) -> None:
        """The collector is about to write up to ``end``: remember it before writing."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outputs SET pending=max(coalesce(pending, 0), ?) WHERE path=?",
                (end, path),
            )


def utc_text(moment: datetime) -> str:
    """A fixed-width UTC ISO 8601 text, so that SQLite compares times as strings."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _minus_seconds(text: str, seconds: float) -> str:
    return utc_text(datetime.fromisoformat(text) - timedelta(seconds=seconds))
