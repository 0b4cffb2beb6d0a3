"""Where documents go besides NDJSON: the embedded event store and search clusters.

Every sink here implements :class:`onepassword_ecs.stream.Sink`.

The store (:class:`EventStore`) is one SQLite file with a documented schema
(``_schema.py``): the ``events`` table holds each document whole, as canonical JSON
bytes, beside the columns queries filter on (``ts_ns``, ``dataset``, ``action``,
``outcome``, ``user_id``, ``user_email``, ``target_user_id``, ``source_ip``,
``country``). The detection and investigation rooms read it through
:meth:`EventStore.open` with ``readonly=True`` and SQL over those columns;
:func:`store_stats` summarises it.

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
