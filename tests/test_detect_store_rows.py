"""The store contract the detection engine reads through (``last_seq``, ``rows``, ``documents``).

The store room is growing these as ``EventStore`` methods; until then the detect room
implements them over today's schema. Either way the engine relies on exactly this:
ranges by arrival and by time, the order of each, and every dotted field's value —
whether the store keeps it in a column or only in the document.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from onepassword_ecs.detect._store_rows import documents, last_seq, rows
from onepassword_ecs.sinks import EventStore
from onepassword_ecs.stream import Batch

_NS = 1_000_000_000


def _document(number: int, second: int) -> bytes:
    document = {
        "@timestamp": f"2025-01-01T00:00:{second:02d}.000000000Z",
        "event": {"id": f"E{number}", "dataset": "1password.item_usages", "action": "reveal"},
        "user": {"id": f"U{number % 2}", "target": {"id": "T"}},
        "source": {"ip": "198.51.100.7"},
        "onepassword": {"country": "CA", "client": {"app_name": "1Password CLI"}},
        "client": {"ip": "203.0.113.1"},
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def test_rows_by_arrival_and_by_time(tmp_path: Path) -> None:
    # Stored out of time order: seconds 30, 10, 20, 10.
    seconds = [30, 10, 20, 10]
    with EventStore.open(tmp_path / "s.db") as store:
        assert last_seq(store) == 0
        lines = [_document(n, s) for n, s in enumerate(seconds)]
        store.write(Batch(b"".join(line + b"\n" for line in lines), len(lines)))
        store.flush()
        assert last_seq(store) == 4
        fields = ["user.id", "onepassword.client.app_name", "source.ip", "event.dataset"]
        by_arrival = [
            row for batch in rows(store, fields, after_seq=1, batch_size=2) for row in batch
        ]
        assert [(r[0], r[1]) for r in by_arrival] == [(2, "E1"), (3, "E2"), (4, "E3")]
        assert by_arrival[0][3:] == ("U1", "1Password CLI", "198.51.100.7", "1password.item_usages")
        start = 1_735_689_600 * _NS
        by_time = [
            row[1]
            for batch in rows(
                store, ["user.id"], since_ns=start + 10 * _NS, until_ns=start + 30 * _NS
            )
            for row in batch
        ]
        assert by_time == ["E1", "E3", "E2"]  # time, then arrival; until is exclusive
        assert [len(b) for b in rows(store, ["user.id"], batch_size=3)] == [3, 1]
        found = documents(store, ["E2", "E9"])
        assert list(found) == ["E2"]
        assert found["E2"]["onepassword"]["country"] == "CA"
