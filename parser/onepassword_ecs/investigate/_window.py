"""Time windows: what ``--since``, ``--until`` and ``--baseline`` mean.

Every investigation looks at one window ``[since, until)`` and, when it compares, at the
baseline period just before it, ``[since - baseline, since)``. Times are nanoseconds since
the epoch, the store's own unit, so a window is two integers SQLite ranges over cheaply.

Without ``--until`` the window ends just after the newest stored event (not at the wall
clock: a store copied from last month should still be investigated as it was); without
``--since`` it covers the :data:`DEFAULT_WINDOW` before that end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .._errors import ArgumentError, InvestigationError
from .._time import check_window, parse_moment, parse_span

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


def parse_duration(text: str) -> timedelta:
    """A span in the one grammar (``30d``, ``12h``, ``2w``, ``90m``, ``45s``) as a duration."""
    try:
        return timedelta(seconds=parse_span(text, what="duration"))
    except ArgumentError as exc:
        raise InvestigationError(str(exc)) from None


def parse_time(text: str, *, now: datetime | None = None) -> int:
    """A time point in the one grammar (RFC 3339, a date meaning UTC midnight, or a span
    ago such as ``7d``), in nanoseconds; ``now`` is the wall clock unless given."""
    now_ns = _ns(now) if now is not None else None
    try:
        return parse_moment(text, now_ns=now_ns)
    except ArgumentError as exc:
        raise InvestigationError(str(exc)) from None


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
    """Fill in the defaults described in the module docstring.

    A future ``since`` and an ``until`` not after ``since`` are refused as the one grammar
    refuses them everywhere (:func:`onepassword_ecs._time.check_window`).
    """
    try:
        check_window(since, until)
    except ArgumentError as exc:
        raise InvestigationError(str(exc)) from None
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
