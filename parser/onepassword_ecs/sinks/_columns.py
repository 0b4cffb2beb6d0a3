"""The query columns of one stored document, read from its canonical JSON.

Kept apart from the store so the rule "which value fills which column" is one small
function, shared by inserts and by anything that must agree with them (tests, a future
migration that adds a column and back-fills it).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

__all__ = ["EventRow", "event_row", "timestamp_ns"]

EventRow = tuple[
    str,
    int,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    bytes,
]
"""``(event_id, ts_ns, dataset, action, outcome, user_id, user_email, target_user_id,
source_ip, country, document)`` in the column order of ``events``."""

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


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _get(document: dict[str, Any], *path: str) -> Any:
    value: Any = document
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def event_row(document: dict[str, Any], encoded: bytes) -> EventRow:
    """The row for one document; ``encoded`` is its canonical JSON, stored as is.

    A document with no ``event.id`` (another tool's, or a record that had no uuid) is
    keyed by the sha256 of its bytes, so storing it twice still stores it once.
    """
    event = document.get("event") if isinstance(document.get("event"), dict) else {}
    assert isinstance(event, dict)
    event_id = _text(event.get("id")) or "sha256:" + hashlib.sha256(encoded).hexdigest()
    stamp = _text(document.get("@timestamp"))
    ts_ns = timestamp_ns(stamp) if stamp else 0
    target = _get(document, "user", "target")
    country = _text(_get(document, "source", "geo", "country_iso_code")) or _text(
        _get(document, "client", "geo", "country_iso_code")
    )
    return (
        event_id,
        ts_ns,
        _text(event.get("dataset")) or "unknown",
        _text(event.get("action")),
        _text(event.get("outcome")),
        _text(_get(document, "user", "id")),
        _text(_get(document, "user", "email")),
        _text(target.get("id")) if isinstance(target, dict) else None,
        _text(_get(document, "source", "ip")) or _text(_get(document, "client", "ip")),
        country,
        encoded,
    )
