"""One detection run: events in, alerts out, each alert once.

Events come from NDJSON files (ECS documents from ``convert``/``collect``, or raw
Events API records, which are normalized here first) or from the event store. They are
loaded into the working table, every enabled rule runs over it, and each match becomes
an alert unless its identity (rule, group key, first event) was already emitted: in
this run, or, with a store, in an earlier one (the store's ``alerts`` table).

``since``/``until``: events from ``since`` on are evaluated; events before it are still
loaded as history (up to the longest look-back of the loaded rules) so a window or a
first-seen check that began before ``since`` is judged on the whole story, but an
alert whose last event is before ``since`` is not emitted.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from .._errors import NormalizationError
from ..mapping import normalize
from ..sinks import EventStore, timestamp_ns
from ..stream import RECORD_TOO_LARGE, FileSource, Oversize, expand_unit
from ._alerts import AlertKey, alert_document, alert_key
from ._context import Context, parse_duration
from ._engine import Match, rule_fields, run_sigma_rule
from ._history import history_checks, run_history_rules
from ._ruleset import Rule
from ._table import EventTable

__all__ = ["AlertLedger", "Outcome", "detect", "history_span_ns", "read_documents"]

_NS = 1_000_000_000


@dataclass
class Outcome:
    """What a run produced and what it skipped."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    already_emitted: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    waiting: dict[str, tuple[str, ...]] = field(default_factory=dict)


class AlertLedger:
    """The store's ``alerts`` table: which alerts were emitted by earlier runs."""

    def __init__(self, store: EventStore) -> None:
        self._connection = store.connection

    def seen(self, key: AlertKey) -> bool:
        row = self._connection.execute(
            "SELECT 1 FROM alerts WHERE rule_id = ? AND group_key = ? AND first_event_id = ?", key
        ).fetchone()
        return row is not None

    def record(self, entries: Sequence[tuple[AlertKey, dict[str, Any]]]) -> None:
        """Store the new alerts in one transaction (all or none)."""
        rows = [
            (
                *key,
                timestamp_ns(document["@timestamp"]),
                orjson.dumps(document, option=orjson.OPT_SORT_KEYS),
            )
            for key, document in entries
        ]
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "INSERT OR IGNORE INTO alerts "
                "(rule_id, group_key, first_event_id, ts_ns, document) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            connection.execute("COMMIT")
        except sqlite3.Error:
            connection.execute("ROLLBACK")
            raise


def _is_document(value: Any) -> bool:
    return (
        isinstance(value, dict) and isinstance(value.get("event"), dict) and "@timestamp" in value
    )


def read_documents(
    inputs: Sequence[str],
    rejected: Counter[str],
    stdin: IO[bytes] | None = None,
    *,
    assume_timezone: str | None = None,
) -> Iterator[dict[str, Any]]:
    """ECS documents from files: documents as they are, raw records normalized.

    A record that cannot be normalized is counted in ``rejected`` by reason code.
    """
    for chunk in FileSource(inputs, stdin=stdin):
        for _line, raw in chunk.units:
            if isinstance(raw, Oversize):  # too large to hold: counted, never parsed
                rejected[RECORD_TOO_LARGE] += 1
                continue
            for _index, payload in expand_unit(raw):
                if isinstance(payload, Oversize):
                    rejected[RECORD_TOO_LARGE] += 1
                    continue
                value = payload
                if isinstance(payload, bytes):
                    try:
                        value = orjson.loads(payload)
                    except orjson.JSONDecodeError:
                        rejected["invalid_json"] += 1
                        continue
                if _is_document(value):
                    yield value
                    continue
                try:
                    yield normalize(value, assume_timezone=assume_timezone)
                except NormalizationError as error:
                    rejected[error.reason] += 1


def history_span_ns(rules: Iterable[Rule], context: Context) -> int:
    """How far before ``since`` events matter: the longest window or look-back."""
    longest = 0
    for rule in rules:
        windows = [context.threshold(rule.name, "window"), rule.params.get("lookback")]
        for document in rule.documents:
            correlation = document.get("correlation")
            if isinstance(correlation, dict):
                windows.append(correlation.get("timespan"))
        for window in windows:
            if isinstance(window, str):
                longest = max(longest, parse_duration(window))
    return longest * _NS


def _matches(
    rules: list[Rule], context: Context, table: EventTable, until_ns: int | None
) -> Iterator[Match]:
    for rule in rules:
        if rule.kind != "history":
            yield from run_sigma_rule(rule, context, table)
    checks = history_checks([rule for rule in rules if rule.kind == "history"], context)
    fields = {f for check in checks for f in check.fields}
    yield from run_history_rules(checks, table.timeline(fields), until_ns)


def detect(
    rules: list[Rule],
    context: Context,
    documents: Iterable[dict[str, Any] | bytes],
    *,
    since_ns: int | None = None,
    until_ns: int | None = None,
    seen: Callable[[AlertKey], bool] | None = None,
    work_dir: str | None = None,
) -> tuple[Outcome, list[tuple[AlertKey, dict[str, Any]]]]:
    """Run every enabled rule over ``documents``; return the outcome and the new alerts.

    ``documents`` are dicts or their canonical bytes (the store's). ``seen`` says whether
    an alert identity was emitted by an earlier run.
    """
    outcome = Outcome()
    enabled = []
    for rule in rules:
        waiting = rule.waits_for(context)
        if waiting:
            outcome.waiting[rule.name] = waiting
        else:
            enabled.append(rule)
    fields: set[str] = {"event.dataset"}
    for rule in enabled:
        if rule.kind != "history":
            fields |= rule_fields(rule)
    history = history_checks([rule for rule in enabled if rule.kind == "history"], context)
    fields |= {f for check in history for f in check.fields}
    new: list[tuple[AlertKey, dict[str, Any]]] = []
    with EventTable(fields, work_dir) as table:
        for item in documents:
            table.add(item)
        table.finish()
        outcome.events, outcome.duplicates = table.added, table.duplicates
        emitted: set[AlertKey] = set()
        for match in _matches(enabled, context, table, until_ns):
            key = alert_key(match)
            if key in emitted:
                continue
            emitted.add(key)
            evidence = table.by_ids(match.event_ids)
            ordered = [evidence[i] for i in match.event_ids if i in evidence]
            alert = alert_document(match, ordered)
            if since_ns is not None and timestamp_ns(alert["@timestamp"]) < since_ns:
                continue
            if seen is not None and seen(key):
                outcome.already_emitted += 1
                continue
            new.append((key, alert))
    new.sort(key=lambda entry: (entry[1]["@timestamp"], entry[0]))
    outcome.alerts = [alert for _key, alert in new]
    return outcome, new
