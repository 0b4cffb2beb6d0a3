"""Where documents go besides NDJSON: the embedded event store (and, later, clusters).

Every sink here implements :class:`onepassword_ecs.stream.Sink`.

The store (:class:`EventStore`) is one SQLite file with a documented schema
(``_schema.py``): the ``events`` table holds each document whole, as canonical JSON
bytes, beside the columns queries filter on (``ts_ns``, ``dataset``, ``action``,
``outcome``, ``user_id``, ``user_email``, ``target_user_id``, ``source_ip``,
``country``). The detection and investigation rooms read it through
:meth:`EventStore.open` with ``readonly=True`` and SQL over those columns.
"""

from __future__ import annotations

from ._columns import event_row, timestamp_ns
from ._schema import SCHEMA_VERSION
from ._store import EventStore

__all__ = ["SCHEMA_VERSION", "EventStore", "event_row", "timestamp_ns"]
