"""Exports: the rule pack converted for other SIEMs, or listed as unsupported there.

Each target is a pySigma backend, an output format and the processing pipelines shipped
in ``rules/pipelines/`` (plus the context placeholders). A rule a target cannot express
is never emitted approximately; it is listed as unsupported, with the reason:

- history rules and the off-hours rule (no portable way to say "first seen" or "local
  time of day") are ours alone, and so is the indicator rule (it reads one entry of the
  ``threat.enrichments`` list, a nested field query strings cannot look into);
- a rule whose context list is empty has nothing to export yet;
- a correlation is exported only where the backend keeps its meaning: EQL's
  ``sequence ... with runs`` is a sliding window for ``event_count``; ES|QL's and
  Splunk's conversions use fixed time buckets (a burst across a bucket edge is missed),
  and the others cannot express correlations at all;
- anything the backend itself refuses (field-to-field comparisons in Lucene, Kusto
  and Panther) is reported with the backend's message.

The file layout of an export lives here too (:func:`export_files`,
:func:`write_export`), so the library writes the same tree the CLI does:
``<folder>/<rule>.<ext>`` per exported rule (one ``rules.ndjson`` for Kibana, which
imports a bundle) and ``<folder>/unsupported.txt``, one ``rule: reason`` line per rule
the target cannot take — every rule of the pack is in exactly one of the two.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline

from .._errors import DetectionError
from ._context import Context
from ._ruleset import Rule, builtin_rules_dir
from ._sigma import collection, context_pipeline, go_offline

__all__ = [
    "TARGETS",
    "TARGET_GROUPS",
    "UNSUPPORTED_FILE",
    "Conversion",
    "describe_rules",
    "export_files",
    "export_rule",
    "resolve_targets",
    "write_export",
]

UNSUPPORTED_FILE = "unsupported.txt"

SENTINEL_TABLE = "OnePasswordEcs_CL"
INDEX_PATTERN = "logs-1password*"


@dataclass(frozen=True)
class Target:
    """One export target: backend, output format, pipelines, file extension."""

    name: str
    backend: Callable[..., Any]
    output_format: str
    pipelines: tuple[str, ...]
    extension: str
    correlations: frozenset[str] = frozenset()
    options: tuple[tuple[str, Any], ...] = ()
    bundle: bool = False  # one file for the whole pack (NDJSON to import)


def _lucene(**options: Any) -> Any:
    from sigma.backends.elasticsearch import LuceneBackend  # type: ignore[attr-defined]

    return LuceneBackend(**options)


def _eql(**options: Any) -> Any:
    from sigma.backends.elasticsearch import EqlBackend  # type: ignore[attr-defined]

    return EqlBackend(**options)


def _esql(**options: Any) -> Any:
    from sigma.backends.elasticsearch import ESQLBackend  # type: ignore[attr-defined]

    return ESQLBackend(**options)


def _opensearch(**options: Any) -> Any:
    from sigma.backends.opensearch import OpensearchLuceneBackend  # type: ignore[attr-defined]

    return OpensearchLuceneBackend(**options)


def _splunk(**options: Any) -> Any:
    from sigma.backends.splunk import SplunkBackend  # type: ignore[attr-defined]

    return SplunkBackend(**options)


def _kusto(**options: Any) -> Any:
    from sigma.backends.kusto import KustoBackend  # type: ignore[attr-defined]

    return KustoBackend(**options)


def _panther(**options: Any) -> Any:
    from sigma.backends.panther import PantherBackend  # type: ignore[attr-defined]

    return PantherBackend(**options)


def _spark(**options: Any) -> Any:
    from ._spark_export import SparkSqlBackend

    return SparkSqlBackend(**options)


_ES = ("elasticsearch.yml",)
_INDEX = (("index_names", [INDEX_PATTERN]),)
TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("elasticsearch-lucene", _lucene, "default", _ES, "lucene"),
        Target("elasticsearch-eql", _eql, "default", _ES, "eql", frozenset({"event_count"})),
        Target("elasticsearch-esql", _esql, "default", _ES, "esql"),
        Target("kibana", _lucene, "siem_rule_ndjson", _ES, "ndjson", options=_INDEX, bundle=True),
        Target("opensearch-lucene", _opensearch, "default", _ES, "lucene"),
        Target("opensearch-monitor", _opensearch, "monitor_rule", _ES, "json", options=_INDEX),
        Target("splunk", _splunk, "default", (), "spl"),
        Target("sentinel", _kusto, "default", ("sentinel.yml",), "kql"),
        Target("panther", _panther, "default", (), "py"),
        Target("spark", _spark, "default", (), "sql"),
    )
}
TARGET_GROUPS: dict[str, tuple[str, ...]] = {
    "elasticsearch": ("elasticsearch-lucene", "elasticsearch-eql", "elasticsearch-esql", "kibana"),
    "opensearch": ("opensearch-lucene", "opensearch-monitor"),
    "all": tuple(TARGETS),
}
_NOT_PORTABLE = {
    "event_count": "a sliding-window event count",
    "value_count": "a sliding-window distinct-value count",
    "temporal_ordered": "an ordered sequence within a window",
    "temporal": "co-occurrence within a window",
}


def resolve_targets(names: list[str]) -> list[str]:
    """Target names, with groups (``elasticsearch``, ``opensearch``, ``all``) expanded."""
    resolved: list[str] = []
    for name in names:
        members = TARGET_GROUPS.get(name, (name,))
        for member in members:
            if member not in TARGETS:
                known = ", ".join([*TARGETS, *TARGET_GROUPS])
                raise DetectionError(f"unknown export target {name!r}; known: {known}")
            if member not in resolved:
                resolved.append(member)
    return resolved


@dataclass(frozen=True)
class Conversion:
    """A rule's export to one target: the text, or why there is none."""

    rule: str
    target: str
    text: str | None
    unsupported: str | None = None


def _pipeline(target: Target, context: Context) -> ProcessingPipeline:
    pipeline = context_pipeline(context)
    for name in target.pipelines:
        text = (builtin_rules_dir() / "pipelines" / name).read_text(encoding="utf-8")
        pipeline = pipeline + ProcessingPipeline.from_yaml(text)
    return pipeline


def _correlation_type(rule: Rule) -> str | None:
    for document in rule.documents:
        if document.get("name") == rule.name and isinstance(document.get("correlation"), dict):
            return str(document["correlation"].get("type"))
    return None


def _why_not(rule: Rule, target: Target, context: Context) -> str | None:
    if rule.kind == "history":
        return "history rule (first-seen or baseline): evaluated by onepassword-ecs detect only"
    if rule.when == "outside_working_hours":
        return "needs the local time of day in the working_hours time zone"
    if "indicators" in rule.stages:
        return (
            "reads threat.enrichments, the list the indicators stage writes; a query cannot "
            "match inside one entry of it (use the SIEM's own indicator-match rules)"
        )
    waiting = rule.waits_for(context)
    if waiting:
        return f"needs the context list {', '.join(waiting)}"
    kind = _correlation_type(rule)
    if kind is not None and kind not in target.correlations:
        return f"cannot express {_NOT_PORTABLE.get(kind, kind)} correctly"
    return None


def _render(target: Target, output: Any) -> str:
    if target.bundle and isinstance(output, list):  # NDJSON: one rule object per line
        return "\n".join(json.dumps(item, sort_keys=True, ensure_ascii=False) for item in output)
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(isinstance(o, str) for o in output):
        return "\n".join(output)
    return json.dumps(output, indent=2, sort_keys=True, ensure_ascii=False)


def export_rule(rule: Rule, target_name: str, context: Context) -> Conversion:
    """Convert one rule for one target (or say why it cannot be)."""
    target = TARGETS[target_name]
    reason = _why_not(rule, target, context)
    if reason is not None:
        return Conversion(rule.name, target.name, None, reason)
    go_offline()
    try:
        backend = target.backend(
            processing_pipeline=_pipeline(target, context), **dict(target.options)
        )
        output = backend.convert(collection(rule, context), target.output_format)
    except (SigmaError, NotImplementedError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Conversion(rule.name, target.name, None, f"the backend refuses it: {first_line}")
    text = _render(target, output).strip()
    if not text:
        return Conversion(rule.name, target.name, None, "the backend produced no query")
    if target.name == "sentinel" and not text.startswith(SENTINEL_TABLE):
        text = f"{SENTINEL_TABLE}\n| where {text}"
    return Conversion(rule.name, target.name, text)


def export_files(target_name: str, conversions: Sequence[Conversion]) -> dict[str, str]:
    """The files of one target's export: relative name -> text (``unsupported.txt`` last)."""
    target = TARGETS[target_name]
    supported = [c for c in conversions if c.text is not None]
    files: dict[str, str] = {}
    if target.bundle:
        files[f"rules.{target.extension}"] = "".join(f"{c.text}\n" for c in supported)
    else:
        for c in supported:
            files[f"{c.rule}.{target.extension}"] = f"{c.text}\n"
    files[UNSUPPORTED_FILE] = "".join(
        f"{c.rule}: {c.unsupported}\n" for c in conversions if c.text is None
    )
    return files


def write_export(folder: str | Path, target_name: str, conversions: Sequence[Conversion]) -> Path:
    """Write one target's export under ``folder`` (created); return its unsupported list.

    Raises OSError as the file system does (the caller names the file).
    """
    where = Path(folder)
    where.mkdir(parents=True, exist_ok=True)
    for name, text in export_files(target_name, conversions).items():
        (where / name).write_text(text, encoding="utf-8")
    return where / UNSUPPORTED_FILE


def describe_rules(rules: Sequence[Rule], context: Context) -> dict[str, Any]:
    """What ``rules list --json`` prints: each rule, what it needs, where it exports.

    Keys: ``context`` (the context file, or ``(defaults)``), ``count`` (rules),
    ``running`` (rules that run with this context), ``rules`` (in the given order), each
    with ``name``, ``title``, ``kind`` (event, correlation, history), ``level``, ``runs``
    (bool), ``waits_for`` (the empty required lists), ``lists`` and ``optional_lists``
    (the context lists it reads), ``settings`` (other context keys it reads:
    ``working_hours``, ``silence_hours``), ``stages`` (conversion stages whose fields it
    reads: ``indicators``), ``thresholds`` (the ``[thresholds.<name>]`` keys it takes),
    ``exports`` (targets it converts for) and ``unsupported`` (target -> reason).
    """
    entries = []
    for rule in rules:
        conversions = [export_rule(rule, target, context) for target in TARGETS]
        waiting = list(rule.waits_for(context))
        entries.append(
            {
                "name": rule.name,
                "title": rule.title,
                "kind": rule.kind,
                "level": rule.level,
                "runs": not waiting,
                "waits_for": waiting,
                "lists": list(rule.required_lists),
                "optional_lists": list(rule.optional_lists),
                "settings": rule.settings,
                "stages": list(rule.stages),
                "thresholds": list(rule.threshold_keys),
                "exports": [c.target for c in conversions if c.text is not None],
                "unsupported": {c.target: c.unsupported for c in conversions if c.text is None},
            }
        )
    return {
        "context": context.source,
        "count": len(entries),
        "running": sum(1 for entry in entries if entry["runs"]),
        "rules": entries,
    }
