"""A store written by the previous release (schema 2) opens with this one, intact.

The old layout is made here from the old migrations' own text (kept below as it was
shipped) and filled the way the old ``EventStore.write`` did (one row per document, the
whole canonical JSON in ``document``), so the test does not depend on any old code
being installed. Opening it for writing must carry every event and alert over: the same
bytes back from ``export``, the same ``seq`` for each event, alert identity (rule,
group key, first event) unchanged so no alert is raised twice, and duplicates still
recognized.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import normalize
from onepassword_ecs._errors import StoreError
from onepassword_ecs.sinks import SCHEMA_VERSION, EventStore, timestamp_ns
from onepassword_ecs.sinks._columns import column_values
from onepassword_ecs.stream import Batch
from records import ALICE, BOB, audit, item_usage, signin

# The release's migrations 1 and 2, verbatim.
OLD_MIGRATIONS = (
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


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _old_row(encoded: bytes) -> tuple[Any, ...]:
    """The release's ``event_row``: the same column rules, whole document last."""
    document = orjson.loads(encoded)
    event = document.get("event") or {}
    event_id = _text(event.get("id")) or "sha256:" + hashlib.sha256(encoded).hexdigest()
    user = document.get("user") or {}
    target = user.get("target") or {}
    source = document.get("source") or {}
    client = document.get("client") or {}
    return (
        event_id,
        timestamp_ns(document["@timestamp"]),
        _text(event.get("dataset")) or "unknown",
        _text(event.get("action")),
        _text(event.get("outcome")),
        _text(user.get("id")),
        _text(user.get("email")),
        _text(target.get("id")),
        _text(source.get("ip")) or _text(client.get("ip")),
        _text((source.get("geo") or {}).get("country_iso_code"))
        or _text((client.get("geo") or {}).get("country_iso_code")),
        encoded,
    )


def _documents() -> list[bytes]:
    documents = []
    for index in range(260):
        when = f"2025-03-{10 + index // 100:02d}T{index % 24:02d}:{index % 60:02d}:00Z"
        uuid = f"OLD{index:023d}"
        kind = index % 3
        if kind == 0:
            record = signin(uuid=uuid, timestamp=when)
        elif kind == 1:
            record = item_usage(uuid=uuid, timestamp=when, user=ALICE)
        else:
            record = audit(uuid=uuid, timestamp=when, actor_details=BOB)
        documents.append(orjson.dumps(normalize(record), option=orjson.OPT_SORT_KEYS))
    # One document with no event id: the old store keyed it by its sha256.
    documents.append(b'{"@timestamp":"2025-03-12T00:00:00.000000000Z","message":"no id"}')
    return documents


ALERTS = [
    ("signin_brute_force", "user=U1", "OLD00000000000000000000000", 5, b'{"alert":1}'),
    ("vault_export", "vault=V", "OLD00000000000000000000002", 7, b'{"alert":2}'),
]


def _old_store(path: Path, documents: list[bytes]) -> list[tuple[int, str]]:
    """A schema-2 store as the release wrote it; returns its (seq, event_id) rows."""
    with sqlite3.connect(path, isolation_level=None) as connection:
        connection.execute("PRAGMA page_size = 16384")
        connection.execute("PRAGMA journal_mode = WAL")
        for number, script in enumerate(OLD_MIGRATIONS):
            connection.execute("BEGIN")
            for statement in [part for part in script.split(";") if part.strip()]:
                connection.execute(statement)
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(number + 1),),
            )
            connection.execute("COMMIT")
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT OR IGNORE INTO events (event_id, ts_ns, dataset, action, outcome, user_id, "
            "user_email, target_user_id, source_ip, country, document) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            # In two passes and out of time order, so seq is not time order.
            [_old_row(d) for d in documents[130:]] + [_old_row(d) for d in documents[:130]],
        )
        connection.execute("DELETE FROM events WHERE event_id = 'OLD00000000000000000000007'")
        connection.executemany("INSERT INTO alerts VALUES (?, ?, ?, ?, ?)", ALERTS)
        connection.execute("COMMIT")
        rows = connection.execute("SELECT seq, event_id FROM events ORDER BY seq").fetchall()
        assert connection.execute("PRAGMA user_version").fetchone() == (0,)
    return [(int(seq), str(event_id)) for seq, event_id in rows]


@pytest.fixture
def old(tmp_path: Path) -> tuple[Path, list[bytes], list[tuple[int, str]]]:
    path = tmp_path / "old.db"
    documents = _documents()
    rows = _old_store(path, documents)
    with sqlite3.connect(path) as connection:
        expected = [
            bytes(row[0])
            for row in connection.execute("SELECT document FROM events ORDER BY ts_ns, seq")
        ]
    return path, expected, rows


def test_an_old_store_is_refused_read_only_until_opened_for_writing(
    old: tuple[Path, list[bytes], list[tuple[int, str]]],
) -> None:
    path, _, _ = old
    with pytest.raises(StoreError, match="store schema 2 is older than"):
        EventStore.open(path, readonly=True)


def test_every_event_and_alert_is_carried_over(
    old: tuple[Path, list[bytes], list[tuple[int, str]]],
) -> None:
    path, expected, old_rows = old
    assert len(old_rows) == 260  # 261 documents, one deleted: a gap in seq
    EventStore.open(path).close()
    with EventStore.open(path, readonly=True) as store:
        assert list(store.iter_encoded()) == expected  # export: the same bytes, same order
        by_arrival = [row for batch in store.rows([], after_seq=0) for row in batch]
        assert [(row[0], row[1]) for row in by_arrival] == old_rows  # seq kept, gap too
        assert store.last_seq() == old_rows[-1][0]
        alerts = store.connection.execute(
            "SELECT rule_id, group_key, first_event_id, ts_ns, document FROM alerts "
            "ORDER BY rule_id"
        ).fetchall()
        assert [(*tuple(row[:4]), bytes(row[4])) for row in alerts] == ALERTS
        fields = ["event.dataset", "user.id", "user.email", "source.ip", "event.action"]
        values = {row[1]: row[3:] for batch in store.rows(fields) for row in batch}
        for document in expected:
            parsed = orjson.loads(document)
            event_id = (parsed.get("event") or {}).get("id")
            if event_id is None:
                continue
            columns = dict(
                zip(
                    ["dataset", "action", "outcome", "user_id", "user_email"],
                    column_values(parsed)[:5],
                    strict=True,
                )
            )
            got = dict(zip(fields, values[event_id], strict=True))
            assert got["event.dataset"] == columns["dataset"]
            assert got["user.id"] == columns["user_id"]
            assert got["event.action"] == columns["action"]
        assert store.count() == 260
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert raw.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # prunes give space back
        kinds = dict(raw.execute("SELECT name, type FROM sqlite_master"))
        assert "events_v2" not in kinds and kinds["events"] == "view"
        # Any SQLite tool reads the events view (all but the documents) as before.
        plain = raw.execute("SELECT seq, event_id FROM events ORDER BY seq").fetchall()
        assert plain == old_rows
        version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert version == (str(SCHEMA_VERSION),)


def test_after_the_migration_old_events_are_duplicates_and_new_ones_follow(
    old: tuple[Path, list[bytes], list[tuple[int, str]]],
) -> None:
    path, expected, old_rows = old
    with EventStore.open(path) as store:
        again = store.write(Batch.of(expected))
        store.flush()
        assert (again.accepted, again.duplicates) == (0, len(expected))
        fresh = orjson.dumps(
            normalize(signin(uuid="NEW00000000000000000000000", timestamp="2025-03-13T00:00:00Z")),
            option=orjson.OPT_SORT_KEYS,
        )
        assert store.write(Batch.of([fresh])).accepted == 1
        store.flush()
        assert store.last_seq() > old_rows[-1][0]
        # The old store's deleted event is stored anew, as any event not yet stored.
        lost = [d for d in _documents() if b"OLD00000000000000000000007" in d]
        assert store.write(Batch.of(lost)).accepted == 1
        store.flush()
