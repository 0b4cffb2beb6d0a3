"""The embedded event store: idempotent inserts, durable flush, schema versions, reads."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from onepassword_ecs import normalize
from onepassword_ecs._errors import StoreError
from onepassword_ecs.sinks import SCHEMA_VERSION, EventStore, timestamp_ns
from onepassword_ecs.stream import Batch

SORT = orjson.OPT_SORT_KEYS


def _signin(uuid: str, when: str, user: str = "U1") -> bytes:
    record = {
        "uuid": uuid,
        "timestamp": when,
        "category": "credentials_failed",
        "type": "password_secret_bad",
        "target_user": {"uuid": user, "name": "Ann", "email": "ann@example.com"},
        "client": {"ip_address": "192.0.2.7"},
        "location": {"country": "DE"},
    }
    return orjson.dumps(normalize(record), option=SORT)


def _batch(*documents: bytes) -> Batch:
    return Batch.of(list(documents))


def test_documents_come_back_byte_identical_in_time_order(tmp_path: Path) -> None:
    late = _signin("B", "2024-05-01T10:00:02Z")
    early = _signin("A", "2024-05-01T10:00:01.5Z")
    with EventStore.open(tmp_path / "s.db") as store:
        result = store.write(_batch(late, early))
        store.flush()
        assert (result.accepted, result.duplicates) == (2, 0)
    with EventStore.open(tmp_path / "s.db", readonly=True) as reader:
        assert list(reader.iter_encoded()) == [early, late]


def test_a_second_delivery_is_counted_as_duplicates_and_stores_nothing(tmp_path: Path) -> None:
    one, two = _signin("A", "2024-05-01T10:00:01Z"), _signin("B", "2024-05-01T10:00:02Z")
    with EventStore.open(tmp_path / "s.db") as store:
        store.write(_batch(one))
        store.flush()
        again = store.write(_batch(one, two))
        store.flush()
        assert (again.accepted, again.duplicates) == (1, 1)
        assert store.count() == 2


def test_unflushed_documents_are_not_stored(tmp_path: Path) -> None:
    with EventStore.open(tmp_path / "s.db") as store:
        store.write(_batch(_signin("A", "2024-05-01T10:00:01Z")))
        store.flush()
        store.write(_batch(_signin("B", "2024-05-01T10:00:02Z")))
        # closed without flush: B was never acknowledged
    with EventStore.open(tmp_path / "s.db", readonly=True) as reader:
        assert reader.count() == 1


def test_time_range_is_since_inclusive_until_exclusive(tmp_path: Path) -> None:
    docs = [_signin(f"E{i}", f"2024-05-01T10:00:0{i}Z") for i in range(5)]
    with EventStore.open(tmp_path / "s.db") as store:
        store.write(_batch(*docs))
        store.flush()
        since = timestamp_ns("2024-05-01T10:00:01.000000000Z")
        until = timestamp_ns("2024-05-01T10:00:03.000000000Z")
        got = list(store.iter_encoded(since_ns=since, until_ns=until))
    assert got == docs[1:3]


def test_query_columns_are_filled_from_the_document(tmp_path: Path) -> None:
    with EventStore.open(tmp_path / "s.db") as store:
        store.write(_batch(_signin("A", "2024-05-01T10:00:01Z", user="UX")))
        store.flush()
        row = store.connection.execute(
            "SELECT event_id, dataset, outcome, user_id, user_email, source_ip, country FROM events"
        ).fetchone()
    assert row == (
        "A",
        "1password.signin_attempts",
        "failure",
        "UX",
        "ann@example.com",
        "192.0.2.7",
        "DE",
    )


@pytest.mark.parametrize(
    ("column", "index", "lists"),
    [
        ("user_id", "rows_user", True),
        ("user_email", "rows_email", False),
        ("target_user_id", "rows_target", True),
        ("source_ip", "rows_ip", False),
    ],
)
def test_a_person_or_address_query_uses_its_index_not_a_scan(
    tmp_path: Path, column: str, index: str, lists: bool
) -> None:
    """Through the events view, one seek per stored day (ANY(day)), never a scan.

    ``lists``: the investigations also ask for several values at once (``IN``).
    """
    EventStore.open(tmp_path / "s.db").close()
    with EventStore.open(tmp_path / "s.db", readonly=True) as store:
        conditions: list[tuple[str, tuple[str, ...]]] = [(f"{column} = ?", ("U",))]
        if lists:
            conditions.append((f"{column} IN (?, ?)", ("U", "V")))
        for condition, values in conditions:
            plan = store.connection.execute(
                f"EXPLAIN QUERY PLAN SELECT ts_ns, document FROM events "
                f"WHERE {condition} AND ts_ns >= ? AND ts_ns < ? ORDER BY ts_ns, seq",
                (*values, 0, 1),
            ).fetchall()
            detail = " ".join(str(row[-1]) for row in plan)
            assert detail.startswith(f"SEARCH c_{column} USING COVERING INDEX"), detail
            assert f"USING INDEX {index} (ANY(day) AND {column}=?" in detail, detail
            assert "SCAN" not in detail


def test_timestamp_ns_agrees_with_the_general_parser() -> None:
    fast = timestamp_ns("2024-02-29T23:59:59.123456789Z")
    assert fast == 1709251199 * 1_000_000_000 + 123456789
    assert timestamp_ns("2024-02-29T23:59:59.123456+00:00") == fast - 789


def test_a_newer_store_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    EventStore.open(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(StoreError, match="newer onepassword-ecs"):
        EventStore.open(path)


def test_not_a_store_and_missing_store_are_store_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable store"):
        EventStore.open(junk)
    with pytest.raises(StoreError, match="no such store"):
        EventStore.open(tmp_path / "absent.db", readonly=True)


def test_a_read_only_store_refuses_writes(tmp_path: Path) -> None:
    EventStore.open(tmp_path / "s.db").close()
    with (
        EventStore.open(tmp_path / "s.db", readonly=True) as reader,
        pytest.raises(StoreError, match="read-only"),
    ):
        reader.write(_batch(_signin("A", "2024-05-01T10:00:01Z")))


def test_a_reader_sees_committed_documents_while_the_writer_holds_a_transaction(
    tmp_path: Path,
) -> None:
    with EventStore.open(tmp_path / "s.db") as writer:
        writer.write(_batch(_signin("A", "2024-05-01T10:00:01Z")))
        writer.flush()
        writer.write(_batch(_signin("B", "2024-05-01T10:00:02Z")))  # open transaction
        with EventStore.open(tmp_path / "s.db", readonly=True) as reader:
            assert reader.count() == 1  # WAL: not blocked, sees only what was committed
        writer.flush()
        with EventStore.open(tmp_path / "s.db", readonly=True) as reader:
            assert reader.count() == 2


def test_a_new_store_uses_4_kib_pages_and_incremental_vacuum(tmp_path: Path) -> None:
    """Small pages: a commit rewrites only the index pages it touched, 4 KiB each."""
    EventStore.open(tmp_path / "new.db").close()
    with sqlite3.connect(tmp_path / "new.db") as raw:
        assert raw.execute("PRAGMA page_size").fetchone() == (4096,)
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental
