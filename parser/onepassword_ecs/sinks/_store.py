"""The embedded event store: one SQLite file, written by one process, read by many.

Why SQLite: it ships with Python, needs no server, survives ``kill -9`` (a transaction
is all or nothing), and lets ``sqlite3`` itself, the detection engine and the
investigation commands read while a collector writes (WAL mode: readers never block the
writer, the writer never blocks readers). Why this layout (schema 3), with the
measurements: ``docs/architecture.md``, "The event store".

As a :class:`~onepassword_ecs.stream.Sink`: ``write`` looks each document's id up (by
its day and id, so a re-delivered page or a second conversion of the same file changes
nothing and is counted as duplicates), packs the new documents into compressed blocks
and inserts one narrow row per event, inside an open transaction; ``flush`` commits,
with ``synchronous=FULL`` so that a commit that returned is on disk. A crash before
``flush`` loses only what was never acknowledged, and the file stays consistent.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .._errors import StoreError
from ..stream import Batch, SinkResult
from ._blocks import (
    BLOCK_DOCUMENTS,
    BlockCache,
    compress_block,
    decode_key,
    encode_key,
    sample_dictionary,
)
from ._columns import COLUMNS, FIELD_COLUMNS, event_row, field_value
from ._schema import DAY_NS, EVENTS_VIEW, MIGRATIONS, SCHEMA_VERSION, STATISTICS

__all__ = ["EventStore", "PruneOutcome"]

_BUSY_TIMEOUT_S = 30.0
_PAGE_SIZE = 4096
_WRITER_CACHE_KIB = -131072  # negative: KiB rather than pages (SQLite's convention)
_READER_CACHE_KIB = -32768
_STRING_CACHE = 400_000  # distinct values remembered by a writer; then forgotten
_SQLITE_MAGIC = b"SQLite format 3\x00"
_COMPACT_VERSION = 3  # the migration that moves documents into blocks
_ROW_NAMES = ", ".join(column.name for column in COLUMNS)
_INSERT_ROW = (
    f"INSERT INTO rows (seq, ts_ns, day, event_key, block, slot, {_ROW_NAMES}) "
    f"VALUES ({', '.join('?' * (6 + len(COLUMNS)))})"
)
_DATASET = [column.name for column in COLUMNS].index("dataset")
_DICTIONARY_FULL = 16 * 1024  # a dictionary this long is kept; a shorter one is redone
_RESAMPLE_FROM = 64  # documents in a write worth making a dictionary from again
_ACTION = [column.name for column in COLUMNS].index("action")
_PROBE = 500  # ids per duplicate lookup (SQLite allows 32,766 parameters)

_Parsed = tuple[bytes, int, int, bytes | str, tuple[Any, ...]]
"""``(line, day, ts_ns, stored key, column values)`` of one document."""


def _parse(documents: Sequence[bytes]) -> list[_Parsed]:
    parsed = []
    for line in documents:
        event_id, ts_ns, values = event_row(orjson.loads(line), line)
        parsed.append((line, _day(ts_ns), ts_ns, encode_key(event_id), values))
    return parsed


@dataclass(frozen=True)
class PruneOutcome:
    """What :meth:`EventStore.prune` removed and the file's size before and after."""

    events: int
    blocks: int
    bytes_before: int
    bytes_after: int


def _day(ts_ns: int) -> int:
    """SQLite's ``ts_ns / DAY_NS`` (integer division truncating toward zero)."""
    return ts_ns // DAY_NS if ts_ns >= 0 else -((-ts_ns) // DAY_NS)


def _version(connection: sqlite3.Connection, path: Path) -> int:
    tables = {
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    if not tables:
        return 0
    row = None
    if "meta" in tables:
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        shown = ", ".join(sorted(tables)[:5])
        raise StoreError(
            f"{path}: an SQLite database but not an onepassword-ecs store (its tables: "
            f"{shown}); refusing to change it: give --store another path"
        )
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise StoreError(
            f"{path}: not a usable store (its schema version {row[0]!r} is not a number); "
            "give --store another path"
        ) from None


def file_size(path: Path) -> int:
    """The database and its write-ahead log: what the store really takes on disk."""
    total = 0
    for suffix in ("", "-wal"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            total += candidate.stat().st_size
    return total


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
        self._strings: dict[Any, int] = {None: 0}  # no value: strings' NULL row
        self._dictionaries: dict[int, bytes] = {}
        self._dictionary_id: int | None = None
        self._blocks = BlockCache(self._load_block, str(path))
        self._resampled = False
        self._next_block: int | None = None
        self._helper: ThreadPoolExecutor | None = None
        self._job: Future[None] | None = None
        self._retention: tuple[int, float] | None = None
        self._next_prune = 0.0
        self.last_prune: PruneOutcome | None = None

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

        Raises :class:`StoreError`, naming the file and what to do, when it is missing
        (read-only), not an SQLite file, an SQLite file that is not a store (refused,
        never converted in place; an empty file becomes a store), damaged, not writable,
        or written by a newer program.
        """
        target = Path(path)
        _check_file(target, readonly)
        connection: sqlite3.Connection | None = None
        try:
            if readonly:
                connection = sqlite3.connect(
                    f"{target.resolve().as_uri()}?mode=ro",
                    uri=True,
                    timeout=_BUSY_TIMEOUT_S,
                    isolation_level=None,
                    check_same_thread=False,
                )
            else:
                connection = sqlite3.connect(
                    target, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
                )
            store = cls(connection, target, readonly=readonly, commit_every=commit_every)
            store._prepare()
        except StoreError:
            if connection is not None:
                connection.close()
            raise
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            if connection is not None:
                connection.close()
            raise StoreError(_explain(target, exc, readonly)) from None
        return store

    def _prepare(self) -> None:
        connection = self._connection
        connection.create_function("op_event_id", 1, decode_key, deterministic=True)
        connection.create_function("op_document", 2, self._document_of, deterministic=True)
        version = _version(connection, self.path)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer onepassword-ecs (store schema {version}; "
                f"this program knows up to {SCHEMA_VERSION}); upgrade onepassword-ecs to use it"
            )
        if self.readonly:
            if version == 0:
                raise StoreError(
                    f"{self.path}: an empty file, not a store yet; write to it first "
                    "(convert --store, collect --store)"
                )
            if version < SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: store schema {version} is older than {SCHEMA_VERSION}; "
                    "open it once for writing to migrate it (for example: "
                    "onepassword-ecs convert /dev/null --store PATH)"
                )
            connection.execute(f"PRAGMA cache_size = {_READER_CACHE_KIB}")
            connection.execute(EVENTS_VIEW)
            return
        if version == 0:
            # A new file: 4 KiB pages (rows and index entries are small; large pages
            # make every index page a commit touches cost more to write), and
            # incremental vacuum so pruning gives the space back. Only possible before
            # the first table and before WAL mode.
            connection.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
            connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        # Inserts touch five indexes, each at the end of one person's (or address's)
        # entries: a 128 MiB page cache keeps the pages they touch between commits in
        # memory on a store of millions of events. A constant, so memory stays flat.
        connection.execute(f"PRAGMA cache_size = {_WRITER_CACHE_KIB}")
        carried = False
        for number in range(version, SCHEMA_VERSION):
            connection.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(MIGRATIONS[number]):
                    connection.execute(statement)
                if number + 1 == _COMPACT_VERSION:
                    connection.execute("ANALYZE sqlite_schema")  # makes sqlite_stat1
                    connection.execute("DELETE FROM sqlite_stat1")
                    connection.executemany(
                        "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)",
                        STATISTICS,
                    )
                    carried = self._carry_over() > 0 or version > 0
                    connection.execute("DROP TABLE events_v2")
                connection.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(number + 1),),
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                self._forget()
                raise
        if version < _COMPACT_VERSION:
            connection.execute("ANALYZE sqlite_schema")  # load the statistics just written
        if carried:
            # A store carried over from schema 2: rewrite the file without the old
            # table's pages, with incremental vacuum on for later prunes.
            connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
            connection.execute("VACUUM")
        connection.execute(EVENTS_VIEW)

    def _carry_over(self) -> int:
        """Move schema-2 rows (whole documents) into blocks, keeping each ``seq``."""
        connection = self._connection
        moved = 0
        last = -1
        while True:
            chunk = connection.execute(
                "SELECT seq, document FROM events_v2 WHERE seq > ? ORDER BY seq LIMIT 20000",
                (last,),
            ).fetchall()
            if not chunk:
                return moved
            last = int(chunk[-1][0])
            documents = [bytes(document) for _, document in chunk]
            moved += self._insert(_parse(documents), [int(seq) for seq, _ in chunk])
            self._join()

    # --- the Sink protocol -----------------------------------------------------------

    def write(self, batch: Batch) -> SinkResult:
        """Insert the batch's documents; already-stored event ids count as duplicates.

        The work is split so that a conversion's one process uses a second core: this
        thread parses each document and decides what is new (it needs the GIL); a
        helper thread deflates the blocks and runs the inserts (zlib and SQLite release
        the GIL), while this one goes back to mapping the next chunk. Each write waits
        for the previous one's inserts before it looks for duplicates, and ``flush``
        waits for all of them, so what is acknowledged and committed is unchanged.
        """
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        documents = batch.documents()
        parsed = _parse(documents)  # overlaps with the helper's inserts of the last batch
        self._join()
        if not self._pending:
            self._connection.execute("BEGIN IMMEDIATE")
            self._pending = True
            self._next_block = None
        inserted = self._insert(parsed)
        self._pending_rows += len(documents)
        if self._commit_every is not None and self._pending_rows >= self._commit_every:
            self.flush()
        return SinkResult(accepted=inserted, duplicates=len(documents) - inserted)

    def _insert(self, parsed: list[_Parsed], seqs: Sequence[int] | None = None) -> int:
        """Store the parsed documents not stored yet (in the caller's transaction).

        Hands the deflating and inserting to the helper thread; :meth:`_join` waits.
        """
        fresh = self._fresh(parsed)
        if not fresh:
            return 0
        dictionary_id = self._writing_dictionary([parsed[index] for index in fresh])
        dictionary = self._dictionaries[dictionary_id]
        if self._next_block is None:
            row = self._connection.execute("SELECT coalesce(max(id), 0) FROM blocks").fetchone()
            self._next_block = int(row[0]) + 1
        known = self._strings.get
        intern = self._intern
        rows = []
        parts = []
        counts: dict[tuple[int, int], int] = {}
        for start in range(0, len(fresh), BLOCK_DOCUMENTS):
            block = self._next_block
            self._next_block += 1
            part = fresh[start : start + BLOCK_DOCUMENTS]
            parts.append([parsed[index][0] for index in part])
            for slot, index in enumerate(part):
                _, day, ts_ns, key, values = parsed[index]
                ids = list(map(known, values))  # 0 for no value, None for a new one
                if None in ids:
                    ids = [intern(value) for value in values]
                seq = seqs[index] if seqs is not None else None
                rows.append((seq, ts_ns, day, key, block, slot, *ids))
                day_key = (day, ids[_DATASET] or 0)
                counts[day_key] = counts.get(day_key, 0) + 1
        first = self._next_block - len(parts)
        job = (parts, first, dictionary_id, dictionary, rows, counts)
        if self._helper is None:
            self._helper = ThreadPoolExecutor(1, thread_name_prefix="onepassword-ecs-store")
        self._job = self._helper.submit(self._store_rows, *job)
        return len(fresh)

    def _store_rows(
        self,
        parts: list[list[bytes]],
        first: int,
        dictionary_id: int,
        dictionary: bytes,
        rows: list[tuple[Any, ...]],
        counts: dict[tuple[int, int], int],
    ) -> None:
        """The helper thread's part of a write: deflate the blocks, insert everything."""
        connection = self._connection
        connection.executemany(
            "INSERT INTO blocks (id, dictionary, live, data) VALUES (?, ?, ?, ?)",
            [
                (first + number, dictionary_id, len(part), compress_block(part, dictionary))
                for number, part in enumerate(parts)
            ],
        )
        connection.executemany(_INSERT_ROW, rows)
        connection.executemany(
            "INSERT INTO day_counts (day, dataset, count) VALUES (?, ?, ?) "
            "ON CONFLICT (day, dataset) DO UPDATE SET count = count + excluded.count",
            [(day, dataset, count) for (day, dataset), count in counts.items()],
        )

    def _join(self) -> None:
        """Wait for the helper's inserts; raise what went wrong there."""
        job, self._job = self._job, None
        if job is not None:
            try:
                job.result()
            except sqlite3.Error as exc:  # disk full, I/O error: nothing of it acknowledged
                raise StoreError(
                    f"{self.path}: could not store documents ({exc}); the documents since "
                    "the last commit were not stored"
                ) from None

    def _fresh(self, parsed: list[_Parsed]) -> list[int]:
        """Positions of the documents neither stored nor seen earlier in ``parsed``.

        One query per day and 500 ids finds the stored ones through the day-first id
        index, instead of one query per document.
        """
        by_day: dict[int, list[bytes | str]] = {}
        for _, day, _, key, _ in parsed:
            by_day.setdefault(day, []).append(key)
        stored: set[tuple[int, bytes | str]] = set()
        for day, keys in by_day.items():
            for start in range(0, len(keys), _PROBE):
                part = keys[start : start + _PROBE]
                marks = ", ".join("?" * len(part))
                for (key,) in self._connection.execute(
                    f"SELECT event_key FROM rows WHERE day = ? AND event_key IN ({marks})",
                    (day, *part),
                ):
                    stored.add((day, key))
        fresh = []
        for index, (_, day, _, key, _) in enumerate(parsed):
            identity = (day, key)
            if identity not in stored:
                stored.add(identity)
                fresh.append(index)
        return fresh

    def _intern(self, value: Any) -> int:
        """The ``strings`` id of a value, adding it when new."""
        known = self._strings.get(value)
        if known is not None:
            return known
        row = self._connection.execute(
            "SELECT id FROM strings WHERE value = ?", (value,)
        ).fetchone()
        if row is not None:
            number = int(row[0])
        else:
            cursor = self._connection.execute("INSERT INTO strings (value) VALUES (?)", (value,))
            number = int(cursor.lastrowid or 0)
        if len(self._strings) >= _STRING_CACHE:
            self._strings = {None: 0}  # bounded memory: the table remembers
        self._strings[value] = number
        return number

    def _writing_dictionary(self, fresh: list[_Parsed]) -> int:
        """The dictionary new blocks use: made once, from the first documents stored.

        Made again (once per open) when the one there came from a handful of documents
        and this write brings more.
        """
        if self._dictionary_id is None:
            row = self._connection.execute(
                "SELECT id, data FROM dictionaries ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row is not None:
                self._dictionary_id = int(row[0])
                self._dictionaries[self._dictionary_id] = bytes(row[1])
        current = self._dictionary_id
        if current is not None and (self._resampled or len(fresh) < _RESAMPLE_FROM):
            return current
        if current is not None and len(self._dictionaries[current]) >= _DICTIONARY_FULL:
            self._resampled = True
            return current
        sample = sample_dictionary(
            [line for line, *_ in fresh],
            [(values[_DATASET], values[_ACTION]) for *_, values in fresh],
        )
        self._resampled = len(fresh) >= _RESAMPLE_FROM
        if current is not None and len(sample) <= len(self._dictionaries[current]):
            return current
        cursor = self._connection.execute("INSERT INTO dictionaries (data) VALUES (?)", (sample,))
        self._dictionary_id = int(cursor.lastrowid or 0)
        self._dictionaries[self._dictionary_id] = sample
        return self._dictionary_id

    def flush(self) -> None:
        """Commit: when this returns, every accepted document is on disk.

        With a retention (:meth:`keep_for`), a flush also prunes what has aged out, at
        most once per its period, after the commit.
        """
        self._join()
        if self._pending:
            self._connection.execute("COMMIT")
            self._pending = False
            self._pending_rows = 0
        if self._retention is not None and time.monotonic() >= self._next_prune:
            keep_ns, every = self._retention
            self._next_prune = time.monotonic() + every  # before prune(): it flushes too
            self.last_prune = self.prune(time.time_ns() - keep_ns)

    def keep_for(self, seconds: float, *, every: float = 3600.0) -> None:
        """Keep ``seconds`` of events: from now on flushes prune older ones.

        Why on the store and not a cron job: a collector that runs for months keeps its
        store bounded by itself (``collect --retention 120d``: the Events API's own
        retention), and the prune runs between its commits, never inside one. The first
        flush prunes at once; later ones at most every ``every`` seconds.
        """
        if seconds <= 0:
            raise StoreError(f"{self.path}: a retention must be longer than zero")
        self._retention = (int(seconds * 1_000_000_000), every)
        self._next_prune = 0.0

    def close(self) -> None:
        """Roll back anything not flushed and close the file; idempotent.

        With a retention and nothing left unflushed, what aged out since the last prune
        is pruned first, so a ``collect --once`` from cron ends with a bounded store.
        """
        with contextlib.suppress(Exception):  # rolled back below: none of it was acknowledged
            self._join()
        if self._retention is not None and not self._pending and not self.readonly:
            with contextlib.suppress(sqlite3.Error, StoreError):  # closing must not fail
                self.last_prune = self.prune(time.time_ns() - self._retention[0])
            self._retention = None
        if self._helper is not None:
            self._helper.shutdown()
            self._helper = None
        try:
            if self._pending:
                self._connection.execute("ROLLBACK")
                self._pending = False
                self._forget()
            self._connection.close()
        except sqlite3.ProgrammingError:
            pass  # already closed

    def _forget(self) -> None:
        """After a rollback: ids handed out in it may be handed out again."""
        self._strings = {None: 0}
        self._dictionaries.clear()
        self._dictionary_id = None
        self._resampled = False
        self._next_block = None
        self._blocks.clear()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- retention -------------------------------------------------------------------

    def prune(self, before_ns: int) -> PruneOutcome:
        """Remove every event older than ``before_ns`` and give the space back.

        Alerts are kept (they are the record of what was found). A block is removed
        when none of its events remain; a block straddling the cut keeps its bytes until
        its last event goes. ``seq`` numbers are never handed out again (AUTOINCREMENT).
        The file shrinks by incremental vacuum after the commit, and the write-ahead log
        is truncated.
        """
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        self.flush()
        connection = self._connection
        before = file_size(self.path)
        connection.execute("BEGIN IMMEDIATE")
        try:
            per_block = connection.execute(
                "SELECT block, count(*) FROM rows WHERE ts_ns < ? GROUP BY block", (before_ns,)
            ).fetchall()
            events = connection.execute("DELETE FROM rows WHERE ts_ns < ?", (before_ns,)).rowcount
            connection.executemany(
                "UPDATE blocks SET live = live - ? WHERE id = ?",
                [(count, block) for block, count in per_block],
            )
            blocks = connection.execute("DELETE FROM blocks WHERE live <= 0").rowcount
            cut = _day(before_ns)
            connection.execute("DELETE FROM day_counts WHERE day <= ?", (cut,))
            connection.execute(
                f"INSERT INTO day_counts (day, dataset, count) "
                f"SELECT ts_ns / {DAY_NS}, dataset, count(*) FROM rows "
                f"WHERE ts_ns >= ? AND ts_ns < ? GROUP BY 1, 2",
                (cut * DAY_NS, (cut + 1) * DAY_NS),
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        self._blocks.clear()
        # executescript steps the pragma to the end (execute stops after one page).
        connection.executescript("PRAGMA incremental_vacuum;")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return PruneOutcome(
            events=int(events),
            blocks=int(blocks),
            bytes_before=before,
            bytes_after=file_size(self.path),
        )

    # --- reading ---------------------------------------------------------------------

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection, for query modules that read the documented schema.

        ``events`` on it is a view with the schema-2 columns (``seq``, ``event_id``,
        ``ts_ns``, ``dataset`` ... ``country``, ``document``), so SQL written for the
        old table keeps working; new code should use :meth:`rows`.
        """
        return self._connection

    def count(self) -> int:
        row = self._connection.execute("SELECT coalesce(sum(count), 0) FROM day_counts").fetchone()
        return int(row[0])

    def last_seq(self) -> int:
        """The highest arrival sequence number stored, 0 if none.

        ``seq`` grows with arrival (a later insert has a larger one) and is never handed
        out again, also after :meth:`prune`; "what arrived since" is ``seq > last_seq``.
        """
        row = self._connection.execute("SELECT max(seq) FROM rows").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def rows(
        self,
        fields: Sequence[str],
        *,
        after_seq: int | None = None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        batch_size: int = 5000,
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Batches of rows ``(seq, event_id, ts_ns, value of each field in fields order)``.

        ``fields`` are dotted ECS names; a value is the field's string (or number) or
        None when the document lacks it or holds a non-scalar. Filters: ``seq >
        after_seq``, ``since_ns <= ts_ns < until_ns``. Order: by ``seq`` when
        ``after_seq`` is given, else by ``(ts_ns, seq)``. Fields with a column
        (:data:`~onepassword_ecs.sinks.FIELD_COLUMNS`) are read from it; any other field
        falls back to reading the document. Memory is one batch.
        """
        selected = ["r.seq", "r.event_key", "r.ts_ns"]
        joins = []
        plan: list[int | str] = []  # an int: position in the SELECT; a str: a document field
        for index, field in enumerate(fields):
            column = FIELD_COLUMNS.get(field)
            if column is None:
                plan.append(field)
                continue
            joins.append(f"JOIN strings AS f{index} ON f{index}.id = r.{column}")
            plan.append(len(selected))
            selected.append(f"f{index}.value")
        needs_document = any(isinstance(step, str) for step in plan)
        if needs_document:
            selected += ["r.block", "r.slot"]
        clauses, params = _ranges(since_ns, until_ns, prefix="r.")
        if after_seq is not None:
            clauses.append("r.seq > ?")
            params.append(after_seq)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "r.seq" if after_seq is not None else "r.ts_ns, r.seq"
        sql = f"SELECT {', '.join(selected)} FROM rows AS r {' '.join(joins)}{where}"
        sql += f" ORDER BY {order}"
        with self._reading():
            yield from self._batches(self._connection.execute(sql, params), plan, batch_size)

    def _batches(
        self, cursor: sqlite3.Cursor, plan: list[int | str], batch_size: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        needs_document = any(isinstance(step, str) for step in plan)
        block_at = 3 + sum(isinstance(step, int) for step in plan)
        while True:
            fetched = cursor.fetchmany(batch_size)
            if not fetched:
                return
            batch = []
            for row in fetched:
                document = None
                if needs_document:
                    document = orjson.loads(self._blocks.document(row[block_at], row[block_at + 1]))
                values: list[Any] = [row[0], decode_key(row[1]), row[2]]
                for step in plan:
                    if isinstance(step, int):
                        values.append(row[step])
                    else:
                        assert document is not None
                        values.append(field_value(document, step))
                batch.append(tuple(values))
            yield batch

    def documents(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored documents, decoded, for those of ``event_ids`` that are stored.

        An id is found through the ``(day, id)`` index, one probe per stored day: ids
        alone are not indexed (an index on random ids is what made writes slow).
        """
        listing = self._connection.execute("SELECT DISTINCT day FROM day_counts")
        days = [int(row[0]) for row in listing]
        if not days:
            return {}
        listed = ", ".join(str(day) for day in days)
        sql = f"SELECT block, slot FROM rows WHERE day IN ({listed}) AND event_key = ? LIMIT 1"
        found: dict[str, dict[str, Any]] = {}
        with self._reading():
            for event_id in dict.fromkeys(event_ids):
                row = self._connection.execute(sql, (encode_key(event_id),)).fetchone()
                if row is not None:
                    found[event_id] = orjson.loads(self._blocks.document(row[0], row[1]))
        return found

    def iter_encoded(
        self, *, since_ns: int | None = None, until_ns: int | None = None
    ) -> Iterator[bytes]:
        """Stored documents as their canonical bytes, in time order (then arrival order).

        ``since_ns`` is inclusive and ``until_ns`` exclusive. Rows are fetched lazily
        and blocks inflated once each while they are read, so memory stays flat
        whatever the store's size.
        """
        clauses, params = _ranges(since_ns, until_ns)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        cursor = self._connection.execute(
            f"SELECT block, slot FROM rows{where} ORDER BY ts_ns, seq", params
        )
        document = self._blocks.document
        with self._reading():
            for block, slot in cursor:
                yield document(block, slot)

    def iter_documents(
        self, *, since_ns: int | None = None, until_ns: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Stored documents as dicts, in time order; see :meth:`iter_encoded`."""
        for encoded in self.iter_encoded(since_ns=since_ns, until_ns=until_ns):
            yield orjson.loads(encoded)

    # --- blocks ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn SQLite's complaint about a damaged file, mid-read, into a StoreError."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise StoreError(_explain(self.path, exc, self.readonly)) from None

    def _document_of(self, block: int, slot: int) -> bytes:
        """``op_document(block, slot)`` in SQL: one document's canonical bytes."""
        return self._blocks.document(block, slot)

    def _load_block(self, block: int) -> tuple[bytes, bytes]:
        row = self._connection.execute(
            "SELECT dictionary, data FROM blocks WHERE id = ?", (block,)
        ).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: block {block} is missing (the file is damaged)")
        number = int(row[0])
        dictionary = self._dictionaries.get(number)
        if dictionary is None:
            found = self._connection.execute(
                "SELECT data FROM dictionaries WHERE id = ?", (number,)
            ).fetchone()
            dictionary = bytes(found[0]) if found else b""
            self._dictionaries[number] = dictionary
        return bytes(row[1]), dictionary


def _ranges(
    since_ns: int | None, until_ns: int | None, prefix: str = ""
) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since_ns is not None:
        clauses.append(f"{prefix}ts_ns >= ?")
        params.append(since_ns)
    if until_ns is not None:
        clauses.append(f"{prefix}ts_ns < ?")
        params.append(until_ns)
    return clauses, params


def _check_file(target: Path, readonly: bool) -> None:
    """Refuse, before SQLite touches it, a path that cannot be a store."""
    if target.is_dir():
        raise StoreError(f"{target}: a folder, not a store file; give --store a file path")
    if not target.exists():
        if readonly:
            raise StoreError(f"{target}: no such store")
        if target.parent and not target.parent.exists():
            raise StoreError(f"{target}: folder {target.parent} does not exist")
        return
    try:
        with target.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(
            f"{target}: cannot be read ({exc.strerror}); check its permissions"
        ) from None
    if head and head != _SQLITE_MAGIC:
        raise StoreError(
            f"{target}: not a usable store: not an SQLite file; give --store another path "
            "(or move this file away)"
        )
    if not readonly and not os.access(target, os.W_OK):
        raise StoreError(
            f"{target}: the file is read-only; make it writable (chmod u+w) or only read it "
            "(store stats, store export)"
        )


def _explain(target: Path, exc: BaseException, readonly: bool) -> str:
    """A StoreError message for an SQLite failure while opening: what and what to do."""
    text = str(exc)
    if isinstance(exc, UnicodeDecodeError) or "decode" in text:
        return (
            f"{target}: not a usable store: it holds text that is not UTF-8 where the "
            "store keeps its schema; give --store another path"
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return (
            f"{target}: not a usable store: the file is damaged ({text}); restore it from "
            "a backup, or recover what is readable with sqlite3's .recover"
        )
    if "readonly" in text or "read-only" in text:
        return (
            f"{target}: cannot write here ({text}); make the file and its folder writable, "
            "or only read it (store stats, store export)"
        )
    if "unable to open" in text:
        where = "read" if readonly else "open for writing"
        return (
            f"{target}: cannot {where} it ({text}); check the file's and its folder's permissions"
        )
    return f"{target}: not a usable store ({text})"


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (ours hold no ``;`` inside literals)."""
    return [part.strip() for part in script.split(";") if part.strip()]
