"""The engine's state in the store file: tables of the detect room, versioned on their own.

The store room owns ``events`` and ``alerts``; these tables are the detection engine's
memory between runs (:class:`~._incremental.EngineState` and each history check's map):

- ``detect_meta``: this layout's version, the arrival watermark (the last ``events.seq``
  evaluated), the newest event time evaluated, and a fingerprint of the rules and
  context the state was built with;
- ``detect_tail``: the events a correlation window may still need, with their fields;
- ``detect_bursts``: the last burst of each correlation group (its alert's first event);
- ``detect_history``: the history checks' maps (first-seen values, last locations,
  silence watermarks, the learning period's start), each entry with when it expires.

All of it is derived from the events: a file whose state has an older layout, or was
built with other rules or another context, simply has it dropped, and the next run
evaluates everything again (the alert ledger keeps each alert raised once). A newer
layout is refused, as the store refuses a newer schema.

:func:`save` writes what changed and the round's alerts **in one transaction**, so a
crash leaves either both or neither: no alert is raised twice or lost because the state
and the alerts disagree.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from .._errors import DetectionError
from ..sinks import timestamp_ns
from ._alerts import AlertKey
from ._incremental import Burst, Engine, EngineState, TailRow, expired_history

__all__ = ["STATE_VERSION", "fingerprint", "load", "save"]

STATE_VERSION = 1

_TABLES = ("detect_tail", "detect_bursts", "detect_history", "detect_meta")
_CREATE = (
    "CREATE TABLE IF NOT EXISTS detect_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS detect_tail (event_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, "
    "ts_ns INTEGER NOT NULL, keep_until_ns INTEGER NOT NULL, fields TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS detect_bursts (rule_id TEXT NOT NULL, group_key TEXT NOT NULL, "
    "first_event_id TEXT NOT NULL, last_ns INTEGER NOT NULL, event_ids TEXT NOT NULL, "
    "PRIMARY KEY (rule_id, group_key))",
    "CREATE TABLE IF NOT EXISTS detect_history (rule_id TEXT NOT NULL, key TEXT NOT NULL, "
    "value TEXT NOT NULL, expires_ns INTEGER, PRIMARY KEY (rule_id, key))",
)


def fingerprint(engine: Engine) -> str:
    """What the state depends on: the enabled rules as compiled, and the context."""
    # The context's file name is not part of what it says: the same file read from
    # another path (or the same lists given another way) keeps the state.
    parts = [repr(dataclasses.replace(engine.context, source="")), ",".join(engine.fields)]
    parts += [f"{rule.name}:{queries}" for rule, queries in engine.single]
    parts += [
        f"{c.rule.name}:{c.span_ns}:{json.dumps(c.plan, sort_keys=True)}"
        for c in engine.correlations
    ]
    parts += [f"{check.rule.name}:{check.rule.params}" for check in engine.history]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _has_meta(connection: sqlite3.Connection) -> bool:
    row = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'detect_meta'"
    ).fetchone()
    return row is not None


def _meta(connection: sqlite3.Connection) -> dict[str, str]:
    if not _has_meta(connection):
        return {}
    return dict(connection.execute("SELECT key, value FROM detect_meta").fetchall())


def load(connection: sqlite3.Connection, engine: Engine) -> EngineState | None:
    """The saved state for this engine, or None (none saved, or not for these rules).

    Raises DetectionError when the state was written by a newer program.
    """
    meta = _meta(connection)
    if not meta:
        return None
    version = int(meta.get("version", "0"))
    if version > STATE_VERSION:
        raise DetectionError(
            f"the store's detection state has layout {version}, newer than this program's "
            f"{STATE_VERSION}; upgrade onepassword-ecs, or run detect --full with it"
        )
    if version != STATE_VERSION or meta.get("fingerprint") != fingerprint(engine):
        return None
    state = EngineState(
        arrival_seq=int(meta.get("arrival_seq", "0")),
        evaluated_ns=int(meta["evaluated_ns"]) if meta.get("evaluated_ns") else None,
    )
    for event_id, seq, ts_ns, keep, fields in connection.execute(
        "SELECT event_id, seq, ts_ns, keep_until_ns, fields FROM detect_tail"
    ):
        state.tail[event_id] = TailRow(int(seq), int(ts_ns), int(keep), orjson.loads(fields))
    for rule_id, group_key, first, last_ns, ids in connection.execute(
        "SELECT rule_id, group_key, first_event_id, last_ns, event_ids FROM detect_bursts"
    ):
        state.bursts[(rule_id, group_key)] = Burst(first, orjson.loads(ids), int(last_ns))
    checks = {check.rule.name: check for check in engine.history}
    for check in engine.history:
        check.state.clear()
        check.dirty.clear()
    for rule_id, key, value in connection.execute("SELECT rule_id, key, value FROM detect_history"):
        owner = checks.get(rule_id)
        if owner is not None:
            owner.state[key] = orjson.loads(value)
    return state


def save(
    connection: sqlite3.Connection,
    engine: Engine,
    state: EngineState | None,
    alerts: Sequence[tuple[AlertKey, dict[str, Any]]],
    *,
    replace: bool = False,
) -> None:
    """Record the alerts and (unless ``state`` is None) the state's changes, atomically.

    ``replace`` rewrites the whole state (after a run that rebuilt it from nothing).
    """
    rows = [
        (*key, timestamp_ns(alert["@timestamp"]), orjson.dumps(alert, option=orjson.OPT_SORT_KEYS))
        for key, alert in alerts
    ]
    connection.execute("BEGIN IMMEDIATE")
    try:
        if rows:
            connection.executemany(
                "INSERT OR IGNORE INTO alerts "
                "(rule_id, group_key, first_event_id, ts_ns, document) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        if state is not None:
            _write_state(connection, engine, state, replace)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    if state is not None:
        state.clean()
        for check in engine.history:
            check.dirty.clear()


def _write_state(
    connection: sqlite3.Connection, engine: Engine, state: EngineState, replace: bool
) -> None:
    meta = _meta(connection)
    if meta and int(meta.get("version", "0")) != STATE_VERSION:
        replace = True
    if replace:
        for table in _TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in _CREATE:
        connection.execute(statement)
    tail_ids = state.tail if replace else state.tail_added
    connection.executemany(
        "INSERT OR REPLACE INTO detect_tail VALUES (?, ?, ?, ?, ?)",
        (
            (i, row.seq, row.ts_ns, row.keep_until_ns, orjson.dumps(row.values))
            for i in tail_ids
            if (row := state.tail.get(i)) is not None
        ),
    )
    if not replace:
        connection.executemany(
            "DELETE FROM detect_tail WHERE event_id = ?", ((i,) for i in state.tail_removed)
        )
    burst_keys = state.bursts if replace else state.bursts_changed
    connection.executemany(
        "INSERT OR REPLACE INTO detect_bursts VALUES (?, ?, ?, ?, ?)",
        (
            (*key, burst.first_event_id, burst.last_ns, orjson.dumps(burst.event_ids))
            for key in burst_keys
            if (burst := state.bursts.get(key)) is not None
        ),
    )
    if not replace:
        connection.executemany(
            "DELETE FROM detect_bursts WHERE rule_id = ? AND group_key = ?",
            state.bursts_removed,
        )
    for check in engine.history:
        name = check.rule.name
        if state.evaluated_ns is not None:
            for key in expired_history(check, state.evaluated_ns):
                del check.state[key]
                check.dirty.add(key)
        keys = check.state if replace else check.dirty
        connection.executemany(
            "INSERT OR REPLACE INTO detect_history VALUES (?, ?, ?, ?)",
            (
                (name, key, orjson.dumps(value).decode(), check.expires(key, value))
                for key in keys
                if (value := check.state.get(key)) is not None
            ),
        )
        if not replace:
            connection.executemany(
                "DELETE FROM detect_history WHERE rule_id = ? AND key = ?",
                ((name, key) for key in check.dirty if key not in check.state),
            )
    connection.executemany(
        "INSERT OR REPLACE INTO detect_meta VALUES (?, ?)",
        [
            ("version", str(STATE_VERSION)),
            ("fingerprint", fingerprint(engine)),
            ("arrival_seq", str(state.arrival_seq)),
            ("evaluated_ns", "" if state.evaluated_ns is None else str(state.evaluated_ns)),
        ],
    )
