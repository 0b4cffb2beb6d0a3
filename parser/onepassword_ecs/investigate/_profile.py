"""A person's activity profile, compared with their own baseline, and their timeline.

"Is this normal for them?" is answered facet by facet: countries, addresses, client
apps, operating systems, active hours (in the investigator's time zone), vaults, items
and actions, each counted in the investigated window and in the baseline period just
before it. A value seen in the window but never in the baseline is **new**; the
timeline marks each event that carries a new value, so the eye goes to the night-time
sign-in from a new country before the hundred ordinary fills around it.

A person with no baseline activity has nothing to compare with: nothing is marked new,
and the output says so instead of marking everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from ._events import EventView
from ._queries import Investigation, Listing, Person
from ._window import NS_PER_SECOND, Window

__all__ = ["FACETS", "FLAGGED_FACETS", "Profile", "UserReport", "investigate_user"]


def _hour(zone: tzinfo) -> Callable[[EventView], str | None]:
    def hour(event: EventView) -> str | None:
        return f"{datetime.fromtimestamp(event.ts_ns // NS_PER_SECOND, zone).hour:02d}h"

    return hour


# facet name → what it reads from an event (the hours facet is bound to a time zone).
FACETS: dict[str, Callable[[EventView], str | None]] = {
    "countries": lambda e: e.country,
    "addresses": lambda e: e.ip,
    "apps": lambda e: e.app,
    "os": lambda e: e.os,
    "hours": _hour(UTC),
    "vaults": lambda e: e.vault,
    "items": lambda e: e.item,
    "actions": lambda e: f"{e.kind}:{e.action}" if e.action else None,
}
# The facets whose new values mark timeline events (a new item is routine; a new
# country is not), with the words used in the mark.
FLAGGED_FACETS = {
    "countries": "new country",
    "addresses": "new address",
    "apps": "new app",
    "hours": "unusual hour",
}
# Event shapes that are marked whatever the baseline says.
_ALWAYS_MARKED: tuple[tuple[str, Callable[[EventView], bool]], ...] = (
    ("self-grant", lambda e: e.self_change),
    ("export", lambda e: e.action == "export"),
    ("share", lambda e: e.action == "share"),
    ("failed", lambda e: e.outcome == "failure"),
)
_TOP_VALUES = 15  # values listed per facet
_SINGULAR = {
    "countries": "country",
    "addresses": "address",
    "apps": "app",
    "os": "OS",
    "hours": "hour",
    "vaults": "vault",
    "items": "item",
    "actions": "action",
}


@dataclass
class Profile:
    """Counts per facet value over a set of events."""

    events: int = 0
    facets: dict[str, Counter[str]] = field(default_factory=lambda: {n: Counter() for n in FACETS})

    def add(self, event: EventView, readers: dict[str, Callable[[EventView], str | None]]) -> None:
        self.events += 1
        for name, read in readers.items():
            value = read(event)
            if value:
                self.facets[name][value] += 1


@dataclass
class UserReport:
    """One person's window against their baseline: profiles, marked timeline, alerts."""

    person: Person
    window: Window
    zone: str
    current: Profile
    baseline: Profile
    timeline: Listing
    alerts: list[dict[str, Any]]

    def new_values(self, facet: str) -> list[str]:
        if not self.baseline.events:
            return []
        seen = self.baseline.facets[facet]
        return [value for value in self.current.facets[facet] if value not in seen]

    @property
    def highlights(self) -> list[str]:
        """One sentence per new facet value, most telling first."""
        if not self.baseline.events:
            return ["no baseline activity to compare with"]
        lines = []
        for facet in ("countries", "addresses", "apps", "os", "hours", "vaults", "actions"):
            for value in self.new_values(facet):
                count = self.current.facets[facet][value]
                lines.append(
                    f"new {_SINGULAR[facet]}: {value} "
                    f"({count} event{'s' if count != 1 else ''}, never in the baseline)"
                )
        return lines

    def facet_rows(self, facet: str) -> list[dict[str, Any]]:
        current, baseline = self.current.facets[facet], self.baseline.facets[facet]
        new = set(self.new_values(facet))
        values = [v for v, _ in current.most_common(_TOP_VALUES)]
        values += [v for v, _ in baseline.most_common(_TOP_VALUES) if v not in current][:5]
        return [
            {"value": v, "window": current[v], "baseline": baseline[v], "new": v in new}
            for v in values
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "person": self.person.as_dict(),
            "window": self.window.as_dict(),
            "time_zone": self.zone,
            "events": {"window": self.current.events, "baseline": self.baseline.events},
            "highlights": self.highlights,
            "profile": {facet: self.facet_rows(facet) for facet in FACETS},
            "timeline": self.timeline.as_dict(),
            "alerts": self.alerts,
        }


def readers_for(zone: tzinfo) -> dict[str, Callable[[EventView], str | None]]:
    return {**FACETS, "hours": _hour(zone)}


def profile_of(
    events: Iterable[EventView], readers: dict[str, Callable[[EventView], str | None]]
) -> Profile:
    profile = Profile()
    for event in events:
        profile.add(event, readers)
    return profile


def investigate_user(
    investigation: Investigation,
    person: Person,
    window: Window,
    *,
    zone: tzinfo,
    zone_name: str,
    limit: int,
) -> UserReport:
    """Profile the person in the window and the baseline; mark their timeline."""
    readers = readers_for(zone)
    baseline = profile_of(
        investigation.user_events(person, window.baseline_since, window.since), readers
    )
    current = Profile()
    timeline = Listing(limit)
    for event in investigation.user_events(person, window.since, window.until):
        current.add(event, readers)
        timeline.add(event)
    report = UserReport(person, window, zone_name, current, baseline, timeline, [])
    new = {facet: set(report.new_values(facet)) for facet in FLAGGED_FACETS}
    for event in timeline.events:
        for facet, words in FLAGGED_FACETS.items():
            value = readers[facet](event)
            if value in new[facet]:
                event.flags.append(f"{words} {value}")
        event.flags += [words for words, test in _ALWAYS_MARKED if test(event)]
    report.alerts = investigation.alerts(window.since, window.until, person)
    return report
