"""Time windows: what ``--since``, ``--until`` and ``--baseline`` mean.

Every investigation looks at one window ``[since, until)`` and, when it compares, at the
baseline period just before it, ``[since - baseline, since)``. Times are nanoseconds since
the epoch, the store's own unit, so a window is two integers SQLite ranges over cheaply.

Without ``--until`` the window ends just after the newest stored event (not at the wall
clock: a store copied from last month should still be investigated as it was); without
``--since`` it covers the :data:`DEFAULT_WINDOW` before that end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .._errors import InvestigationError

__all__ = [
    "DEFAULT_BASELINE",
    "DEFAULT_WINDOW",
    "NS_PER_SECOND",
    "Window",
    "format_ns",
    "parse_duration",
    "parse_time",
    "resolve_window",
]

NS_PER_SECOND = 1_000_000_000
DEFAULT_WINDOW = timedelta(days=7)
DEFAULT_BASELINE = timedelta(days=30)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` → a positive duration."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise InvestigationError(
            f"not a duration: {text!r} (use a whole number and a unit: 30d, 12h, 2w, 90m)"
        )
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_time(text: str, *, now: datetime | None = None) -> int:
    """An absolute time (RFC 3339, or a date meaning its UTC midnight) or a duration ago.

    ``2026-10-24``, ``2026-10-24T08:00:00Z``, ``2026-10-24T10:00:00+02:00`` or ``7d``
    (seven days before ``now``, the wall clock by default). Returns nanoseconds.
    """
    text = text.strip()
    if _DURATION.match(text):
        moment = (now or datetime.now(UTC)) - parse_duration(text)
        return _ns(moment)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _ns(datetime(day.year, day.month, day.day, tzinfo=UTC))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvestigationError(
            f"not a time: {text!r} (use 2026-10-24, 2026-10-24T08:00:00Z or a duration ago "
            "such as 7d)"
        ) from None
    if moment.tzinfo is None:
        raise InvestigationError(f"time {text!r} has no UTC offset (add Z or +hh:mm)")
    return _ns(moment)


def _ns(moment: datetime) -> int:
    whole = int(moment.timestamp())
    return whole * NS_PER_SECOND + moment.microsecond * 1000


def format_ns(ns: int) -> str:
    """Nanoseconds → ``2026-10-28T01:12:00.123Z`` (milliseconds are enough to read)."""
    moment = datetime.fromtimestamp(ns // NS_PER_SECOND, UTC)
    millis = (ns % NS_PER_SECOND) // 1_000_000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


@dataclass(frozen=True)
class Window:
    """The investigated period ``[since, until)`` and the baseline just before it."""

    since: int
    until: int
    baseline_since: int

    @property
    def days(self) -> float:
        return max((self.until - self.since) / (86400 * NS_PER_SECOND), 1 / 24)

    @property
    def baseline_days(self) -> float:
        return max((self.since - self.baseline_since) / (86400 * NS_PER_SECOND), 1 / 24)

    def as_dict(self) -> dict[str, str]:
        return {
            "since": format_ns(self.since),
            "until": format_ns(self.until),
            "baseline_since": format_ns(self.baseline_since),
        }


def resolve_window(
    since: int | None,
    until: int | None,
    *,
    newest_ns: int | None,
    baseline: timedelta = DEFAULT_BASELINE,
    default_window: timedelta = DEFAULT_WINDOW,
) -> Window:
    """Fill in the defaults described in the module docstring."""
    if until is None:
        until = (newest_ns + 1) if newest_ns is not None else _ns(datetime.now(UTC))
    if since is None:
        since = until - int(default_window.total_seconds()) * NS_PER_SECOND
    if since >= until:
        raise InvestigationError(
            f"--since ({format_ns(since)}) must be before --until ({format_ns(until)})"
        )
    baseline_since = since - int(baseline.total_seconds()) * NS_PER_SECOND
    return Window(since=since, until=until, baseline_since=baseline_since)
