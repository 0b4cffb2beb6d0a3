"""Detections: the Sigma rule pack, the local engine that runs it, exports to SIEMs.

- :func:`load_rules` reads the pack (``onepassword_ecs.rules``, or your folders);
  :func:`load_context` the TOML context file (admins, privileged groups and vaults,
  working hours, thresholds).
- :func:`detect` (files) loads ECS documents into a private SQLite table and runs every
  enabled rule: single-event and correlation rules as pySigma SQLite queries (sliding
  windows), history rules (first-seen, impossible travel, silent streams) in Python.
  Each alert is an ECS document (``event.kind: alert``), emitted once per (rule, group
  key, first event); :class:`AlertLedger` remembers them in the event store.
- :class:`StoreDetection` runs the rules over the event store incrementally: each run
  evaluates what was stored since the last one against a state kept in the store
  (first-seen values, last locations, correlation tails, watermarks), saved with the
  alerts in one transaction; ``full=True`` re-evaluates everything in bounded batches,
  ``since_ns``/``until_ns`` a period. :func:`follow` repeats a run every few seconds.
- :func:`export_rule` converts a rule for Elasticsearch, OpenSearch, Splunk,
  Sentinel and Panther, listing what a target cannot express instead of emitting it;
  :func:`write_export` lays one target's export out in a folder.
"""

from __future__ import annotations

from ._alerts import SEVERITY, alert_key
from ._context import (
    LIST_KEYS,
    Context,
    WorkingHours,
    context_from_mapping,
    load_context,
    parse_duration,
)
from ._export import (
    TARGET_GROUPS,
    TARGETS,
    UNSUPPORTED_FILE,
    Conversion,
    describe_rules,
    export_files,
    export_rule,
    resolve_targets,
    write_export,
)
from ._ruleset import Rule, builtin_rules_dir, load_rules
from ._run import AlertLedger, Outcome, detect, history_span_ns, read_documents
from ._session import StoreDetection, follow

__all__ = [
    "LIST_KEYS",
    "SEVERITY",
    "TARGETS",
    "TARGET_GROUPS",
    "UNSUPPORTED_FILE",
    "AlertLedger",
    "Context",
    "Conversion",
    "Outcome",
    "Rule",
    "StoreDetection",
    "WorkingHours",
    "alert_key",
    "builtin_rules_dir",
    "context_from_mapping",
    "describe_rules",
    "detect",
    "export_files",
    "export_rule",
    "follow",
    "history_span_ns",
    "load_context",
    "load_rules",
    "parse_duration",
    "read_documents",
    "resolve_targets",
    "write_export",
]
