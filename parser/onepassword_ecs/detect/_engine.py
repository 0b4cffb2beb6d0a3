"""The local engine: Sigma rules run as SQL over the working table.

Single-event rules become one ``SELECT`` each (pySigma's SQLite backend, its public
``zircolite`` output, which carries the SQL). Correlation rules become the backend's
correlation plan, executed by its runtime: sliding windows (``RANGE BETWEEN n
PRECEDING``), ordered sequences, distinct-value counts — evaluated on the real event
times, not fixed buckets, so a burst that straddles a clock boundary is still one burst.

A correlation reports one row per qualifying window end; a burst of twelve failures
qualifies three times (the 10th, 11th and 12th). Windows of one group that share an
event are merged into one :class:`Match`, so a burst is one alert, and the alert's
identity (rule, group key, first event) does not move when a later run sees more of it.
Group keys come back lower-cased from SQL (Sigma compares case-insensitively); they are
restored from the evidence documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sigma.backends.sqlite import sqliteBackend  # type: ignore[attr-defined]
from sigma.backends.sqlite.runtime import execute_plan
from sigma.exceptions import SigmaError

from .._errors import DetectionError
from ._context import Context
from ._ruleset import Rule
from ._sigma import collection, context_pipeline
from ._table import EventTable, field_value

__all__ = ["Match", "rule_fields", "run_sigma_rule"]


@dataclass
class Match:
    """One detection before it becomes an alert: the rule, its group, its events."""

    rule: Rule
    group: dict[str, str]
    event_ids: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


def _field_name(key: str) -> str:
    return key.split("|", 1)[0]


def _detection_fields(value: Any, found: set[str]) -> None:
    """Fields of one detection item: a map of field conditions, or a list of maps."""
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(_field_name(key))
            if "|fieldref" in key and isinstance(item, str):
                found.add(item)
    elif isinstance(value, list):
        for item in value:
            _detection_fields(item, found)


def rule_fields(rule: Rule) -> set[str]:
    """Every field a Sigma rule's SQL can read (the working table's columns)."""
    found: set[str] = set()
    for document in rule.documents:
        detection = document.get("detection")
        if isinstance(detection, dict):
            for key, item in detection.items():
                if key != "condition":
                    _detection_fields(item, found)
        correlation = document.get("correlation")
        if isinstance(correlation, dict):
            found.update(correlation.get("group-by") or ())
            for mapping in (correlation.get("aliases") or {}).values():
                found.update(mapping.values())
            condition = correlation.get("condition")
            if isinstance(condition, dict) and isinstance(condition.get("field"), str):
                found.add(condition["field"])
    found.discard("")
    return found


def _backend(context: Context) -> Any:
    return sqliteBackend(  # type: ignore[no-untyped-call]
        processing_pipeline=context_pipeline(context),
        table=EventTable.table,
        timestamp_field="ts",
        event_id_field="event.id",
        timestamp_format="unix",
    )


def _compiled(rule: Rule, context: Context) -> dict[str, Any]:
    """The backend's compiled form of the rule's main (generated) Sigma rule."""
    try:
        output = json.loads(_backend(context).convert(collection(rule, context), "zircolite"))
    except SigmaError as exc:
        raise DetectionError(f"{rule.path}: cannot be evaluated locally ({exc})") from None
    for entry in output:
        if entry.get("id") == rule.uuid:
            return dict(entry)
    raise DetectionError(f"{rule.path}: the SQLite backend produced no query for {rule.name}")


def _alias_sources(rule: Rule) -> dict[str, list[str]]:
    """group-by name -> the fields it may have come from (itself and its aliases)."""
    sources: dict[str, list[str]] = {}
    for document in rule.documents:
        correlation = document.get("correlation")
        if isinstance(correlation, dict):
            for name in correlation.get("group-by") or ():
                sources.setdefault(name, [name])
            for alias, mapping in (correlation.get("aliases") or {}).items():
                sources.setdefault(alias, [alias]).extend(mapping.values())
    return sources


def _actor_group(document: dict[str, Any]) -> dict[str, str]:
    user = field_value(document, "user.id")
    return {"user.id": user} if isinstance(user, str) else {}


def _single(rule: Rule, context: Context, table: EventTable, sql: str) -> Iterator[Match]:
    prefix = f"SELECT * FROM {table.table} WHERE "
    if not sql.startswith(prefix):
        raise DetectionError(f"{rule.path}: unexpected query shape from the SQLite backend")
    query = f"SELECT seq, ts FROM {table.table} WHERE {sql[len(prefix) :]} ORDER BY ts_ns, seq"
    seqs = [
        seq
        for seq, ts in table.connection.execute(query)
        if rule.when != "outside_working_hours"
        or not context.working_hours.contains(datetime.fromtimestamp(ts, UTC))
    ]
    for start in range(0, len(seqs), 500):
        for event_id, document in table.documents(seqs[start : start + 500]):
            yield Match(rule, _actor_group(document), [event_id])


def _restore_case(
    group: dict[str, Any], sources: dict[str, list[str]], documents: list[dict[str, Any]]
) -> dict[str, str]:
    restored: dict[str, str] = {}
    for name, lowered in group.items():
        value = str(lowered)
        for document in documents:
            candidates = [field_value(document, f) for f in sources.get(name, [name])]
            hit = next(
                (c for c in candidates if isinstance(c, str) and c.lower() == value.lower()), None
            )
            if hit is not None:
                value = hit
                break
        restored[name] = value
    return restored


_RAW_STAGE = re.compile(r"sigma_[0-9a-f]+_raw\d+")
_FLAG = re.compile(r" AS (b\d+)")


def _prefiltered(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with its raw stages keeping only rows some referenced rule matches.

    The backend's first stage copies every row of the table (with a JSON payload) and
    flags which base rules match it; later stages only read flagged rows. Our rules'
    correlation conditions are all positive (no "and not" between rules), so dropping
    unflagged rows there changes no result and spares building a payload per event.
    """
    stages = []
    for stage in plan["prepare"]:
        flags = _FLAG.findall(stage["select"])
        if _RAW_STAGE.fullmatch(stage["name"]) and flags:
            condition = " OR ".join(flags)
            stage = dict(stage, select=f"SELECT * FROM ({stage['select']}) WHERE {condition}")
        stages.append(stage)
    return dict(plan, prepare=stages)


def _correlated(rule: Rule, table: EventTable, plan: dict[str, Any]) -> Iterator[Match]:
    rows, _diagnostics = execute_plan(  # type: ignore[no-untyped-call]
        table.connection, _prefiltered(plan), include_events=False
    )
    merged: dict[str, list[tuple[dict[str, Any], set[str]]]] = {}
    for row in sorted(rows, key=lambda r: (r["window_start"], r["occurrence_time"])):
        ids = {identity.split(":", 1)[1] for identity in row["event_ids"]}
        key = json.dumps(row["group_keys"], sort_keys=True)
        bursts = merged.setdefault(key, [])
        if bursts and bursts[-1][1] & ids:
            bursts[-1][1].update(ids)
        else:
            bursts.append((row["group_keys"], ids))
    sources = _alias_sources(rule)
    for bursts in merged.values():
        for group, ids in bursts:
            documents = table.by_ids(ids)
            ordered = sorted(
                documents, key=lambda i: (str(field_value(documents[i], "@timestamp")), i)
            )
            yield Match(
                rule, _restore_case(group, sources, [documents[i] for i in ordered]), ordered
            )


def run_sigma_rule(rule: Rule, context: Context, table: EventTable) -> Iterator[Match]:
    """The matches of one Sigma rule (single event or correlation) over the table."""
    compiled = _compiled(rule, context)
    if rule.kind == "correlation":
        plan = compiled.get("correlation_plan")
        if not isinstance(plan, dict):
            raise DetectionError(f"{rule.path}: the SQLite backend produced no correlation plan")
        yield from _correlated(rule, table, plan)
    else:
        for sql in compiled.get("rule", []):
            yield from _single(rule, context, table, sql)
