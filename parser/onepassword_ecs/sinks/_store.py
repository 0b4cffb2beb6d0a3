"""The embedded event store: one SQLite file, written by one process, read by many.

Why SQLite: it ships with Python, needs no server, survives ``kill -9`` (a transaction
is all or nothing), and lets ``sqlite3`` itself, the detection engine and the
investigation commands read while a collector writes (WAL mode: readers never block the
writer, the writer never blocks readers).

As a :class:`~onepassword_ecs.stream.Sink`: ``write`` inserts a batch inside an open
transaction (``INSERT OR IGNORE`` on the event id, so a re-delivered page or a second
conversion of the same file changes nothing and is counted as duplicates); ``flush``
commits, with ``synchronous=FULL`` so that a commit that returned is on disk. A crash
before ``flush`` loses only what was never acknowledged, and the file stays consistent.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from .._errors import StoreError
from ..stream import Batch, SinkResult
from ._columns import event_row
from ._schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["EventStore"]

_INSERT = (
    "INSERT OR IGNORE INTO events (event_id, ts_ns, dataset, action, outcome, user_id, "
    "user_email, target_user_id, source_ip, country, document) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_BUSY_TIMEOUT_S = 30.0
_PAGE_SIZE = 16384
_WRITER_CACHE_KIB = -65536  # negative: KiB rather than pages (SQLite's convention)


def _version(connection: sqlite3.Connection) -> int:
    has_meta = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


class EventStore:
    """An open store file. Use :meth:`open`; close it (or use ``with``) when done."""

    name = "store"

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        *,
        readonly: bool,
        commit_every: int | None = None,
    ) -> None:
        self._connection = connection
        self.path = path
        self.readonly = readonly
        self._pending = False
        self._pending_rows = 0
        self._commit_every = commit_every

    # --- opening ---------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        commit_every: int | None = None,
    ) -> EventStore:
        """Open (creating and migrating when writable) the store at ``path``.

        ``commit_every`` (rows) lets a long one-shot load commit as it goes instead of
        holding one transaction to the end: the write-ahead log then stays small, and
        readers see the load progress. Committing early is always safe (a document
        stored before its page is acknowledged is a harmless duplicate on re-delivery);
        ``flush`` still commits the rest.

        Raises :class:`StoreError` when the file is not a store, was written by a newer
        program, or (read-only) does not exist.
        """
        target = Path(path)
        try:
            if readonly:
                if not target.is_file():
                    raise StoreError(f"{target}: no such store")
                connection = sqlite3.connect(
                    f"{target.resolve().as_uri()}?mode=ro",
                    uri=True,
                    timeout=_BUSY_TIMEOUT_S,
                    isolation_level=None,
                    check_same_thread=False,
                )
            else:
                if target.parent and not target.parent.exists():
                    raise StoreError(f"{target}: folder {target.parent} does not exist")
                connection = sqlite3.connect(
                    target, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
                )
            store = cls(connection, target, readonly=readonly, commit_every=commit_every)
            store._prepare()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{target}: not a usable store ({exc})") from None
        return store

    def _prepare(self) -> None:
        connection = self._connection
        version = _version(connection)
        if version > SCHEMA_VERSION:
            connection.close()
            raise StoreError(
                f"{self.path}: written by a newer onepassword-ecs (store schema {version}; "
                f"this program knows up to {SCHEMA_VERSION}); upgrade onepassword-ecs to use it"
            )
        if self.readonly:
            if version < SCHEMA_VERSION:
                connection.close()
                raise StoreError(
                    f"{self.path}: store schema {version} is older than {SCHEMA_VERSION}; "
                    "open it once for writing to migrate it"
                )
            return
        if version == 0 and not connection.execute("SELECT 1 FROM sqlite_master").fetchone():
            # A new file: 16 KiB pages. A stored document is about 1.5 KiB, so the
            # default 4 KiB pages hold two and waste a fifth of the file; 16 KiB pages
            # hold ten. Only possible before the first table and before WAL mode.
            connection.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        # Inserts touch six indexes, the event id one at random places (ids are random):
        # a 64 MiB page cache (the default is 2 MiB) keeps most of them in memory on a
        # store of millions of events. A constant, so memory stays flat.
        connection.execute(f"PRAGMA cache_size = {_WRITER_CACHE_KIB}")
        for number in range(version, SCHEMA_VERSION):
            connection.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(MIGRATIONS[number]):
                    connection.execute(statement)
                connection.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(number + 1),),
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    # --- the Sink protocol -----------------------------------------------------------

    def write(self, batch: Batch) -> SinkResult:
        """Insert the batch's documents; already-stored event ids count as duplicates."""
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        rows = [event_row(orjson.loads(line), line) for line in batch.documents()]
        connection = self._connection
        if not self._pending:
            connection.execute("BEGIN IMMEDIATE")
            self._pending = True
        before = connection.total_changes
        connection.executemany(_INSERT, rows)
        inserted = connection.total_changes - before
        self._pending_rows += len(rows)
        if self._commit_every is not None and self._pending_rows >= self._commit_every:
            self.flush()
        return SinkResult(accepted=inserted, duplicates=len(rows) - inserted)

    def flush(self) -> None:
        """Commit: when this returns, every accepted document is on disk."""
        if self._pending:
            self._connection.execute("COMMIT")
            self._pending = False
            self._pending_rows = 0

    def close(self) -> None:
        """Roll back anything not flushed and close the file; idempotent."""
        try:
            if self._pending:
                self._connection.execute("ROLLBACK")
                self._pending = False
            self._connection.close()
        except sqlite3.ProgrammingError:
            pass  # already closed

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection, for query modules that read the documented schema."""
        return self._connection

    def count(self) -> int:
        row = self._connection.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0])

    def iter_encoded(
        self, *, since_ns: int | None = None, until_ns: int | None = None
    ) -> Iterator[bytes]:
        """Stored documents as their canonical bytes, in time order (then arrival order).

        ``since_ns`` is inclusive and ``until_ns`` exclusive. Rows are fetched lazily,
        so memory stays flat whatever the store's size.
        """
        clauses, params = [], []
        if since_ns is not None:
            clauses.append("ts_ns >= ?")
            params.append(since_ns)
        if until_ns is not None:
            clauses.append("ts_ns < ?")
            params.append(until_ns)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        cursor = self._connection.execute(
            f"SELECT document FROM events{where} ORDER BY ts_ns, seq", params
        )
        for (document,) in cursor:
            yield bytes(document)

    def iter_documents(
        self, *, since_ns: int | None = None, until_ns: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Stored documents as dicts, in time order; see :meth:`iter_encoded`."""
        for encoded in self.iter_encoded(since_ns=since_ns, until_ns=until_ns):
            yield orjson.loads(encoded)


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (ours hold no ``;`` inside literals)."""
    return [part.strip() for part in script.split(";") if part.strip()]
