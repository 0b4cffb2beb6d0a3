"""What a store holds, at a glance: counts per dataset and day, time range, size.

For ``onepassword-ecs store stats``: a person checking that a collector is keeping up,
or how much a year of events costs on disk. Everything comes from the indexed columns
(``day_counts``, kept by every insert and prune, and the time index), so the counts
read a few hundred rows, never the events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ._store import EventStore, file_size

__all__ = ["DayCount", "StoreStats", "format_ns", "store_stats"]

_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class DayCount:
    """How many documents of one dataset fall on one UTC day."""

    dataset: str
    day: str
    count: int


@dataclass(frozen=True)
class StoreStats:
    """A store's contents summarised; :meth:`as_dict` is the ``--json`` form."""

    path: str
    schema_version: int
    events: int
    first_ns: int | None
    last_ns: int | None
    size_bytes: int
    days: list[DayCount]

    def as_dict(self) -> dict[str, Any]:
        datasets: dict[str, int] = {}
        for entry in self.days:
            datasets[entry.dataset] = datasets.get(entry.dataset, 0) + entry.count
        return {
            "path": self.path,
            "schema_version": self.schema_version,
            "events": self.events,
            "first": format_ns(self.first_ns) if self.first_ns is not None else None,
            "last": format_ns(self.last_ns) if self.last_ns is not None else None,
            "size_bytes": self.size_bytes,
            "datasets": datasets,
            "days": [
                {"dataset": entry.dataset, "day": entry.day, "count": entry.count}
                for entry in self.days
            ],
        }


def format_ns(ns: int) -> str:
    """Nanoseconds since the epoch as the RFC 3339 form the documents use."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:09d}Z"


def store_stats(store: EventStore) -> StoreStats:
    """Summarise ``store`` (typically opened read-only)."""
    connection = store.connection
    first, last = connection.execute("SELECT min(ts_ns), max(ts_ns) FROM rows").fetchone()
    version_row = connection.execute(
        "SELECT value FROM meta WHERE key = 'schema_version'"
    ).fetchone()
    rows = connection.execute(
        "SELECT coalesce(s.value, 'unknown') AS name, d.day, d.count FROM day_counts AS d "
        "LEFT JOIN strings AS s ON s.id = d.dataset ORDER BY d.day, name"
    ).fetchall()
    days = [
        DayCount(dataset, (_EPOCH + dt.timedelta(days=int(day))).isoformat(), int(count))
        for dataset, day, count in rows
    ]
    return StoreStats(
        path=str(store.path),
        schema_version=int(version_row[0]) if version_row else 0,
        events=sum(entry.count for entry in days),
        first_ns=int(first) if first is not None else None,
        last_ns=int(last) if last is not None else None,
        size_bytes=file_size(store.path),
        days=days,
    )
