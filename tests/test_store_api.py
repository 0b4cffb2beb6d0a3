"""The store's reading contract with the detection engine, and retention.

``rows`` (columns by dotted ECS name, document fallback, filters, order), ``documents``,
``last_seq`` (grows with arrival, never reused, also after a prune) and ``prune`` (gives
the space back, keeps alerts, keeps what is newer byte for byte).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import normalize
from onepassword_ecs.sinks import FIELD_COLUMNS, EventStore, timestamp_ns
from onepassword_ecs.stream import Batch
from records import ALICE, BOB, audit, item_usage, signin

SORT = orjson.OPT_SORT_KEYS
RULE_FIELDS = (
    "event.action",
    "event.dataset",
    "event.outcome",
    "onepassword.client.app_name",
    "onepassword.country",
    "onepassword.item_uuid",
    "onepassword.object_type",
    "onepassword.object_uuid",
    "onepassword.vault_uuid",
    "source.ip",
    "user.email",
    "user.id",
    "user.name",
    "user.target.id",
)


def _encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps(normalize(record), option=SORT)


def _mixed(count: int, day: str = "2025-03-10") -> list[bytes]:
    """``count`` documents of all three datasets, one a minute from ``day`` 00:00."""
    documents = []
    for index in range(count):
        when = f"{day}T{index // 60 % 24:02d}:{index % 60:02d}:00.{index % 1000:03d}Z"
        uuid = f"EVENT{index:021d}"
        kind = index % 3
        if kind == 0:
            record = signin(uuid=uuid, timestamp=when)
        elif kind == 1:
            record = item_usage(uuid=uuid, timestamp=when, user=ALICE)
        else:
            record = audit(uuid=uuid, timestamp=when, actor_details=BOB)
        documents.append(_encode(record))
    return documents


def _get(document: dict[str, Any], field: str) -> Any:
    value: Any = document
    for key in field.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str | int | float) else None


def _store(path: Path, documents: list[bytes], per_write: int = 50) -> None:
    with EventStore.open(path) as store:
        for start in range(0, len(documents), per_write):
            store.write(Batch.of(documents[start : start + per_write]))
            store.flush()


def test_every_rule_field_has_a_column() -> None:
    assert set(RULE_FIELDS) <= set(FIELD_COLUMNS)


def test_rows_give_each_field_as_the_document_holds_it(tmp_path: Path) -> None:
    documents = _mixed(300)
    _store(tmp_path / "s.db", documents)
    fields = [*RULE_FIELDS, "event.kind", "onepassword.session_uuid", "event.category", "nope"]
    with EventStore.open(tmp_path / "s.db", readonly=True) as store:
        got = [row for batch in store.rows(fields, batch_size=64) for row in batch]
    expected = []
    for encoded in documents:
        document = orjson.loads(encoded)
        stamp = timestamp_ns(document["@timestamp"])
        values = tuple(_get(document, field) for field in fields)
        expected.append((document["event"]["id"], stamp, values))
    expected.sort(key=lambda entry: entry[1])  # time order (then arrival: ties keep it)
    assert [(row[1], row[2], row[3:]) for row in got] == expected
    # Non-scalar (a list) is None; the columns were not all empty.
    assert all(row[3 + fields.index("event.category")] is None for row in got)
    assert {row[3 + fields.index("event.dataset")] for row in got} == {
        "1password.signin_attempts",
        "1password.item_usages",
        "1password.audit_events",
    }
    assert any(row[3 + fields.index("onepassword.vault_uuid")] for row in got)


def test_rows_filters_and_order(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    late_day, early_day = _mixed(40, "2025-03-11"), _mixed(40, "2025-03-10")
    # Different ids for the second day's records.
    early_day = [d.replace(b"EVENT0", b"EARLY0") for d in early_day]
    _store(path, late_day)
    _store(path, early_day)  # arrives later, happened earlier
    with EventStore.open(path, readonly=True) as store:
        every = [row for batch in store.rows(["user.id"]) for row in batch]
        assert [row[2] for row in every] == sorted(row[2] for row in every)
        by_arrival = [row for batch in store.rows(["user.id"], after_seq=0) for row in batch]
        assert [row[0] for row in by_arrival] == sorted(row[0] for row in by_arrival)
        assert by_arrival[0][1].startswith("EVENT") and by_arrival[-1][1].startswith("EARLY")
        middle = by_arrival[39][0]
        after = [row for batch in store.rows([], after_seq=middle) for row in batch]
        assert [row[1] for row in after] == [row[1] for row in by_arrival[40:]]
        since = timestamp_ns("2025-03-10T00:10:00.000000000Z")
        until = timestamp_ns("2025-03-11T00:00:00.000000000Z")
        window = [row for batch in store.rows([], since_ns=since, until_ns=until) for row in batch]
        assert window and all(since <= row[2] < until for row in window)
        assert len(window) == sum(1 for row in every if since <= row[2] < until)
        assert [len(batch) for batch in store.rows([], batch_size=30)] == [30, 30, 20]


def test_seq_grows_with_arrival_and_is_never_reused_after_a_prune(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with EventStore.open(path) as store:
        assert store.last_seq() == 0
        store.write(Batch.of(_mixed(10, "2025-03-10")))
        store.flush()
        first = store.last_seq()
        assert first == 10
        # The newest arrival is the oldest in time; pruning it must not free its seq.
        old = [d.replace(b"EVENT0", b"OLDER0") for d in _mixed(5, "2025-01-01")]
        store.write(Batch.of(old))
        store.flush()
        assert store.last_seq() == 15
        outcome = store.prune(timestamp_ns("2025-02-01T00:00:00.000000000Z"))
        assert outcome.events == 5
        assert store.last_seq() == 10  # the highest stored
        newer = [d.replace(b"EVENT0", b"NEWER0") for d in _mixed(3, "2025-03-12")]
        store.write(Batch.of(newer))
        store.flush()
        seqs = [row[0] for batch in store.rows([], after_seq=10) for row in batch]
    assert seqs == [16, 17, 18]


def test_documents_by_event_id(tmp_path: Path) -> None:
    documents = _mixed(30)
    _store(tmp_path / "s.db", documents)
    wanted = ["EVENT" + f"{n:021d}" for n in (0, 7, 29)] + ["ABSENT"]
    with EventStore.open(tmp_path / "s.db", readonly=True) as store:
        found = store.documents(wanted)
    assert set(found) == set(wanted[:3])
    for event_id, document in found.items():
        index = int(event_id[5:])
        assert document == orjson.loads(documents[index])


def test_api_style_ids_are_stored_compactly_and_come_back_the_same(tmp_path: Path) -> None:
    ids = ["ZQB52DDKUEQB6UW4ZWXBBIZDWZ", "56YE2TYN2VFYRLNSHKPW5NVT5E", "lower-or-other", "A" * 26]
    documents = [
        _encode(signin(uuid=uuid, timestamp=f"2025-03-10T10:00:0{n}Z"))
        for n, uuid in enumerate(ids)
    ]
    _store(tmp_path / "s.db", documents)
    with EventStore.open(tmp_path / "s.db", readonly=True) as store:
        got = [row[1] for batch in store.rows([]) for row in batch]
        kinds = dict(
            store.connection.execute("SELECT typeof(event_key), count(*) FROM rows GROUP BY 1")
        )
        assert set(store.documents(ids)) == set(ids)
    assert got == ids
    assert kinds["blob"] >= 2  # the Events API form: 17 bytes
    assert kinds["text"] >= 1


def test_prune_keeps_alerts_and_newer_events_and_gives_space_back(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    old = [d.replace(b"EVENT0", b"OLDER0") for d in _mixed(3000, "2025-01-01")]
    new = _mixed(300, "2025-03-10")
    _store(path, old + new, per_write=500)
    with EventStore.open(path) as store:
        store.connection.execute(
            "INSERT INTO alerts (rule_id, group_key, first_event_id, ts_ns, document) "
            "VALUES ('r', 'g', 'OLDER000000000000000000000', 1, x'7b7d')"
        )
        kept = list(store.iter_encoded(since_ns=timestamp_ns("2025-03-01T00:00:00Z")))
        outcome = store.prune(timestamp_ns("2025-03-01T00:00:00.000000000Z"))
        assert outcome.events == 3000
        assert outcome.blocks > 0
        assert outcome.bytes_after < outcome.bytes_before * 0.5
        assert list(store.iter_encoded()) == kept == sorted(new, key=_stamp)
        assert store.count() == 300
        assert store.connection.execute("SELECT count(*) FROM alerts").fetchone() == (1,)
        assert store.connection.execute("SELECT count(*) FROM blocks").fetchone()[0] > 0
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert raw.execute("PRAGMA freelist_count").fetchone() == (0,)


def test_prune_inside_a_day_recounts_that_day(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    _store(path, _mixed(120, "2025-03-10"))  # 00:00 .. 01:59
    with EventStore.open(path) as store:
        store.prune(timestamp_ns("2025-03-10T01:00:00.000000000Z"))
        assert store.count() == 60
        counted = store.connection.execute("SELECT sum(count) FROM day_counts").fetchone()
    assert counted == (60,)


def _stamp(encoded: bytes) -> int:
    return timestamp_ns(orjson.loads(encoded)["@timestamp"])


def test_a_read_only_store_refuses_a_prune(tmp_path: Path) -> None:
    from onepassword_ecs._errors import StoreError

    _store(tmp_path / "s.db", _mixed(3))
    with (
        EventStore.open(tmp_path / "s.db", readonly=True) as store,
        pytest.raises(StoreError, match="read-only"),
    ):
        store.prune(0)


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"user": "not an object", "event": {"dataset": "d", "id": "X"}},
        {"event": {"dataset": ["a", "list"], "action": {"an": "object"}, "outcome": True}},
        {"source": {"ip": 7, "geo": "nowhere"}, "client": {"ip": "192.0.2.1"}},
        {"client": {"ip": "192.0.2.1", "geo": {"country_iso_code": "DE"}}},
        {"onepassword": {"client": 5, "vault_uuid": 1.5, "country": None}},
        {"user": {"target": ["x"], "id": "U", "name": ""}},
    ],
)
def test_the_fast_column_reader_agrees_with_the_column_table(document: dict[str, Any]) -> None:
    from onepassword_ecs.sinks._columns import column_values, event_row

    assert event_row(document, orjson.dumps(document))[2] == column_values(document)


def test_the_fast_column_reader_agrees_on_every_kind_of_mapped_document() -> None:
    from onepassword_ecs.sinks._columns import column_values, event_row

    for encoded in _mixed(30):
        document = orjson.loads(encoded)
        values = event_row(document, encoded)[2]
        assert values == column_values(document)
        assert any(value is not None for value in values)


def test_any_sqlite_tool_reads_the_events_view_without_this_program(tmp_path: Path) -> None:
    ids = ["ZQB52DDKUEQB6UW4ZWXBBIZDWZ", "7" * 26, "A" * 26, "not-base32"]
    documents = [
        _encode(signin(uuid=uuid, timestamp=f"2025-03-10T10:00:0{n}Z"))
        for n, uuid in enumerate(ids)
    ]
    _store(tmp_path / "s.db", documents)
    with EventStore.open(tmp_path / "s.db", readonly=True) as store:
        ours = store.connection.execute(
            "SELECT seq, event_id, dataset, user_id, source_ip FROM events ORDER BY seq"
        ).fetchall()
    with sqlite3.connect(tmp_path / "s.db") as raw:  # no functions of this program
        plain = raw.execute(
            "SELECT seq, event_id, dataset, user_id, source_ip FROM events ORDER BY seq"
        ).fetchall()
        with pytest.raises(sqlite3.OperationalError, match="no such column: document"):
            raw.execute("SELECT document FROM events")
    assert plain == ours
    assert [row[1] for row in plain] == ids
