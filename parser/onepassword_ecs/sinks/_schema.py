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

Documents are kept as the canonical bytes ``convert`` writes (schema 1 and 2: whole in
each row; schema 3: compressed in blocks), so an export is byte-identical to a
conversion. Time is nanoseconds since the epoch, an integer that sorts and ranges
cheaply.
"""

from __future__ import annotations

from ._columns import COLUMNS

__all__ = ["DAY_NS", "EVENTS_VIEW", "MIGRATIONS", "SCHEMA_VERSION", "STATISTICS"]

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
_INNER = frozenset({"user_id", "target_user_id"})
"""Columns the investigations filter with ``IN (...)``: joined with inner joins, which
the planner may start from (strings first, then the person index). SQLite turns a LEFT
JOIN into an inner one for ``=`` but not for ``IN``, and only a LEFT JOIN whose column is
not used is left out of a query; every other column keeps its LEFT JOIN for that."""

_VIEW_JOINS = "\n".join(
    f"{'' if c.name in _INNER else 'LEFT '}JOIN main.strings AS c_{c.name} "
    f"ON c_{c.name}.id = r.{c.name}"
    for c in COLUMNS
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
    # once (rows_key); the investigation's lookups by person, e-mail, affected person
    # (only where there is one) and address. Every index but the time one leads with
    # the UTC day, so the inserts of a day land in that day's corner of each index and
    # a commit rewrites a few pages, however large the store (on (user_id, ts_ns) they
    # touched a page per person, every commit: 4.7 KB written per event at 1 M and
    # growing). A lookup by person without a day is a skip-scan, one seek per stored
    # day (ANY(day) in the plan); STATISTICS below tell the planner it can do that.
    # A column with no value holds 0, the id of strings' one NULL, not NULL, so the
    # views may join strings with an inner join (see _INNER); 0 and NULL both take no
    # bytes in a row. E-mail and affected person are looked up by value (the
    # time checked on the row), so their indexes do without ts_ns.
    f"""
    ALTER TABLE events RENAME TO events_v2;
    CREATE TABLE strings (id INTEGER PRIMARY KEY, value UNIQUE);
    INSERT INTO strings (id, value) VALUES (0, NULL);
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
        day INTEGER NOT NULL,
        event_key NOT NULL,
        block INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        {_COLUMN_DEFINITIONS}
    );
    CREATE INDEX rows_time ON rows (ts_ns);
    CREATE UNIQUE INDEX rows_key ON rows (day, event_key);
    CREATE INDEX rows_user ON rows (day, user_id, ts_ns);
    CREATE INDEX rows_email ON rows (day, user_email);
    CREATE INDEX rows_target ON rows (day, target_user_id);
    CREATE INDEX rows_ip ON rows (day, source_ip, ts_ns);
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

STATISTICS: tuple[tuple[str, str, str], ...] = (
    ("rows", "rows_time", "10000000 1"),
    ("rows", "rows_key", "10000000 80000 1"),
    ("rows", "rows_user", "10000000 80000 20 1"),
    ("rows", "rows_email", "10000000 80000 20"),
    ("rows", "rows_target", "10000000 80000 20"),
    ("rows", "rows_ip", "10000000 80000 20 1"),
    ("strings", "sqlite_autoindex_strings_1", "200000 1"),
)
"""``sqlite_stat1`` rows for a store of 10 M events over 120 days (80,000 a day, 20 a
person a day), written once with the schema and not by ANALYZE (which would read the
whole store): they tell the planner that ``day`` has few values, so a lookup by person
over any time range skip-scans the person index, and never prefers the time index for
it. A plan, not a count, depends on them; the figures only need the right shape."""
