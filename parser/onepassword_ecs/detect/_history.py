"""History rules: first-seen values, impossible travel, silent streams.

Sigma has no way to say "not seen for this user in the last 30 days" or "faster than a
plane", so these are the project's own rule kind, evaluated here in one pass over the
documents in time order. State is per key (user, or user and value, or stream), never
per event: memory grows with the number of users and places, not with the number of
events. Each check's ``state`` is a flat ``{text key: JSON value}`` map, so the engine
can keep it in the store between runs (``dirty`` names the keys changed since it was
last saved; ``expires`` says when an entry stops mattering).

- ``new_value``: an event whose value (a country, an address) was not seen for the same
  key within ``lookback``. Silent during ``learning`` from the first event of the data,
  when everything is new.
- ``travel``: two consecutive located events of one user (failed attempts left out:
  they may be anyone's) further apart than
  ``min_distance_km`` (100 by default, to ignore geolocation jitter) at a speed above
  ``max_speed_kmh``.
- ``silence``: a stream (dataset) with a gap longer than ``silence_hours`` between two
  events, or between its last event and the end of the evaluated period.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from .._errors import DetectionError
from ._context import Context, parse_duration
from ._engine import Match
from ._ruleset import Rule

__all__ = ["HistoryCheck", "history_checks", "run_history_rules"]

_NS = 1_000_000_000
_SEP = "\x1f"
_START = "\x00start"  # the first event's time, in the new_value state
_EARTH_RADIUS_KM = 6371.0088


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


_LOCATION_FIELDS = (
    ("source.geo.location.lat", "source.geo.location.lon"),
    ("client.geo.location.lat", "client.geo.location.lon"),
)


def _location(row: dict[str, Any]) -> tuple[float, float] | None:
    for lat_field, lon_field in _LOCATION_FIELDS:
        lat, lon = row.get(lat_field), row.get(lon_field)
        if lat is not None and lon is not None:
            try:
                return float(lat), float(lon)
            except ValueError:
                continue
    return None


class _Check(Protocol):
    rule: Rule
    fields: tuple[str, ...]
    only: dict[str, str]  # events without these exact values are never looked at
    state: dict[str, Any]
    dirty: set[str]

    def feed(self, event_id: str, document: dict[str, Any], ts: int) -> Iterator[Match]: ...

    def saw(self, ts: int) -> None:
        """An event at ``ts`` exists (told even of events ``only`` keeps from ``feed``)."""

    def finish(self, until_ns: int | None) -> Iterator[Match]: ...

    def expires(self, key: str, value: Any) -> int | None: ...


class _NewValue:
    """State: ``key parts + value`` -> when last seen; ``_START`` -> the first event.

    The learning period runs from the first event this check ever saw (kept with the
    state, so a later round does not restart learning at the start of what it reads).
    An event older than the value's last sighting (a late arrival) refreshes nothing
    and alerts on nothing: it cannot be new if the value was already seen after it.
    """

    def __init__(self, rule: Rule, context: Context) -> None:
        params = rule.params
        self.rule = rule
        self.dataset = params.get("dataset")
        self.outcome = params.get("outcome")
        self.keys = list(params.get("key") or ["user.id"])
        self.value = str(params["value"])
        window = context.threshold(rule.name, "window") or params.get("lookback", "30d")
        self.lookback = parse_duration(window) * _NS
        self.learning = parse_duration(params.get("learning", window)) * _NS
        self.fields: tuple[str, ...] = ("event.dataset", "event.outcome", *self.keys, self.value)
        self.only = {
            name: str(value)
            for name, value in (("event.dataset", self.dataset), ("event.outcome", self.outcome))
            if value
        }
        self.state: dict[str, Any] = {}
        self.dirty: set[str] = set()

    def saw(self, ts: int) -> None:
        """The learning period starts at the first event of the data, of any kind."""
        start = self.state.get(_START)
        if start is None or ts < start:
            self.state[_START] = ts
            self.dirty.add(_START)

    def feed(self, event_id: str, document: dict[str, Any], ts: int) -> Iterator[Match]:
        self.saw(ts)
        start = int(self.state[_START])
        if self.dataset and document.get("event.dataset") != self.dataset:
            return
        if self.outcome and document.get("event.outcome") != self.outcome:
            return
        parts = [document.get(k) for k in self.keys]
        value = document.get(self.value)
        if not all(isinstance(k, str) for k in parts) or not isinstance(value, str):
            return
        key = _SEP.join([*(str(k) for k in parts), value])
        last = self.state.get(key)
        if last is not None and ts < last:
            return  # a late event: the value was seen after it
        self.state[key] = ts
        self.dirty.add(key)
        if ts < start + self.learning:
            return
        if last is None or ts - last > self.lookback:
            group = dict(zip(self.keys, (str(k) for k in parts), strict=True))
            yield Match(self.rule, group | {self.value: value}, [event_id])

    def finish(self, until_ns: int | None) -> Iterator[Match]:
        return iter(())

    def expires(self, key: str, value: Any) -> int | None:
        """A sighting older than the lookback is as good as none: forget it."""
        return None if key == _START else int(value) + self.lookback


class _Travel:
    """State: user -> ``[ts, lat, lon, event id]`` of their last located event."""

    def __init__(self, rule: Rule, context: Context) -> None:
        self.rule = rule
        self.max_speed = float(rule.params.get("max_speed_kmh", 900))
        self.min_distance = float(rule.params.get("min_distance_km", 100))
        self.fields: tuple[str, ...] = (
            "user.id",
            "event.outcome",
            *(f for pair in _LOCATION_FIELDS for f in pair),
        )
        self.only: dict[str, str] = {}
        self.state: dict[str, Any] = {}
        self.dirty: set[str] = set()

    def saw(self, ts: int) -> None:
        pass

    def feed(self, event_id: str, document: dict[str, Any], ts: int) -> Iterator[Match]:
        user = document.get("user.id")
        place = _location(document)
        if not isinstance(user, str) or place is None:
            return
        if document.get("event.outcome") == "failure":
            return  # someone else's attempt (a firewall block, a wrong password) is no trip
        previous = self.state.get(user)
        if previous is not None and ts < previous[0]:
            return  # a late event: the trip it would describe is already past
        self.state[user] = [ts, place[0], place[1], event_id]
        self.dirty.add(user)
        if previous is None:
            return
        before, lat, lon, first_id = previous
        if (lat, lon) == place:
            return  # the same place: no trip (most events, so no trigonometry)
        distance = _distance_km((lat, lon), place)
        hours = (ts - before) / (3600 * _NS)
        if distance < self.min_distance:
            return
        speed = math.inf if hours <= 0 else distance / hours
        if speed > self.max_speed:
            extra = {
                "distance_km": round(distance, 1),
                "speed_kmh": None if math.isinf(speed) else round(speed, 1),
            }
            yield Match(self.rule, {"user.id": user}, [first_id, event_id], extra)

    def finish(self, until_ns: int | None) -> Iterator[Match]:
        return iter(())

    def expires(self, key: str, value: Any) -> int | None:
        return None


class _Silence:
    """State: dataset -> ``[ts, event id]`` of its last event (the silence watermark)."""

    def __init__(self, rule: Rule, context: Context) -> None:
        self.rule = rule
        self.gap = int(context.silence_hours * 3600 * _NS)
        self.fields: tuple[str, ...] = ("event.dataset",)
        self.only: dict[str, str] = {}
        self.state: dict[str, Any] = {}
        self.dirty: set[str] = set()

    def _match(self, dataset: str, ids: list[str], start: int, end: int) -> Match:
        return Match(
            self.rule,
            {"event.dataset": dataset},
            ids,
            {"silent_from_ns": start, "silent_until_ns": end},
        )

    def saw(self, ts: int) -> None:
        pass

    def feed(self, event_id: str, document: dict[str, Any], ts: int) -> Iterator[Match]:
        dataset = document.get("event.dataset")
        if not isinstance(dataset, str):
            return
        previous = self.state.get(dataset)
        if previous is not None and ts < previous[0]:
            return  # a late event inside a stretch already judged
        self.state[dataset] = [ts, event_id]
        self.dirty.add(dataset)
        if previous is not None and ts - previous[0] > self.gap:
            yield self._match(dataset, [previous[1], event_id], previous[0], ts)

    def finish(self, until_ns: int | None) -> Iterator[Match]:
        if until_ns is None:
            return
        for dataset, (ts, event_id) in sorted(self.state.items()):
            if until_ns - ts > self.gap:
                yield self._match(dataset, [event_id], ts, until_ns)

    def expires(self, key: str, value: Any) -> int | None:
        return None


_CHECKS: dict[str, Callable[[Rule, Context], _Check]] = {
    "new_value": _NewValue,
    "travel": _Travel,
    "silence": _Silence,
}


HistoryCheck = _Check


def history_checks(rules: list[Rule], context: Context) -> list[_Check]:
    """The evaluators of the history rules (their ``fields`` are the columns they read)."""
    checks: list[_Check] = []
    for rule in rules:
        check = _CHECKS.get(str(rule.params.get("check")))
        if check is None:
            raise DetectionError(f"{rule.path}: unknown history check {rule.params.get('check')!r}")
        checks.append(check(rule, context))
    return checks


def run_history_rules(
    checks: list[_Check],
    events: Iterable[tuple[str, int, dict[str, Any]]],
    until_ns: int | None,
) -> Iterator[Match]:
    """Evaluate the checks over ``(event id, ts_ns, {field: value})`` in time order."""
    if not checks:
        return
    for event_id, ts, row in events:
        for evaluator in checks:
            yield from evaluator.feed(event_id, row, ts)
    for evaluator in checks:
        yield from evaluator.finish(until_ns)
