"""Time points and spans: the one grammar every subcommand and configuration file speaks.

Why one module: the commands grew side by side and disagreed (``7d`` worked in one and
was refused by the next, a date was accepted here and refused there, ``--until
9999-12-31`` overflowed with a traceback in four places). Every option and file value
that names a moment or a length of time now goes through these functions, so the forms
and the error messages are the same everywhere, and ``docs/cli.md`` documents them once.

A **time point** (``--since``, ``--until``, ``since``/``until`` in files) is one of:

- an RFC 3339 time with a UTC offset: ``2025-03-01T10:00:00Z``, ``...+02:00``;
- a date, meaning UTC midnight: ``2025-03-01``;
- a span back from now: ``90m``, ``24h``, ``7d``, ``2w`` (with its unit: a bare
  ``2025`` could be a year or seconds, and is refused rather than guessed).

A **span** (``--interval``, ``--baseline``, ``--silence-alert``, ``--timeout``, ...) is a
number with a unit — ``ms``, ``s``, ``m``, ``h``, ``d``, ``w`` — or plain seconds:
``30s``, ``15m``, ``2h``, ``7d``, ``45``.

Refused, always with a message that names the form expected: zero and negative spans,
spans longer than :data:`MAX_SPAN_SECONDS`, times before 1970 or after
:data:`LATEST` (the store keeps nanoseconds in a signed 64-bit integer), a time without
an offset, and — through :func:`check_window` — a future ``--since`` and an ``--until``
that is not after ``--since``. Values are never echoed beyond 40 characters.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, date, datetime

from ._errors import ArgumentError

__all__ = [
    "LATEST",
    "MAX_SPAN_SECONDS",
    "SPAN_FORMS",
    "TIME_FORMS",
    "check_window",
    "format_ns",
    "parse_moment",
    "parse_span",
]

NS = 1_000_000_000
# A span of more than ten years is a typo, and larger ones overflow datetime arithmetic.
MAX_SPAN_SECONDS = 3650 * 86400
# The last moment a signed 64-bit count of nanoseconds since 1970 can hold, rounded down
# to a whole year so the message is readable.
LATEST = datetime(2262, 1, 1, tzinfo=UTC)
_LATEST_NS = int(LATEST.timestamp()) * NS

TIME_FORMS = (
    "an RFC 3339 time such as 2025-03-01T10:00:00Z, a date such as 2025-03-01, "
    "or a span back from now such as 24h, 7d or 2w"
)
SPAN_FORMS = "a number with a unit (ms, s, m, h, d, w) such as 30s, 15m, 2h or 7d, or plain seconds"

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SPAN = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)?\s*", re.ASCII)
_DATE = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*", re.ASCII)


def _shown(text: str) -> str:
    """The value as an error message may quote it: short, one line."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def parse_span(text: str, *, what: str = "span") -> float:
    """Seconds in a span (``30s``, ``15m``, ``2h``, ``7d``, ``2w``, ``500ms``, ``45``).

    Zero, negative, non-finite and longer than ten years are refused: a zero interval
    would spin, a zero timeout fails every request, and ``9999999999w`` overflows.
    """
    match = _SPAN.fullmatch(text)
    if match is None:
        stripped = text.strip()
        if stripped.startswith("-"):
            raise ArgumentError(f"{what} must be positive, got {_shown(text)}")
        raise ArgumentError(f"{what}: expected {SPAN_FORMS}, got {_shown(text)}")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ArgumentError(f"{what} must be longer than zero, got {_shown(text)}")
    if seconds > MAX_SPAN_SECONDS:
        raise ArgumentError(f"{what} may be at most 3650d (ten years), got {_shown(text)}")
    return seconds


def _moment_ns(moment: datetime, text: str, what: str) -> int:
    if moment.tzinfo is None:
        raise ArgumentError(
            f"{what}: {_shown(text)} has no UTC offset (add Z or +00:00, or give a date)"
        )
    moment = moment.astimezone(UTC)
    if moment.year < 1970:
        raise ArgumentError(f"{what}: {_shown(text)} is before 1970")
    if moment >= LATEST:
        raise ArgumentError(f"{what}: {_shown(text)} is after 2261, the latest time kept")
    return int(moment.timestamp()) * NS + moment.microsecond * 1000


def parse_moment(text: str, *, now_ns: int | None = None, what: str = "time") -> int:
    """Nanoseconds since 1970 (UTC) for a time point; see the module docstring for forms.

    A span counts back from ``now_ns`` (the current time when not given), so ``7d``
    means "seven days ago" wherever a time is asked for.
    """
    now = time.time_ns() if now_ns is None else now_ns
    span = _SPAN.fullmatch(text)
    if span is not None:
        if span.group(2) is None:  # "2025": a year, or seconds ago? Neither is guessed.
            raise ArgumentError(
                f"{what}: {_shown(text)} has no unit; give a span such as 7d or a date "
                "such as 2025-03-01"
            )
        return now - round(parse_span(text, what=what) * NS)
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ArgumentError(f"{what}: {_shown(text)} is not a calendar date") from None
        return _moment_ns(datetime(day.year, day.month, day.day, tzinfo=UTC), text, what)
    stripped = text.strip()
    if stripped.endswith("z"):  # RFC 3339 allows a lower-case zone designator
        stripped = stripped[:-1] + "Z"
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ArgumentError(f"{what}: expected {TIME_FORMS}, got {_shown(text)}") from None
    return _moment_ns(moment, text, what)


def check_window(since_ns: int | None, until_ns: int | None, *, now_ns: int | None = None) -> None:
    """Refuse a window no command can mean: a future start, or an end not after the start.

    A future ``--since`` would pin a collector's cursor so that nothing is ever collected
    (and ``--status`` would call it healthy); an ``--until`` at or before ``--since``
    selects nothing. Both are usage errors, said plainly.
    """
    now = time.time_ns() if now_ns is None else now_ns
    if since_ns is not None and since_ns > now:
        raise ArgumentError(f"--since {format_ns(since_ns)} is in the future")
    if since_ns is not None and until_ns is not None and until_ns <= since_ns:
        raise ArgumentError(
            f"--until {format_ns(until_ns)} is not after --since {format_ns(since_ns)}"
        )


def format_ns(ns: int) -> str:
    """An RFC 3339 UTC time for nanoseconds since 1970, to the second."""
    return datetime.fromtimestamp(ns // NS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
