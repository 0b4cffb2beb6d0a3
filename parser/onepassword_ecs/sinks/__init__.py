"""Where documents go besides NDJSON: the embedded event store and search clusters.

Every sink here implements :class:`onepassword_ecs.stream.Sink`.

The store (:class:`EventStore`) is one SQLite file with a documented schema
(``_schema.py``; the map is ``docs/architecture.md``, "The event store"): each document
kept as the canonical bytes ``convert`` wrote, compressed in blocks (``_blocks.py``),
beside one narrow row per event whose columns (:data:`FIELD_COLUMNS`: every field the
rule pack reads, plus the address's country) are small integers into a table of
distinct values. The detection and investigation rooms read it through
:meth:`EventStore.open` with ``readonly=True``: :meth:`EventStore.rows` (columns by
dotted ECS name), :meth:`EventStore.documents`, :meth:`EventStore.last_seq`, or SQL on
the ``events`` view, which keeps the old table's columns. :meth:`EventStore.prune`
(:class:`PruneOutcome`) is the retention; :func:`store_stats` summarises a store.

:class:`ClusterSink` writes to Elasticsearch or OpenSearch through the official client
(an optional extra), idempotently: ``create`` with the event id as ``_id``.
"""

from __future__ import annotations

from ._clients import FLAVORS, ClusterAuth, display_url
from ._cluster import DATA_STREAM_TEMPLATE, ClusterSink, RetryPolicy, data_stream_name
from ._columns import FIELD_COLUMNS, event_row, timestamp_ns
from ._schema import SCHEMA_VERSION
from ._stats import DayCount, StoreStats, format_ns, store_stats
from ._store import EventStore, PruneOutcome

__all__ = [
    "DATA_STREAM_TEMPLATE",
    "FIELD_COLUMNS",
    "FLAVORS",
    "SCHEMA_VERSION",
    "ClusterAuth",
    "ClusterSink",
    "DayCount",
    "EventStore",
    "PruneOutcome",
    "RetryPolicy",
    "StoreStats",
    "data_stream_name",
    "display_url",
    "event_row",
    "format_ns",
    "store_stats",
    "timestamp_ns",
]
