"""Ranked outliers across everyone: what is new or unusual in the window, with evidence.

Each kind of finding compares the window with the baseline period just before it,
per person (or per address for the spray), using SQL over the store's indexed columns
so a month of millions of events is grouped inside SQLite rather than in Python:

============================  ===================================================  =====
kind                          when                                                 score
============================  ===================================================  =====
``self_granted_access``       an admin change (grant/update/join/role) whose       90
                              actor is the affected person
``password_spray``            failed sign-ins (not firewall blocks) from one       40 + people
                              address against :data:`SPRAY_MIN_PEOPLE` or more
                              people
``new_country``               a successful event from a country the person never   60 (+20 if
                              used in the baseline                                 nobody did)
``first_export``              an export by someone who never exported before       55
``new_client``                a sign-in with an app the person never used          30
``new_address``               an address the person never used                     25 (+15 if
                                                                                   nobody did)
``volume``                    many more events than the person's own daily rate    20 + 10·log2
``unusual_hours``             activity at hours the person is never active         15 + 3·n
============================  ===================================================  =====

Scores are capped at 100. Failed sign-ins do not count as a person's activity (an
attacker's failures from abroad say nothing about where the person works); people with
fewer than :data:`MIN_BASELINE_EVENTS` baseline events are not compared at all (there is
nothing to compare with). Every finding carries its counts, the baseline, and up to
:data:`EVIDENCE_EVENTS` of the events themselves.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

import orjson

from ._events import EventView, view
from ._queries import Investigation
from ._window import NS_PER_SECOND, Window, format_ns

__all__ = ["EVIDENCE_EVENTS", "MIN_BASELINE_EVENTS", "SCORES", "Finding", "find_anomalies"]

SCORES = {
    "self_granted_access": 90,
    "password_spray": 40,
    "new_country": 60,
    "first_export": 55,
    "new_client": 30,
    "new_address": 25,
    "volume": 20,
    "unusual_hours": 15,
}
NEW_TO_EVERYONE_BONUS = {"new_country": 20, "new_address": 15}
MIN_BASELINE_EVENTS = 5
SPRAY_MIN_PEOPLE = 5
VOLUME_MIN_EVENTS = 20
VOLUME_MIN_RATIO = 3.0
EVIDENCE_EVENTS = 5

_OWN = "outcome IS NOT 'failure' AND user_id IS NOT NULL"
_SELF_CHANGE_ACTIONS = ("grant", "update", "join", "role")


@dataclass
class Finding:
    kind: str
    subject_kind: str  # "user" or "address"
    subject: str
    label: str
    score: int
    summary: str
    evidence: dict[str, Any]
    events: list[EventView] = field(default_factory=list)
    # How to fetch the evidence events: an SQL condition and its parameters.
    query: tuple[str, list[Any]] = ("0", [])

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": {"kind": self.subject_kind, "id": self.subject, "label": self.label},
            "score": self.score,
            "summary": self.summary,
            "evidence": self.evidence,
            "events": [event.as_dict() for event in self.events],
        }


class _Anomalies:
    def __init__(self, investigation: Investigation, window: Window, zone: tzinfo) -> None:
        self.db = investigation.connection
        self.window = window
        self.current = (window.since, window.until)
        self.baseline = (window.baseline_since, window.since)
        middle = datetime.fromtimestamp(window.since // NS_PER_SECOND, zone)
        offset = middle.utcoffset()
        self.offset_s = int(offset.total_seconds()) if offset else 0
        self.findings: list[Finding] = []
        self.labels: dict[str, str] = {}
        self.baseline_totals: dict[str, int] = {}

    def _query(self, sql: str, period: tuple[int, int], *params: Any) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, [*period, *params]).fetchall()

    def _add(self, finding: Finding) -> None:
        finding.score = min(100, finding.score)
        self.findings.append(finding)

    def _label(self, user_id: str) -> str:
        return self.labels.get(user_id) or user_id

    def run(self) -> list[Finding]:
        for user_id, email in self._query(
            "SELECT DISTINCT user_id, user_email FROM events WHERE ts_ns >= ? AND ts_ns < ? "
            "AND user_id IS NOT NULL AND user_email IS NOT NULL",
            self.current,
        ):
            self.labels[user_id] = email
        self.baseline_totals = dict(
            self._query(
                f"SELECT user_id, count(*) FROM events WHERE ts_ns >= ? AND ts_ns < ? AND {_OWN} "
                "GROUP BY user_id",
                self.baseline,
            )
        )
        self.self_grants()
        self.spray()
        self.new_values("new_country", "country", "country")
        self.new_values("new_address", "source_ip", "address")
        self.new_clients()
        self.first_exports()
        self.volume()
        self.unusual_hours()
        return self.findings

    def _compared(self, user_id: str) -> bool:
        return self.baseline_totals.get(user_id, 0) >= MIN_BASELINE_EVENTS

    # --- rules --------------------------------------------------------------------------

    def self_grants(self) -> None:
        marks = ", ".join("?" for _ in _SELF_CHANGE_ACTIONS)
        rows = self._query(
            "SELECT event_id, user_id, action, ts_ns FROM events WHERE ts_ns >= ? AND ts_ns < ? "
            "AND dataset = '1password.audit_events' AND user_id = target_user_id "
            f"AND action IN ({marks}) ORDER BY ts_ns",
            self.current,
            *_SELF_CHANGE_ACTIONS,
        )
        for event_id, user_id, action, ts_ns in rows:
            self._add(
                Finding(
                    "self_granted_access",
                    "user",
                    user_id,
                    self._label(user_id),
                    SCORES["self_granted_access"],
                    f"{self._label(user_id)} made an admin change ({action}) to their own access",
                    {"action": action, "time": format_ns(ts_ns)},
                    query=("event_id = ?", [event_id]),
                )
            )

    def spray(self) -> None:
        rows = self._query(
            "SELECT source_ip, count(DISTINCT user_id), count(*), min(ts_ns), max(ts_ns) "
            "FROM events WHERE ts_ns >= ? AND ts_ns < ? AND dataset = '1password.signin_attempts' "
            "AND outcome = 'failure' AND action IS NOT 'firewall_failed' AND source_ip IS NOT NULL "
            "GROUP BY source_ip HAVING count(DISTINCT user_id) >= ?",
            self.current,
            SPRAY_MIN_PEOPLE,
        )
        for address, people, failures, first, last in rows:
            minutes = max(1, round((last - first) / NS_PER_SECOND / 60))
            self._add(
                Finding(
                    "password_spray",
                    "address",
                    address,
                    address,
                    SCORES["password_spray"] + people,
                    f"{failures} failed sign-ins against {people} people from {address} "
                    f"within {minutes} min",
                    {
                        "people": people,
                        "failures": failures,
                        "first": format_ns(first),
                        "last": format_ns(last),
                    },
                    query=(
                        "source_ip = ? AND outcome = 'failure' AND dataset = "
                        "'1password.signin_attempts'",
                        [address],
                    ),
                )
            )

    def new_values(self, kind: str, column: str, noun: str) -> None:
        seen: dict[str, set[str]] = defaultdict(set)
        everyone: set[str] = set()
        for user_id, value in self._query(
            f"SELECT DISTINCT user_id, {column} FROM events WHERE ts_ns >= ? AND ts_ns < ? "
            f"AND {_OWN} AND {column} IS NOT NULL",
            self.baseline,
        ):
            seen[user_id].add(value)
            everyone.add(value)
        rows = self._query(
            f"SELECT user_id, {column}, count(*), min(ts_ns) FROM events WHERE ts_ns >= ? "
            f"AND ts_ns < ? AND {_OWN} AND {column} IS NOT NULL GROUP BY user_id, {column}",
            self.current,
        )
        for user_id, value, count, first in rows:
            if not self._compared(user_id) or value in seen[user_id]:
                continue
            new_to_all = value not in everyone
            usual = ", ".join(sorted(seen[user_id])[:5])
            self._add(
                Finding(
                    kind,
                    "user",
                    user_id,
                    self._label(user_id),
                    SCORES[kind] + (NEW_TO_EVERYONE_BONUS[kind] if new_to_all else 0),
                    f"{self._label(user_id)}: {count} event{'s' if count != 1 else ''} from "
                    f"{noun} {value}"
                    + (" (new to everyone)" if new_to_all else "")
                    + f"; usually {usual}",
                    {
                        noun: value,
                        "window_count": count,
                        "baseline_values": sorted(seen[user_id])[:20],
                        "new_to_everyone": new_to_all,
                        "first": format_ns(first),
                    },
                    query=(f"user_id = ? AND {column} = ? AND {_OWN}", [user_id, value]),
                )
            )

    def new_clients(self) -> None:
        app = "json_extract(CAST(document AS TEXT), '$.onepassword.client.app_name')"
        sql = (
            f"SELECT user_id, {app} AS app, count(*) FROM events WHERE ts_ns >= ? AND ts_ns < ? "
            f"AND dataset = '1password.signin_attempts' AND {_OWN} GROUP BY user_id, app"
        )
        seen: dict[str, set[str]] = defaultdict(set)
        for user_id, name, _ in self._query(sql, self.baseline):
            if name:
                seen[user_id].add(name)
        for user_id, name, count in self._query(sql, self.current):
            if not name or not seen[user_id] or not self._compared(user_id):
                continue
            if name in seen[user_id]:
                continue
            self._add(
                Finding(
                    "new_client",
                    "user",
                    user_id,
                    self._label(user_id),
                    SCORES["new_client"],
                    f"{self._label(user_id)} signed in with {name}; usually "
                    + ", ".join(sorted(seen[user_id])),
                    {"app": name, "window_count": count, "baseline_values": sorted(seen[user_id])},
                    query=(
                        f"user_id = ? AND dataset = '1password.signin_attempts' AND {_OWN} AND "
                        "instr(document, CAST(? AS BLOB)) > 0",
                        [user_id, name.encode()],
                    ),
                )
            )

    def first_exports(self) -> None:
        before = {
            row[0]
            for row in self._query(
                "SELECT DISTINCT user_id FROM events WHERE ts_ns >= ? AND ts_ns < ? "
                "AND action = 'export' AND user_id IS NOT NULL",
                self.baseline,
            )
        }
        for user_id, count in self._query(
            "SELECT user_id, count(*) FROM events WHERE ts_ns >= ? AND ts_ns < ? "
            "AND action = 'export' AND user_id IS NOT NULL GROUP BY user_id",
            self.current,
        ):
            if user_id in before:
                continue
            self._add(
                Finding(
                    "first_export",
                    "user",
                    user_id,
                    self._label(user_id),
                    SCORES["first_export"],
                    f"{self._label(user_id)} exported {count} time{'s' if count != 1 else ''}, "
                    "never before in the baseline",
                    {"window_count": count, "baseline_count": 0},
                    query=("user_id = ? AND action = 'export'", [user_id]),
                )
            )

    def volume(self) -> None:
        for user_id, count in self._query(
            f"SELECT user_id, count(*) FROM events WHERE ts_ns >= ? AND ts_ns < ? AND {_OWN} "
            "GROUP BY user_id",
            self.current,
        ):
            if count < VOLUME_MIN_EVENTS or not self._compared(user_id):
                continue
            usual = self.baseline_totals[user_id] / self.window.baseline_days * self.window.days
            ratio = (count + 1) / (usual + 1)
            if ratio < VOLUME_MIN_RATIO:
                continue
            self._add(
                Finding(
                    "volume",
                    "user",
                    user_id,
                    self._label(user_id),
                    SCORES["volume"] + round(10 * math.log2(ratio)),
                    f"{self._label(user_id)}: {count} events, {ratio:.1f} times their usual "
                    f"{usual:.0f} for a period this long",
                    {
                        "window_count": count,
                        "expected": round(usual, 1),
                        "ratio": round(ratio, 2),
                        "baseline_count": self.baseline_totals[user_id],
                    },
                    query=(f"user_id = ? AND {_OWN}", [user_id]),
                )
            )

    def unusual_hours(self) -> None:
        hour = f"(((ts_ns / {NS_PER_SECOND}) + {self.offset_s}) / 3600) % 24"
        sql = (
            f"SELECT user_id, {hour} AS hour, count(*) FROM events WHERE ts_ns >= ? AND ts_ns < ? "
            f"AND {_OWN} GROUP BY user_id, hour"
        )
        usual: dict[str, set[int]] = defaultdict(set)
        for user_id, at, _ in self._query(sql, self.baseline):
            usual[user_id].add(int(at))
        odd: dict[str, dict[int, int]] = defaultdict(dict)
        for user_id, at, count in self._query(sql, self.current):
            if self._compared(user_id) and int(at) not in usual[user_id]:
                odd[user_id][int(at)] = count
        for user_id, hours in odd.items():
            total = sum(hours.values())
            listed = sorted(hours)
            self._add(
                Finding(
                    "unusual_hours",
                    "user",
                    user_id,
                    self._label(user_id),
                    SCORES["unusual_hours"] + min(25, 3 * total),
                    f"{self._label(user_id)}: {total} event{'s' if total != 1 else ''} at "
                    + ", ".join(f"{h:02d}h" for h in listed)
                    + f", hours they are never active; usually {_hour_span(usual[user_id])}",
                    {
                        "hours": {f"{h:02d}h": c for h, c in sorted(hours.items())},
                        "baseline_hours": [f"{h:02d}h" for h in sorted(usual[user_id])],
                        "utc_offset_s": self.offset_s,
                    },
                    query=(
                        f"user_id = ? AND {_OWN} AND {hour} IN ({', '.join(map(str, listed))})",
                        [user_id],
                    ),
                )
            )

    # --- evidence -------------------------------------------------------------------------

    def attach_evidence(self, findings: list[Finding]) -> None:
        for finding in findings:
            condition, params = finding.query
            rows = self.db.execute(
                f"SELECT ts_ns, document FROM events WHERE ts_ns >= ? AND ts_ns < ? AND "
                f"{condition} ORDER BY ts_ns, seq LIMIT ?",
                [*self.current, *params, EVIDENCE_EVENTS],
            ).fetchall()
            finding.events = [view(orjson.loads(document), ts) for ts, document in rows]


def _hour_span(hours: set[int]) -> str:
    """The hours seen, as runs of consecutive hours: ``08h-12h, 14h-18h``.

    Never a min-max range: a range from the earliest to the latest hour would contain
    the very hour the finding flags as one they are never active at. A run may cross
    midnight (``22h-01h``); a run of one hour is that hour (``07h``).
    """
    if not hours:
        return "never"
    if len(hours) == 24:
        return "at every hour"
    # start each run at an hour whose predecessor was not seen: no run is split at 00h
    starts = sorted(h for h in hours if (h - 1) % 24 not in hours)
    runs = []
    for start in starts:
        end = start
        while (end + 1) % 24 in hours:
            end = (end + 1) % 24
        runs.append(f"{start:02d}h" if end == start else f"{start:02d}h-{end:02d}h")
    return ", ".join(runs)


def find_anomalies(
    investigation: Investigation, window: Window, *, zone: tzinfo, limit: int = 20
) -> list[Finding]:
    """The ``limit`` highest-scoring findings in the window, evidence attached."""
    engine = _Anomalies(investigation, window, zone)
    findings = engine.run()
    findings.sort(key=lambda f: (-f.score, f.kind, f.subject))
    top = findings[: max(1, limit)]
    engine.attach_evidence(top)
    return top
