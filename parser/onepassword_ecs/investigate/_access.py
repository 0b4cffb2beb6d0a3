"""Who touched it: access reports for a vault, an item or a network address.

The "all access to regulated data" question: for one vault (or item, or address) and a
window, every person who used or changed it, how (counts per action: reveals, copies,
fills, exports, grants), when (first and last), and from where; then the notable events
(grants and revocations, exports, shares, self-grants, failed sign-ins) listed whole.

People are ranked by their notable events first and their volume second, so the person
who exported the vault or granted themselves access sits at the top of the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ._events import EventView
from ._queries import Listing
from ._window import Window, format_ns

__all__ = ["NOTABLE_ACTIONS", "AccessReport", "PersonAccess", "access_report", "is_notable"]

NOTABLE_ACTIONS = frozenset({"grant", "revoke", "update", "export", "share", "delete", "purge"})
_NOTABLE_KEPT = 200  # notable events listed whole; the rest are counted


def is_notable(event: EventView) -> bool:
    return event.action in NOTABLE_ACTIONS or event.self_change or event.outcome == "failure"


def notable_marks(event: EventView) -> list[str]:
    marks = []
    if event.self_change:
        marks.append("self-grant")
    if event.action == "export":
        marks.append("export")
    if event.outcome == "failure":
        marks.append("failed")
    return marks


@dataclass
class PersonAccess:
    user_id: str
    user: str
    events: int = 0
    notable: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    countries: Counter[str] = field(default_factory=Counter)
    addresses: Counter[str] = field(default_factory=Counter)
    first_ns: int = 0
    last_ns: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "user": self.user,
            "events": self.events,
            "notable": self.notable,
            "actions": dict(self.actions.most_common()),
            "countries": dict(self.countries.most_common()),
            "addresses": dict(self.addresses.most_common(10)),
            "first": format_ns(self.first_ns),
            "last": format_ns(self.last_ns),
        }


@dataclass
class AccessReport:
    subject_kind: str  # "vault", "item" or "address"
    subject: str
    window: Window
    people: list[PersonAccess]
    notable: list[EventView]
    notable_total: int
    timeline: Listing

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": {"kind": self.subject_kind, "id": self.subject},
            "window": self.window.as_dict(),
            "people": [person.as_dict() for person in self.people],
            "notable": {
                "total": self.notable_total,
                "events": [event.as_dict() for event in self.notable],
            },
            "timeline": self.timeline.as_dict(),
        }


def access_report(
    subject_kind: str, subject: str, window: Window, events: Iterable[EventView], *, limit: int
) -> AccessReport:
    """Fold the subject's events into per-person rows, notable events and a timeline."""
    people: dict[str, PersonAccess] = {}
    notable: list[EventView] = []
    notable_total = 0
    timeline = Listing(limit)
    for event in events:
        timeline.add(event)
        key = event.user_id or event.user or "(unknown)"
        person = people.get(key)
        if person is None:
            person = people[key] = PersonAccess(key, event.user or key, first_ns=event.ts_ns)
        person.events += 1
        person.last_ns = event.ts_ns
        person.actions[f"{event.kind}:{event.action}"] += 1
        if event.country:
            person.countries[event.country] += 1
        if event.ip:
            person.addresses[event.ip] += 1
        if is_notable(event):
            person.notable += 1
            notable_total += 1
            event.flags = notable_marks(event)
            if len(notable) < _NOTABLE_KEPT:
                notable.append(event)
    ranked = sorted(people.values(), key=lambda p: (-p.notable, -p.events, p.user))
    # Self-grants and exports first among the notable events, then time order.
    notable.sort(key=lambda e: (not e.flags or e.flags == ["failed"], e.ts_ns))
    return AccessReport(subject_kind, subject, window, ranked, notable, notable_total, timeline)
