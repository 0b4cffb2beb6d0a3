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

from dateutil.parser import isoparser

from .._errors import NormalizationError

__all__ = ["to_utc"]

# ASCII digits only (``\d`` would also take Arabic-Indic or fullwidth digits); the
# offset's hours and minutes are bounded like RFC 3339's time-numoffset.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([01][0-9]|2[0-3]):?([0-5][0-9]))"
)
_EXPECTED = "expected an RFC 3339 date-time with a UTC offset, such as 2024-05-01T10:00:00Z"


def _diagnosis(text: str) -> str:
    """Say what is wrong with an ISO 8601 value that is not RFC 3339, so a person can act.

    Only runs on the error path. python-dateutil reads the wider ISO 8601 family (basic
    format, week dates, no offset) that our strict parser refuses on purpose.
    """
    try:
        parsed = isoparser().isoparse(text.strip())
    except (ValueError, OverflowError):
        return ""
    if parsed.tzinfo is None:
        return " (a date-time without a UTC offset: its instant is ambiguous)"
    return " (ISO 8601, but not the RFC 3339 form: write YYYY-MM-DDTHH:MM:SS with an offset)"


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Seconds already converted: "YYYY-MM-DDTHH:MM:SS" + zone → UTC "YYYY-MM-DDTHH:MM:SS".
# A stream carries many events per second and arrives roughly in time order, so most
# records hit a recent second; bounded (by clearing) so memory stays flat.
_SECONDS: dict[str, str] = {}
_SECONDS_MAX = 8192


def to_utc(value: object, path: str) -> str:
    """Return ``value`` as ``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` in UTC.

    Raises ``NormalizationError('bad_timestamp')`` naming ``path`` for anything that is
    not an RFC 3339 date-time with an offset (a time without an offset is ambiguous, and
    guessing its zone would silently move the event).
    """
    if isinstance(value, str) and len(value) >= 20:
        text = value
        last = text[-1]
        if last == "Z" or last == "z":
            zone = "Z"
            fraction = text[19:-1]
        else:
            zone = text[-6:]
            fraction = text[19:-6]
        base = _SECONDS.get(text[:19] + zone)
        if base is not None:
            if not fraction:
                return base + ".000000000Z"
            digits = fraction[1:]
            if (
                (fraction[0] == "." or fraction[0] == ",")
                and 0 < len(digits) <= 9
                and digits.isdigit()
                and digits.isascii()
            ):
                return f"{base}.{digits.ljust(9, '0')}Z"
    return _to_utc_carefully(value, path)


def _to_utc_carefully(value: object, path: str) -> str:
    """Full RFC 3339 parse and check; fills the per-second cache for the fast path."""
    if not isinstance(value, str):
        raise NormalizationError(
            "bad_timestamp", f"{_EXPECTED}, got {type(value).__name__} {_describe(value)}", path
        )
    text = value
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise NormalizationError(
            "bad_timestamp", f"{_EXPECTED}, got {_describe(value)}{_diagnosis(text)}", path
        )
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        moment = moment - offset if sign == "+" else moment + offset
        base = moment.isoformat()
    except (ValueError, OverflowError):
        raise NormalizationError(
            "bad_timestamp", f"{_EXPECTED}, got {_describe(value)} (not a real date or time)", path
        ) from None
    if len(text) >= 20 and (zulu or (text[-6] in "+-" and text[-3] == ":")):
        # Only the shapes the fast path slices (…Z, …±HH:MM) are worth caching.
        if len(_SECONDS) >= _SECONDS_MAX:
            _SECONDS.clear()
        zone = "Z" if zulu else text[-6:]
        _SECONDS[text[:19] + zone] = base
    digits = fraction.ljust(9, "0") if fraction else "000000000"
    return f"{base}.{digits}Z"
