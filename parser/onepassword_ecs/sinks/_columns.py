"""The query columns of one stored document, read from its canonical JSON.

Kept apart from the store so the rule "which value fills which column" is one table
(:data:`COLUMNS`), shared by inserts, by :meth:`EventStore.rows` (which serves a dotted
ECS field from its column instead of decoding the document) and by anything that must
agree with them (tests, a migration that back-fills a column).

The columns are every field the rule pack reads (``event.action`` ... ``user.target.id``)
plus the two the investigation room filters on that are not rule fields (``country``,
the address's country from ``source.geo`` or ``client.geo``). A column holds the field's
scalar value (a string, or a number; ``true``/``false`` become 1/0 as SQLite's own
``json_extract`` gives them) or NULL when the document lacks it or holds a list or an
object there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "COLUMNS",
    "FIELD_COLUMNS",
    "Column",
    "EventRow",
    "column_values",
    "event_row",
    "field_value",
    "scalar",
    "timestamp_ns",
]


@dataclass(frozen=True)
class Column:
    """One query column: its SQL name and the document path(s) that fill it.

    ``field`` is the dotted ECS name it answers for in :meth:`EventStore.rows`, or None
    when the column is not exactly one field (``country`` falls back to ``client.geo``).
    ``fallback`` is read when ``path`` is absent.
    """

    name: str
    path: tuple[str, ...]
    field: str | None
    fallback: tuple[str, ...] | None = None


COLUMNS: tuple[Column, ...] = (
    Column("dataset", ("event", "dataset"), "event.dataset"),
    Column("action", ("event", "action"), "event.action"),
    Column("outcome", ("event", "outcome"), "event.outcome"),
    Column("user_id", ("user", "id"), "user.id"),
    Column("user_email", ("user", "email"), "user.email"),
    Column("user_name", ("user", "name"), "user.name"),
    Column("target_user_id", ("user", "target", "id"), "user.target.id"),
    # source.ip, or client.ip when a document has no source.ip; the mapper always writes
    # both from the same address, so for this program's documents it is source.ip.
    Column("source_ip", ("source", "ip"), "source.ip", ("client", "ip")),
    Column(
        "country",
        ("source", "geo", "country_iso_code"),
        None,
        ("client", "geo", "country_iso_code"),
    ),
    Column("op_country", ("onepassword", "country"), "onepassword.country"),
    Column("app_name", ("onepassword", "client", "app_name"), "onepassword.client.app_name"),
    Column("item_uuid", ("onepassword", "item_uuid"), "onepassword.item_uuid"),
    Column("object_type", ("onepassword", "object_type"), "onepassword.object_type"),
    Column("object_uuid", ("onepassword", "object_uuid"), "onepassword.object_uuid"),
    Column("vault_uuid", ("onepassword", "vault_uuid"), "onepassword.vault_uuid"),
)
"""Every dictionary-encoded column of ``rows``, in table order."""

FIELD_COLUMNS: dict[str, str] = {
    column.field: column.name for column in COLUMNS if column.field is not None
}
"""Dotted ECS field -> the column that holds exactly its value."""

EventRow = tuple[str, int, tuple[Any, ...]]
"""``(event_id, ts_ns, values)``: ``values`` in :data:`COLUMNS` order."""

_EPOCH_DAYS_CACHE: dict[str, int] = {}


def timestamp_ns(text: str) -> int:
    """Nanoseconds since the epoch for an RFC 3339 UTC time.

    The mapper writes ``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` (nine digits, always ``Z``);
    that form is read by slicing, with the date part cached (a stream has few days).
    Any other form (a document written by another tool) goes through ``datetime``.
    """
    if len(text) == 30 and text[10] == "T" and text[19] == "." and text[29] == "Z":
        day = text[:10]
        seconds = _EPOCH_DAYS_CACHE.get(day)
        if seconds is None:
            seconds = int(datetime.fromisoformat(day + "T00:00:00+00:00").timestamp())
            if len(_EPOCH_DAYS_CACHE) > 4096:
                _EPOCH_DAYS_CACHE.clear()
            _EPOCH_DAYS_CACHE[day] = seconds
        clock = int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
        return (seconds + clock) * 1_000_000_000 + int(text[20:29])
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    whole = int(moment.timestamp())
    return whole * 1_000_000_000 + moment.microsecond * 1000


def scalar(value: Any) -> Any:
    """``value`` if it is a string or a number (bools as 1/0), else None."""
    if isinstance(value, str | int | float):
        return int(value) if isinstance(value, bool) else value
    return None


def _get(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def field_value(document: dict[str, Any], field: str) -> Any:
    """A dotted field's scalar value in a nested document (None if absent or not scalar)."""
    return scalar(_get(document, tuple(field.split("."))))


def column_values(document: dict[str, Any]) -> tuple[Any, ...]:
    """The :data:`COLUMNS` values of a document, read path by path (the reference)."""
    values = []
    for column in COLUMNS:
        value = scalar(_get(document, column.path))
        if value is None and column.fallback is not None:
            value = scalar(_get(document, column.fallback))
        values.append(value)
    return tuple(values)


_PLAIN = frozenset({str, type(None)})


def event_row(document: dict[str, Any], encoded: bytes) -> EventRow:
    """The row for one document; ``encoded`` is its canonical JSON, stored as is.

    A document with no ``event.id`` (another tool's, or a record that had no uuid) is
    keyed by the sha256 of its bytes, so storing it twice still stores it once.

    The values are :func:`column_values`, written out field by field for documents of
    the usual shape: this runs once per stored event on the conversion's main thread,
    and the generic walk costs three times as much. Anything unusual (a part that is
    not an object, a value that is not a string) takes the generic walk, so the two
    always agree (``tests/test_store_api.py`` holds them to each other).
    """
    event = document.get("event")
    event_id = event.get("id") if type(event) is dict else None
    if type(event_id) is not str or not event_id:
        event_id = "sha256:" + hashlib.sha256(encoded).hexdigest()
    stamp = document.get("@timestamp")
    ts_ns = timestamp_ns(stamp) if type(stamp) is str and stamp else 0
    try:
        values = _usual_values(document)
    except AttributeError:  # some part is not an object
        return event_id, ts_ns, column_values(document)
    if not _PLAIN.issuperset(map(type, values)):
        return event_id, ts_ns, column_values(document)
    return event_id, ts_ns, values


def _usual_values(document: dict[str, Any]) -> tuple[Any, ...]:
    """:func:`column_values` for a document whose parts are objects (else AttributeError)."""
    get = document.get
    event = get("event") or _NOTHING
    user = get("user") or _NOTHING
    source = get("source") or _NOTHING
    vendor = get("onepassword") or _NOTHING
    source_ip = source.get("ip")
    country = (source.get("geo") or _NOTHING).get("country_iso_code")
    if source_ip is None or country is None:
        client = get("client") or _NOTHING
        if source_ip is None:
            source_ip = client.get("ip")
        if country is None:
            country = (client.get("geo") or _NOTHING).get("country_iso_code")
    return (
        event.get("dataset"),
        event.get("action"),
        event.get("outcome"),
        user.get("id"),
        user.get("email"),
        user.get("name"),
        (user.get("target") or _NOTHING).get("id"),
        source_ip,
        country,
        vendor.get("country"),
        (vendor.get("client") or _NOTHING).get("app_name"),
        vendor.get("item_uuid"),
        vendor.get("object_type"),
        vendor.get("object_uuid"),
        vendor.get("vault_uuid"),
    )


_NOTHING: dict[str, Any] = {}
