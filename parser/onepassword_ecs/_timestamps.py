"""RFC 3339 timestamps → UTC with every fractional digit kept.

1Password sends up to nine fractional digits and sometimes a local offset
(``2020-06-11T16:32:50-03:00``). ``datetime`` holds only microseconds, so the fraction is
carried as text beside it and never rounded. The output always has nine fractional
digits: a fixed width is what makes the documents sort correctly as text (".5Z" and
".123Z" do not), nine is the most the API sends, and Elasticsearch's ``date`` type
accepts it.

The common case (UTC, ``Z``) is handled by slicing the string; only offsets pay for
datetime arithmetic.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ._errors import NormalizationError

__all__ = ["to_utc"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))"
)
_EXPECTED = "expected an RFC 3339 date-time with a UTC offset, such as 2024-05-01T10:00:00Z"


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def to_utc(value: object, path: str) -> str:
    """Return ``value`` as ``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` in UTC.

    Raises ``NormalizationError('bad_timestamp')`` naming ``path`` for anything that is
    not an RFC 3339 date-time with an offset (a time without an offset is ambiguous, and
    guessing its zone would silently move the event).
    """
    if not isinstance(value, str):
        raise NormalizationError(
            "bad_timestamp", f"{_EXPECTED}, got {type(value).__name__} {_describe(value)}", path
        )
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise NormalizationError("bad_timestamp", f"{_EXPECTED}, got {_describe(value)}", path)
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        if not zulu and (off_h != "00" or off_m != "00"):
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            if offset >= timedelta(hours=24):
                raise ValueError("offset out of range")
            moment = moment - offset if sign == "+" else moment + offset
    except (ValueError, OverflowError):
        raise NormalizationError(
            "bad_timestamp", f"{_EXPECTED}, got {_describe(value)} (not a real date or time)", path
        ) from None
    digits = (fraction or "").ljust(9, "0")
    return f"{moment.isoformat()}.{digits}Z"
