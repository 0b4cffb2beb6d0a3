"""The embedded store's SQLite schema, as an ordered list of migrations.

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

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

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
)

SCHEMA_VERSION = len(MIGRATIONS)
