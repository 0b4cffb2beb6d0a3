"""RFC 3339 timestamps → UTC with every fractional digit kept.

1Password sends up to nine fractional digits and sometimes a local offset
(``2020-06-11T16:32:50-03:00``). ``datetime`` holds only microseconds, so the fraction is
carried as text beside it and never rounded. The output always has nine fractional
digits: a fixed width is what makes the documents sort correctly as text (".5Z" and
".123Z" do not), nine is the most the API sends, and Elasticsearch's ``date_nanos``
type holds exactly that.

Every RFC 3339 form a real sender may use is read: ``T``, ``t`` or a space between date
and time; ``Z``, ``z`` or an offset; a leap second (``23:59:60Z``, which becomes the
start of the next second, so time never runs backwards); more than nine fractional
digits (cut to nine toward zero: never rounded up past the instant). A date-time without
an offset is refused, because its instant is ambiguous, unless the caller names the zone
it was written in (``assume_timezone``: exports from other SIEMs, such as Panther's
``2021-12-03 19:52:52``). Anything else is refused with the precise reason.

The common case (UTC, ``Z``) is handled by slicing the string; only offsets pay for
datetime arithmetic.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.parser import isoparser

from .._errors import ArgumentError, NormalizationError

__all__ = ["AssumedZone", "assumed_zone", "to_utc", "to_utc_assuming"]

# ASCII digits only (``\d`` would also take Arabic-Indic or fullwidth digits); the
# offset's hours and minutes are bounded like RFC 3339's time-numoffset. Any number of
# fractional digits (cut to nine); the zone is optional here, required by the caller.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?"
    r"(?:([Zz])|([+-])([01][0-9]|2[0-3]):?([0-5][0-9]))?"
)
_EXPECTED = "expected an RFC 3339 date-time with a UTC offset, such as 2024-05-01T10:00:00Z"

# The same shape with any digits and any widths, to name the part that is wrong.
_LOOSE = re.compile(
    r"(?P<year>\d+)-(?P<month>\d+)-(?P<day>\d+)(?:(?P<sep>.)(?P<hour>\d+):(?P<minute>\d+)"
    r"(?::(?P<second>\d+)(?:(?P<mark>[.,])(?P<fraction>\d*))?)?"
    r"(?P<zone>[Zz]|[+-]\d+(?::?\d+)?)?)?(?P<rest>.*)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class AssumedZone:
    """The zone to read offset-less timestamps in: its name as given, and the zone."""

    name: str
    zone: tzinfo


_OFFSET = re.compile(r"([+-])([01][0-9]|2[0-3]):?([0-5][0-9])")


@lru_cache(maxsize=64)
def _zone_named(name: str) -> AssumedZone:
    text = name.strip()
    if text.upper() in ("UTC", "Z", "GMT", "ETC/UTC"):
        return AssumedZone(text, UTC)
    fixed = _OFFSET.fullmatch(text)
    if fixed is not None:
        sign, hours, minutes = fixed.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        return AssumedZone(text, timezone(-offset if sign == "-" else offset))
    try:
        return AssumedZone(text, ZoneInfo(text))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ArgumentError(
            f"assume_timezone: {name!r} is not a time zone; give UTC, an offset such as "
            "+02:00, or an IANA zone name such as Europe/Paris"
        ) from None


def assumed_zone(value: object) -> AssumedZone | None:
    """Check a caller's ``assume_timezone`` once: None, or the zone to read timestamps in.

    Raises :class:`ArgumentError` for anything that is not UTC, an offset (``+02:00``)
    or an IANA zone name.
    """
    if value is None or isinstance(value, AssumedZone):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ArgumentError(f"assume_timezone must be a time zone name such as UTC, got {value!r}")
    return _zone_named(value)


def _part_problem(parts: dict[str, str | None]) -> str:
    """The first part of a loosely matched date-time that RFC 3339 refuses, in words."""
    widths = (("year", 4), ("month", 2), ("day", 2), ("hour", 2), ("minute", 2), ("second", 2))
    for name, width in widths:
        value = parts.get(name)
        if value is None:
            continue
        if not value.isascii():
            return f"the {name} {value!r} is not written with ASCII digits 0-9"
        if len(value) != width:
            return f"the {name} {value!r} must have {width} digits"
    fraction = parts.get("fraction")
    if parts.get("mark") and not fraction:
        return "a decimal point must be followed by at least one digit"
    if fraction and not fraction.isascii():
        return f"the fraction {fraction!r} is not written with ASCII digits 0-9"
    month = int(parts["month"] or 0)
    if not 1 <= month <= 12:
        return f"month {month} does not exist (01-12)"
    for name, top in (("hour", 23), ("minute", 59), ("second", 60)):
        value = parts.get(name)
        if value is not None and int(value) > top:
            return f"{name} {int(value)} does not exist (00-{top})"
    return ""


def _explain(text: str) -> str:
    """Why ``text`` is not an RFC 3339 date-time with an offset, for the error message.

    Only runs on the error path; says the first thing a person must fix.
    """
    loose = _LOOSE.fullmatch(text)
    if not text:
        return " (an empty string)"
    if text != text.strip():
        return " (leading or trailing whitespace)"
    if loose is not None:
        parts = loose.groupdict()
        problem = _part_problem(parts)
        if problem:
            return f" ({problem})"
        if parts["hour"] is None:
            return " (a date without a time)" if not parts["rest"] else ""
        if parts["sep"] not in ("T", "t", " "):
            return f" (date and time must be separated by T, not {parts['sep']!r})"
        if parts["second"] is None:
            return " (the seconds are missing: write HH:MM:SS)"
        if parts["rest"]:
            return f" (unexpected {parts['rest'][:20]!r} after the time)"
        if parts["zone"] is None:
            return (
                " (a date-time without a UTC offset: its instant is ambiguous; if the "
                "sender wrote every timestamp in one zone, name it with assume_timezone "
                "or --assume-timezone)"
            )
        if parts["zone"][0] in "+-":
            return f" (the UTC offset {parts['zone']!r} must be ±HH:MM, hours 00-23)"
    if re.match(r"[0-9]{4}[^0-9-]", text):
        return " (write the date as YYYY-MM-DD)"
    return _diagnosis(text)


def _diagnosis(text: str) -> str:
    """Say what is wrong with an ISO 8601 value that is not RFC 3339, so a person can act.

    python-dateutil reads the wider ISO 8601 family (basic format, week dates, no
    offset) that our strict parser refuses on purpose.
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


# Minutes already converted: "YYYY-MM-DDTHH:MM" + zone → UTC "YYYY-MM-DDTHH:MM".
# Offsets are whole minutes, so the seconds and the fraction never change in the
# conversion: one key per minute and zone covers every record of that minute (a stream
# carries thousands of distinct seconds an hour but only 60 minutes). The key holds the
# whole validated prefix (date, separator, hour, minute), so a hit only has to check
# the seconds and the fraction by hand. Leap seconds (":60") always take the careful
# path. Bounded by clearing, so memory stays flat.
_MINUTES: dict[str, str] = {}
_MINUTES_MAX = 4096
_SECOND_TENS = frozenset("012345")
_DIGITS = frozenset("0123456789")


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
        base = _MINUTES.get(text[:16] + zone)
        if (
            base is not None
            and text[16] == ":"
            and text[17] in _SECOND_TENS
            and text[18] in _DIGITS
            and len(text) == 19 + len(fraction) + len(zone)
        ):
            seconds = text[17:19]
            if not fraction:
                return f"{base}:{seconds}.000000000Z"
            digits = fraction[1:]
            if (
                (fraction[0] == "." or fraction[0] == ",")
                and 0 < len(digits) <= 9
                and digits.isdigit()
                and digits.isascii()
            ):
                return f"{base}:{seconds}.{digits.ljust(9, '0')}Z"
    return _to_utc_carefully(value, path)


def _to_utc_carefully(value: object, path: str, assume: AssumedZone | None = None) -> str:
    """Full RFC 3339 parse and check; fills the per-minute cache for the fast path."""
    if not isinstance(value, str):
        raise NormalizationError(
            "bad_timestamp", f"{_EXPECTED}, got {type(value).__name__} {_describe(value)}", path
        )
    text = value
    match = _RFC3339.fullmatch(text)
    if match is None or (match.group(8) is None and match.group(9) is None and assume is None):
        raise NormalizationError(
            "bad_timestamp", f"{_EXPECTED}, got {_describe(value)}{_explain(text)}", path
        )
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    leap = second == "60"
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), 59 if leap else int(second)
        )
        if sign is None and not zulu and assume is not None:
            moment = _from_local(moment, assume, text, path)
        else:
            offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
            moment = moment - offset if sign == "+" else moment + offset
        if leap:
            if (moment.hour, moment.minute) != (23, 59):
                raise NormalizationError(
                    "bad_timestamp",
                    f"{_EXPECTED}, got {_describe(value)} (second 60 is a leap second, which "
                    f"only exists at 23:59:60 UTC; this is {moment:%H:%M}:60 UTC)",
                    path,
                )
            # The leap second collapses onto the start of the next second: events keep
            # their order and no instant is invented past 23:59:60.
            moment += timedelta(seconds=1)
        base = moment.isoformat()
        if moment.year < 1:  # pragma: no cover - datetime refuses it before this
            raise ValueError
    except NormalizationError:
        raise
    except (ValueError, OverflowError):
        why = _impossible(year, month, day, hour, minute, second)
        raise NormalizationError(
            "bad_timestamp", f"{_EXPECTED}, got {_describe(value)} ({why})", path
        ) from None
    if leap:
        return f"{base}.000000000Z"
    if sign is None and not zulu:
        # Read in the assumed zone: not cached, the fast path only knows offsets.
        return f"{base}.{(fraction or '')[:9].ljust(9, '0')}Z"
    if len(text) >= 20 and (zulu or (text[-6] in "+-" and text[-3] == ":")):
        # Only the shapes the fast path slices (…Z, …±HH:MM) are worth caching.
        if len(_MINUTES) >= _MINUTES_MAX:
            _MINUTES.clear()
        zone = "Z" if zulu else text[-6:]
        _MINUTES[text[:16] + zone] = base[:16]
    # More than nine digits: cut toward zero, never rounded up past the instant.
    digits = fraction[:9].ljust(9, "0") if fraction else "000000000"
    return f"{base}.{digits}Z"


_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def _impossible(year: str, month: str, day: str, hour: str, minute: str, second: str) -> str:
    """Which field of a well-shaped date-time names no real instant."""
    if int(year) == 0:
        return "year 0000 does not exist"
    if not 1 <= int(month) <= 12:
        return f"month {month} does not exist (01-12)"
    days = calendar.monthrange(int(year), int(month))[1]
    if not 1 <= int(day) <= days:
        return f"{_MONTHS[int(month) - 1]} {year} has {days} days, not {int(day)}"
    for name, value, top in (("hour", hour, 23), ("minute", minute, 59), ("second", second, 60)):
        if int(value) > top:
            return f"{name} {value} does not exist (00-{top})"
    return "outside the years 0001-9999 once converted to UTC"


def _from_local(moment: datetime, assume: AssumedZone, text: str, path: str) -> datetime:
    """``moment`` read as a wall-clock time in ``assume``, as naive UTC.

    A wall-clock time that a daylight-saving change skips or repeats names no single
    instant: refused, with the reason, rather than guessed.
    """
    earlier = moment.replace(tzinfo=assume.zone, fold=0)
    later = moment.replace(tzinfo=assume.zone, fold=1)
    first, second = earlier.utcoffset(), later.utcoffset()
    if first != second:
        back = earlier.astimezone(UTC).astimezone(assume.zone).replace(tzinfo=None)
        what = "happens twice" if back == moment else "is skipped"
        raise NormalizationError(
            "bad_timestamp",
            f"{_EXPECTED}, got {_describe(text)} (in {assume.name} this wall-clock time "
            f"{what} by a daylight-saving change, so it names no single instant)",
            path,
        )
    return earlier.astimezone(UTC).replace(tzinfo=None)


def to_utc_assuming(value: object, path: str, assume: AssumedZone) -> tuple[str, bool]:
    """``to_utc`` for a caller that named a zone: (UTC text, whether the zone was used)."""
    if isinstance(value, str) and _RFC3339.fullmatch(value) is not None:
        match = _RFC3339.fullmatch(value)
        if match is not None and match.group(8) is None and match.group(9) is None:
            return _to_utc_carefully(value, path, assume), True
    return to_utc(value, path), False
