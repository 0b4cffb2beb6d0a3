"""The embedded store's SQLite schema, as an ordered list of migrations.

Schema 3 (the current layout) is described in ``docs/architecture.md`` ("The event
store"): documents compressed in blocks (``blocks``, ``dictionaries``), one narrow row
per event (``rows``) whose query columns are small integers into ``strings``, five
indexes, per-day counts (``day_counts``). Migrations 1 and 2 are kept as they were so a
store written by an older release (schema 1 or 2) is carried forward: migration 3
renames the old ``events`` table, and the store moves its documents into blocks (in
Python: SQLite cannot deflate) before dropping it. ``events`` is then a TEMP view each
connection makes (:data:`EVENTS_VIEW`), with the old columns, for the query modules.

The schema version is the number of migrations applied, recorded in the file itself
(``meta.schema_version``). Opening a file applies the missing migrations in order, in
one transaction each; a file whose version is higher than this program knows is refused
(an older program must not write into a newer layout it does not understand).

Documents are stored whole, as the canonical bytes ``convert`` writes, so an export is
byte-identical to a conversion. The columns beside them are what queries filter on:
time (nanoseconds since the epoch, an integer that sorts and ranges cheaply), dataset,
action, outcome, the actor, the affected user, the source address and country. Each
lookup index leads with the filtered column and ends with time, so "this user, this
week" is a range scan, not a table scan.
"""

from __future__ import annotations

from ._columns import COLUMNS

__all__ = ["DAY_NS", "EVENTS_VIEW", "MIGRATIONS", "SCHEMA_VERSION"]

DAY_NS = 86_400_000_000_000
"""One UTC day in nanoseconds; ``ts_ns / DAY_NS`` is the day number in SQL."""

_COLUMN_DEFINITIONS = ",\n        ".join(f"{column.name} INTEGER" for column in COLUMNS)
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _hex_digit(position: int) -> str:
    return f"(instr('0123456789ABCDEF', substr(hex(r.event_key), {position}, 1)) - 1)"


def _sql_event_id() -> str:
    """``event_key`` back to the event id in plain SQL (no function of this program).

    A 17-byte key is a 130-bit number written as 26 base32 characters: character ``k``
    is bits ``125 - 5k .. 129 - 5k``, read from the one or two hex digits that hold them.
    """
    characters = []
    for index in range(26):
        high = 130 - 5 * index
        low = high - 5
        top, bottom = (136 - high) // 4 + 1, (136 - low - 1) // 4 + 1
        value = _hex_digit(top)
        for position in range(top + 1, bottom + 1):
            value = f"({value} * 16 + {_hex_digit(position)})"
        shift = low - (136 - 4 * bottom)
        characters.append(f"substr('{_BASE32}', 1 + (({value} >> {shift}) & 31), 1)")
    return (
        "CASE WHEN typeof(r.event_key) = 'blob' THEN "
        + " || ".join(characters)
        + " ELSE r.event_key END"
    )


_VIEW_COLUMNS = ",\n    ".join(
    (f"coalesce(c_{c.name}.value, 'unknown')" if c.name == "dataset" else f"c_{c.name}.value")
    + f" AS {c.name}"
    for c in COLUMNS
)
_VIEW_JOINS = "\n".join(
    f"LEFT JOIN main.strings AS c_{c.name} ON c_{c.name}.id = r.{c.name}" for c in COLUMNS
)

MIGRATIONS: tuple[str, ...] = (
    # 1: events and their query columns.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        ts_ns INTEGER NOT NULL,
        dataset TEXT NOT NULL,
        action TEXT,
        outcome TEXT,
        user_id TEXT,
        user_email TEXT,
        target_user_id TEXT,
        source_ip TEXT,
        country TEXT,
        document BLOB NOT NULL
    );
    CREATE INDEX events_time ON events (ts_ns);
    CREATE INDEX events_dataset_time ON events (dataset, ts_ns);
    CREATE INDEX events_user_time ON events (user_id, ts_ns);
    CREATE INDEX events_email_time ON events (user_email, ts_ns);
    CREATE INDEX events_target_time ON events (target_user_id, ts_ns);
    CREATE INDEX events_ip_time ON events (source_ip, ts_ns);
    """,
    # 2: alerts raised by the detection engine, one row per (rule, group key, first
    # matched event), so repeated runs over the same events emit each alert once.
    """
    CREATE TABLE alerts (
        rule_id TEXT NOT NULL,
        group_key TEXT NOT NULL,
        first_event_id TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        document BLOB NOT NULL,
        PRIMARY KEY (rule_id, group_key, first_event_id)
    );
    CREATE INDEX alerts_time ON alerts (ts_ns);
    """,
    # 3: the compact layout. Why each index: time ranges (rows_time); storing an event
    # once (rows_key: its day first, so inserts stay in today's corner of the index
    # and never touch the rest; an index on the random id alone rewrote pages all
    # over it on every commit); the investigation's lookups by person, e-mail, affected
    # person and address (the affected person's only where there is one).
    f"""
    ALTER TABLE events RENAME TO events_v2;
    CREATE TABLE strings (id INTEGER PRIMARY KEY, value NOT NULL UNIQUE);
    CREATE TABLE dictionaries (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
    CREATE TABLE blocks (
        id INTEGER PRIMARY KEY,
        dictionary INTEGER NOT NULL,
        live INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE TABLE rows (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ns INTEGER NOT NULL,
        event_key NOT NULL,
        block INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        {_COLUMN_DEFINITIONS}
    );
    CREATE INDEX rows_time ON rows (ts_ns);
    CREATE UNIQUE INDEX rows_key ON rows (ts_ns / {DAY_NS}, event_key);
    CREATE INDEX rows_user ON rows (user_id, ts_ns);
    CREATE INDEX rows_email ON rows (user_email, ts_ns);
    CREATE INDEX rows_target ON rows (target_user_id, ts_ns) WHERE target_user_id IS NOT NULL;
    CREATE INDEX rows_ip ON rows (source_ip, ts_ns);
    CREATE TABLE day_counts (
        day INTEGER NOT NULL,
        dataset INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, dataset)
    ) WITHOUT ROWID;
    CREATE VIEW events AS SELECT
        r.seq AS seq,
        {_sql_event_id()} AS event_id,
        r.ts_ns AS ts_ns,
        {_VIEW_COLUMNS}
    FROM main.rows AS r
    {_VIEW_JOINS};
    """,
)

EVENTS_VIEW = f"""
CREATE TEMP VIEW IF NOT EXISTS events AS SELECT
    r.seq AS seq,
    op_event_id(r.event_key) AS event_id,
    r.ts_ns AS ts_ns,
    {_VIEW_COLUMNS},
    op_document(r.block, r.slot) AS document
FROM main.rows AS r
{_VIEW_JOINS}
"""
"""The schema-2 ``events`` table as a view over schema 3, made by each connection.

The file itself holds a view ``events`` with every column but ``document``, in plain
SQL, for any SQLite tool (``sqlite3 events.db "SELECT event_id FROM events"``). Each
connection this program opens shadows it with this TEMP view, which adds ``document``
and decodes ids faster, through this program's SQL functions (``op_document``,
``op_event_id``): a stored view using them would fail in every other tool."""

SCHEMA_VERSION = len(MIGRATIONS)
