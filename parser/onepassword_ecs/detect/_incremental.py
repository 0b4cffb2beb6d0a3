"""The incremental engine: each round evaluates what is new, against the state it kept.

A round is given *new* rows ``(seq, event id, ts_ns, field values...)`` and evaluates
them once, whatever happened before:

- **single-event rules** run their pySigma SQL on the new rows only;
- **correlations** run their pySigma plan on a small working table: the new rows, plus
  the *tail* (the events matching one of the correlation's base rules within its
  timespan of the newest event evaluated so far), plus, for events older than that
  (late arrivals), the stretch of the store their windows reach back to. Only windows
  that contain a new event count: every other window was judged in an earlier round.
  Windows sharing an event are one burst and one alert, as in :mod:`._engine`; the last
  burst of each group is kept, so a burst that goes on in the next round stays the alert
  it already was (same identity: rule, group key, first event);
- **history rules** are fed the new rows in time order and keep their per-key state.

:class:`EngineState` is everything a later round needs (the tail, the bursts, the
history checks' maps, the arrival and time watermarks). It lives in memory during a
run and in the store between runs (:mod:`._state`), saved in the same transaction as
the alerts a round raised. Its size grows with people, places and the events of the
longest correlation window, never with the history kept.

Fed the same events in time order, any split into rounds raises exactly the alerts of
one round over everything (``tests/test_detect_incremental.py`` holds it to that).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sigma.backends.sqlite.runtime import execute_plan

from .._errors import DetectionError
from ._context import Context
from ._engine import _FLAG, _RAW_STAGE, Match, _compiled, _prefiltered, rule_fields
from ._history import HistoryCheck, history_checks
from ._ruleset import Rule

__all__ = ["Burst", "Engine", "EngineState", "TailRow"]

_NS = 1_000_000_000
_TABLE = "logs"
_SKEW_NS = 86400 * _NS  # how far ahead of this clock an event may move time on


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class TailRow:
    """One event a correlation window may still need: its fields and how long."""

    seq: int
    ts_ns: int
    keep_until_ns: int
    values: dict[str, Any]


@dataclass
class Burst:
    """The last burst of one correlation group: its alert's first event, its recent ids."""

    first_event_id: str
    event_ids: list[str]
    last_ns: int


@dataclass
class EngineState:
    """What carries over between rounds (see the module docstring)."""

    arrival_seq: int = 0
    evaluated_ns: int | None = None
    tail: dict[str, TailRow] = field(default_factory=dict)
    bursts: dict[tuple[str, str], Burst] = field(default_factory=dict)
    tail_added: set[str] = field(default_factory=set)
    tail_removed: set[str] = field(default_factory=set)
    bursts_changed: set[tuple[str, str]] = field(default_factory=set)
    bursts_removed: set[tuple[str, str]] = field(default_factory=set)

    def clean(self) -> None:
        """Forget what changed: called once the changes are saved."""
        self.tail_added.clear()
        self.tail_removed.clear()
        self.bursts_changed.clear()
        self.bursts_removed.clear()


@dataclass
class _Correlation:
    rule: Rule
    plan: dict[str, Any]
    span_ns: int
    membership: list[str]  # SQL selecting the event ids matching a base rule
    sources: dict[str, list[str]]  # group-by name -> the fields it may come from


def _span_ns(plan: dict[str, Any], rule: Rule) -> int:
    """The correlation window, read from the rule (thresholds already applied)."""
    from ._context import parse_duration

    spans = [
        parse_duration(str(d["correlation"]["timespan"]))
        for d in rule.documents
        if isinstance(d.get("correlation"), dict) and d["correlation"].get("timespan")
    ]
    if not spans:
        raise DetectionError(f"{rule.path}: a correlation needs a timespan")
    return max(spans) * _NS


def _membership(plan: dict[str, Any]) -> list[str]:
    """Queries giving the ids of the events a base rule of the plan matches.

    The plan's raw stages select every row of the table with one flag per base rule
    (``b0``, ``b1``...); the rows with a flag set are those a window may count.
    """
    queries = []
    source = f" FROM {_TABLE}"
    for stage in plan["prepare"]:
        select = str(stage["select"])
        flags = _FLAG.findall(select)
        if _RAW_STAGE.fullmatch(str(stage["name"])) and flags:
            # Only rows from the horizon on can stay: read just those (the time index).
            if select.endswith(source):
                select += " WHERE ts_ns >= :horizon"
            queries.append(f"SELECT rid FROM ({select}) WHERE {' OR '.join(flags)}")
    return queries


class Engine:
    """The compiled rules and the per-round working table; feed it rounds."""

    def __init__(self, rules: Sequence[Rule], context: Context) -> None:
        from ._engine import _alias_sources

        self.context = context
        self.waiting: dict[str, tuple[str, ...]] = {}
        enabled = []
        for rule in rules:
            waiting = rule.waits_for(context)
            if waiting:
                self.waiting[rule.name] = waiting
            else:
                enabled.append(rule)
        fields: set[str] = {"event.dataset", "user.id"}
        self.single: list[tuple[Rule, list[str]]] = []
        self.correlations: list[_Correlation] = []
        for rule in enabled:
            if rule.kind == "history":
                continue
            fields |= rule_fields(rule)
            compiled = _compiled(rule, context)
            if rule.kind == "correlation":
                plan = compiled.get("correlation_plan")
                if not isinstance(plan, dict):
                    raise DetectionError(f"{rule.path}: the SQLite backend produced no plan")
                self.correlations.append(
                    _Correlation(
                        rule,
                        _prefiltered(plan),
                        _span_ns(plan, rule),
                        _membership(plan),
                        _alias_sources(rule),
                    )
                )
            else:
                self.single.append((rule, [str(sql) for sql in compiled.get("rule", [])]))
        self._single_sql = self._single_query()
        self.history: list[HistoryCheck] = history_checks(
            [rule for rule in enabled if rule.kind == "history"], context
        )
        for check in self.history:
            fields |= set(check.fields)
        self.fields: list[str] = sorted(fields - {"event.id"})
        self.connection = sqlite3.connect(":memory:", isolation_level=None)
        # The correlation plans build temporary tables per round: batch-sized, so memory.
        self.connection.execute("PRAGMA temp_store = MEMORY")
        columns = "".join(f", {_quote(f)} TEXT COLLATE NOCASE" for f in self.fields)
        self.connection.execute(
            f'CREATE TABLE {_TABLE} (seq INTEGER, "event.id" TEXT NOT NULL UNIQUE, '
            f"ts REAL NOT NULL, ts_ns INTEGER NOT NULL, new INTEGER NOT NULL{columns})"
        )
        self.connection.execute(f"CREATE INDEX {_TABLE}_time ON {_TABLE} (ts_ns, seq)")
        marks = ", ".join("?" for _ in range(5 + len(self.fields)))
        self._insert = f"INSERT OR IGNORE INTO {_TABLE} VALUES ({marks})"

    def close(self) -> None:
        self.connection.close()

    def context_ranges(self, state: EngineState, earliest_new_ns: int) -> list[tuple[int, int]]:
        """Time ranges of stored events a round must read beside the tail.

        The tail holds each correlation's events from ``evaluated - timespan`` on; a new
        event older than ``evaluated`` (a late one) has windows reaching further back,
        to ``its time - timespan``. Returns the merged ``[since, until)`` ranges.
        """
        if state.evaluated_ns is None or earliest_new_ns >= state.evaluated_ns:
            return []
        ranges = sorted(
            (earliest_new_ns - c.span_ns, state.evaluated_ns - c.span_ns) for c in self.correlations
        )
        merged: list[tuple[int, int]] = []
        for start, end in ranges:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def round(
        self,
        state: EngineState,
        new_rows: Sequence[tuple[Any, ...]],
        context_rows: Iterable[tuple[Any, ...]] = (),
        *,
        until_ns: int | None = None,
    ) -> list[Match]:
        """Evaluate ``new_rows`` (and advance ``state``); return the matches, in order.

        Rows are ``(seq, event id, ts_ns, value of each of self.fields)``;
        ``context_rows`` are older events the round must see but not judge (the ranges
        of :meth:`context_ranges`). ``until_ns`` is the end of the evaluated period,
        for silent streams (None: the data ends when it ends).
        """
        connection = self.connection
        connection.execute("BEGIN")
        connection.execute(f"DELETE FROM {_TABLE}")
        connection.executemany(
            self._insert, ((r[0], r[1], r[2] / _NS, r[2], 1, *r[3:]) for r in new_rows)
        )
        connection.executemany(
            self._insert,
            (
                (
                    row.seq,
                    event_id,
                    row.ts_ns / _NS,
                    row.ts_ns,
                    0,
                    *(row.values.get(f) for f in self.fields),
                )
                for event_id, row in state.tail.items()
            ),
        )
        connection.executemany(
            self._insert, ((r[0], r[1], r[2] / _NS, r[2], 0, *r[3:]) for r in context_rows)
        )
        connection.execute("COMMIT")
        matches: list[Match] = []
        if new_rows:
            matches.extend(self._single())
            new_ids = {str(r[1]) for r in new_rows}
            for correlation in self.correlations:
                matches.extend(self._correlated(state, correlation, new_ids))
        ordered = sorted(new_rows, key=lambda r: (r[2], r[0]))
        matches.extend(self._history(ordered, until_ns))
        newest = max((r[2] for r in new_rows), default=None)
        if newest is not None:
            newest = min(newest, time.time_ns() + _SKEW_NS)  # a clock far ahead: ignored
            if state.evaluated_ns is None or newest > state.evaluated_ns:
                state.evaluated_ns = newest
        state.arrival_seq = max([state.arrival_seq, *(int(r[0]) for r in new_rows)])
        self._keep_tail(state)
        return matches

    # --- single events -----------------------------------------------------------------

    def _single_query(self) -> tuple[str, list[Rule]]:
        """One scan for every single-event rule: a flag per rule's condition.

        Twenty-odd rules each scanning the new rows would read them twenty-odd times;
        one ``SELECT`` with a column per rule (and their OR as the filter) reads them once.
        """
        prefix = f"SELECT * FROM {_TABLE} WHERE "
        conditions: list[str] = []
        owners: list[Rule] = []
        for rule, queries in self.single:
            for sql in queries:
                if not sql.startswith(prefix):
                    raise DetectionError(f"{rule.path}: unexpected query shape from the backend")
                conditions.append(f"({sql[len(prefix) :]})")
                owners.append(rule)
        if not conditions:
            return "", owners
        flags = "".join(f", COALESCE({c}, 0)" for c in conditions)
        query = (
            f'SELECT "event.id", ts, "user.id"{flags} FROM {_TABLE} '
            f"WHERE new AND ({' OR '.join(conditions)}) ORDER BY ts_ns, seq"
        )
        return query, owners

    def _single(self) -> Iterator[Match]:
        query, owners = self._single_sql
        if not query:
            return
        hours = self.context.working_hours
        found: list[list[Match]] = [[] for _ in owners]
        for event_id, ts, user, *flags in self.connection.execute(query):
            group = {"user.id": user} if isinstance(user, str) else {}
            for number, flag in enumerate(flags):
                if not flag:
                    continue
                rule = owners[number]
                if rule.when == "outside_working_hours" and hours.contains(
                    datetime.fromtimestamp(ts, UTC)
                ):
                    continue
                found[number].append(Match(rule, group, [event_id]))
        for matches in found:  # rule by rule, in time order, as separate scans would
            yield from matches

    # --- correlations ------------------------------------------------------------------

    def _correlated(
        self, state: EngineState, correlation: _Correlation, new_ids: set[str]
    ) -> Iterator[Match]:
        connection = self.connection
        rows, _diagnostics = execute_plan(  # type: ignore[no-untyped-call]
            connection, correlation.plan, include_events=False
        )
        windows = []
        for row in rows:
            ids = {identity.split(":", 1)[1] for identity in row["event_ids"]}
            if ids & new_ids:
                windows.append(
                    (row["window_start"], row["occurrence_time"], row["group_keys"], ids)
                )
        windows.sort(key=lambda w: (w[0], w[1]))
        rule = correlation.rule
        fresh: dict[str, list[tuple[dict[str, Any], set[str]]]] = {}
        for _start, _end, group, ids in windows:
            key = json.dumps(group, sort_keys=True)
            bursts = fresh.setdefault(key, [])
            if bursts and bursts[-1][1] & ids:
                bursts[-1][1].update(ids)
                continue
            if not bursts:
                kept = state.bursts.get((rule.name, key))
                if kept is not None and ids & set(kept.event_ids):
                    bursts.append(({}, ids | set(kept.event_ids)))  # {}: already alerted
                    continue
            bursts.append((group, ids))
        for key, bursts in fresh.items():
            for group, ids in bursts:
                details = self._details(ids, correlation.sources, group)
                ordered = [event_id for event_id, _ts in details[0]]
                last_ns = details[0][-1][1] if details[0] else 0
                kept = state.bursts.get((rule.name, key))
                if group:
                    first = ordered[0]
                    yield Match(rule, details[1], ordered)
                else:
                    assert kept is not None
                    first = kept.first_event_id
                if kept is None or last_ns >= kept.last_ns:
                    state.bursts[(rule.name, key)] = Burst(first, ordered, last_ns)
                    state.bursts_changed.add((rule.name, key))

    def _details(
        self, ids: set[str], sources: dict[str, list[str]], group: dict[str, Any]
    ) -> tuple[list[tuple[str, int]], dict[str, str]]:
        """The ids in time order (those still at hand) and the group in its own case."""
        wanted = sorted(ids)
        names = sorted({f for fs in sources.values() for f in fs if f in self.fields})
        columns = "".join(f", {_quote(f)}" for f in names)
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            found.extend(
                self.connection.execute(
                    f'SELECT "event.id", ts_ns{columns} FROM {_TABLE} '
                    f'WHERE "event.id" IN ({marks})',
                    chunk,
                )
            )
        found.sort(key=lambda r: (r[1], r[0]))
        restored: dict[str, str] = {}
        for name, lowered in group.items():
            value = str(lowered)
            for row in found:
                values = dict(zip(names, row[2:], strict=True))
                candidates = [values.get(f) for f in sources.get(name, [name])]
                hit = next(
                    (c for c in candidates if isinstance(c, str) and c.lower() == value.lower()),
                    None,
                )
                if hit is not None:
                    value = hit
                    break
            restored[name] = value
        return [(r[0], int(r[1])) for r in found], restored

    # --- history -----------------------------------------------------------------------

    def _history(self, ordered: Sequence[tuple[Any, ...]], until_ns: int | None) -> Iterator[Match]:
        if not self.history:
            return
        position = {name: 3 + number for number, name in enumerate(self.fields)}
        for check in self.history:  # each check's state is its own: one pass per check
            if ordered:
                check.saw(ordered[0][2])  # the first event, whether the check reads it or not
            wanted = [(position[f], value) for f, value in check.only.items()]
            reads = [(f, position[f]) for f in check.fields if f in position]
            feed = check.feed
            for row in ordered:
                if all(row[i] == value for i, value in wanted):
                    yield from feed(row[1], {f: row[i] for f, i in reads}, row[2])
            yield from check.finish(until_ns)

    # --- the tail ------------------------------------------------------------------------

    def _keep_tail(self, state: EngineState) -> None:
        """Keep the events a later window may need; forget what no window can reach."""
        evaluated = state.evaluated_ns
        if evaluated is None:
            return
        keep: dict[str, int] = {}
        for correlation in self.correlations:
            horizon = evaluated - correlation.span_ns
            for query in correlation.membership:
                for (event_id,) in self.connection.execute(
                    f'SELECT rid FROM ({query}) JOIN {_TABLE} ON "event.id" = rid '
                    "WHERE ts_ns >= :horizon",
                    {"horizon": horizon},
                ):
                    keep[event_id] = max(keep.get(event_id, 0), correlation.span_ns)
        if keep:
            columns = "".join(f", {_quote(f)}" for f in self.fields)
            ids = sorted(keep)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                for event_id, seq, ts_ns, *values in self.connection.execute(
                    f'SELECT "event.id", seq, ts_ns{columns} FROM {_TABLE} '
                    f'WHERE "event.id" IN ({marks})',
                    chunk,
                ):
                    until = int(ts_ns) + keep[event_id]
                    held = state.tail.get(event_id)
                    if held is None or held.keep_until_ns < until:
                        state.tail[event_id] = TailRow(
                            int(seq),
                            int(ts_ns),
                            until,
                            {
                                f: v
                                for f, v in zip(self.fields, values, strict=True)
                                if v is not None
                            },
                        )
                        state.tail_added.add(event_id)
                        state.tail_removed.discard(event_id)
        for event_id in [i for i, row in state.tail.items() if row.keep_until_ns < evaluated]:
            del state.tail[event_id]
            state.tail_added.discard(event_id)
            state.tail_removed.add(event_id)
        spans = {c.rule.name: c.span_ns for c in self.correlations}
        for key, burst in list(state.bursts.items()):
            span = spans.get(key[0])
            if span is None or burst.last_ns < evaluated - span:
                del state.bursts[key]
                state.bursts_changed.discard(key)
                state.bursts_removed.add(key)
            else:
                recent = [i for i in burst.event_ids if i in state.tail]
                if len(recent) != len(burst.event_ids):
                    burst.event_ids = recent
                    state.bursts_changed.add(key)


def expired_history(check: HistoryCheck, evaluated_ns: int) -> list[str]:
    """The keys of a history check's state that no later event can need."""
    return [
        key
        for key, value in check.state.items()
        if (until := check.expires(key, value)) is not None and until < evaluated_ns
    ]
