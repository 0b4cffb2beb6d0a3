"""Loading the rule pack: Sigma files (one rule per file), and the project's history rules.

A rule file holds one rule a person reads as one detection. For a correlation, that is
several YAML documents: the base rules it references (named ``<rule>.<part>``, so two
files never collide) and the correlation itself, whose ``name`` is the file's rule id.
History rules (first-seen, baselines) are not Sigma: they carry the same metadata and
an ``onepassword: {kind: history, ...}`` block that the history evaluator reads.

The ``onepassword`` block is ours and is removed before pySigma sees the rule:
``optional_context`` lists context lists whose emptiness drops the detection items
that use them (instead of disabling the rule), ``when: outside_working_hours``
asks the engine for a time-of-day filter Sigma cannot state, and ``stages`` names the
conversion stages whose fields the rule reads (``indicators``: ``threat.enrichments``
exists only in documents converted with ``--indicators``), so ``rules list`` can say so.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from .._errors import DetectionError
from ._context import Context, parse_duration

__all__ = ["Rule", "builtin_rules_dir", "load_rules"]

RuleKind = Literal["event", "correlation", "history"]
_PLACEHOLDER = re.compile(r"%([a-z_]+)%")
_LEVELS = ("informational", "low", "medium", "high", "critical")
KNOWN_STAGES = ("indicators",)
"""Conversion stages a rule may depend on (``onepassword: {stages: [...]}``)."""


def builtin_rules_dir() -> Path:
    """The rule pack shipped in the wheel (``onepassword_ecs.rules``)."""
    return Path(str(resources.files("onepassword_ecs.rules")))


@dataclass(frozen=True)
class Rule:
    """One rule of the pack, as read from its file."""

    name: str
    uuid: str
    title: str
    description: str
    level: str
    tags: tuple[str, ...]
    kind: RuleKind
    path: Path
    documents: tuple[dict[str, Any], ...]
    lists: tuple[str, ...]
    optional_lists: tuple[str, ...] = ()
    when: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    stages: tuple[str, ...] = ()

    @property
    def required_lists(self) -> tuple[str, ...]:
        return tuple(name for name in self.lists if name not in self.optional_lists)

    @property
    def settings(self) -> list[str]:
        """The context file's keys other than lists that this rule reads."""
        settings = ["working_hours"] if self.when == "outside_working_hours" else []
        if self.kind == "history" and self.params.get("check") == "silence":
            settings.append("silence_hours")
        return settings

    @property
    def threshold_keys(self) -> tuple[str, ...]:
        """The ``[thresholds.<rule>]`` keys that change this rule (none: it has no knob)."""
        if self.kind == "history":
            return ("window",) if self.params.get("check") == "new_value" else ()
        keys: list[str] = []
        for document in self.documents:
            correlation = document.get("correlation")
            if isinstance(correlation, dict):
                keys.append("window")
                condition = correlation.get("condition")
                if isinstance(condition, dict) and ({"gte", "gt"} & set(condition)):
                    keys.append("count")
        return tuple(dict.fromkeys(keys))

    def waits_for(self, context: Context) -> tuple[str, ...]:
        """The required context lists that are empty: the rule does not run until filled."""
        return tuple(name for name in self.required_lists if not context.values(name))

    def sigma_documents(self, context: Context) -> list[dict[str, Any]]:
        """The Sigma documents with this context's thresholds and optional lists applied."""
        documents = copy.deepcopy(list(self.documents))
        for document in documents:
            detection = document.get("detection")
            if isinstance(detection, dict):
                for key in list(detection):
                    if key == "condition":
                        continue
                    used = set(_placeholders(detection[key]))
                    if any(not context.values(name) for name in used & set(self.optional_lists)):
                        del detection[key]
        self._apply_thresholds(documents, context)
        return documents

    def _apply_thresholds(self, documents: list[dict[str, Any]], context: Context) -> None:
        count = context.threshold(self.name, "count")
        window = context.threshold(self.name, "window")
        correlations = [
            d["correlation"] for d in documents if isinstance(d.get("correlation"), dict)
        ]
        if window is not None:
            for correlation in correlations:
                correlation["timespan"] = window
        if count is not None:
            counted = [c for c in reversed(correlations) if isinstance(c.get("condition"), dict)]
            if counted:
                condition = counted[0]["condition"]
                for operator in ("gte", "gt"):
                    if operator in condition:
                        condition[operator] = count


def _placeholders(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield from _PLACEHOLDER.findall(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _placeholders(item)
    elif isinstance(value, list):
        for item in value:
            yield from _placeholders(item)


def _text(path: Path, document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DetectionError(f"{path}: the rule has no {key}")
    return value.strip()


def _read(path: Path) -> Rule:
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DetectionError(f"{path}: cannot read the rule ({exc})") from None
    if not documents or not all(isinstance(d, dict) for d in documents):
        raise DetectionError(f"{path}: expected Sigma YAML documents")
    main = documents[-1]
    ours = main.pop("onepassword", None) or {}
    if not isinstance(ours, dict):
        raise DetectionError(f"{path}: 'onepassword' must be a table")
    name = _text(path, main, "name")
    if path.stem != name:
        raise DetectionError(f"{path}: the file of rule {name!r} must be named {name}.yml")
    level = _text(path, main, "level")
    if level not in _LEVELS:
        raise DetectionError(f"{path}: level must be one of {', '.join(_LEVELS)}")
    kind: RuleKind
    if ours.get("kind") == "history":
        kind = "history"
    elif "correlation" in main:
        kind = "correlation"
    elif "detection" in main:
        kind = "event"
    else:
        raise DetectionError(f"{path}: neither a detection, a correlation nor a history rule")
    params = {
        k: v for k, v in ours.items() if k not in ("kind", "optional_context", "when", "stages")
    }
    stages = ours.get("stages") or ()
    if not isinstance(stages, list | tuple) or not all(s in KNOWN_STAGES for s in stages):
        raise DetectionError(f"{path}: onepassword.stages: expected a list of {KNOWN_STAGES}")
    for key in ("lookback", "learning"):
        if key in params:
            try:
                parse_duration(params[key])
            except ValueError as exc:
                raise DetectionError(f"{path}: onepassword.{key}: {exc}") from None
    lists = tuple(dict.fromkeys(_placeholders([d.get("detection") for d in documents])))
    return Rule(
        name=name,
        uuid=_text(path, main, "id"),
        title=_text(path, main, "title"),
        description=" ".join(_text(path, main, "description").split()),
        level=level,
        tags=tuple(str(t) for t in main.get("tags") or ()),
        kind=kind,
        path=path,
        documents=tuple(documents),
        lists=lists,
        optional_lists=tuple(ours.get("optional_context") or ()),
        when=ours.get("when"),
        params=params,
        stages=tuple(stages),
    )


def load_rules(directories: Sequence[str | Path] | None = None) -> list[Rule]:
    """Every rule in the given folders (default: the shipped pack), sorted by name.

    Only ``*.yml`` files directly in each folder are rules (``pipelines/`` and the
    test cases beside the rules are not). A name used twice is an error.
    """
    folders = [Path(d) for d in directories] if directories else [builtin_rules_dir()]
    rules: dict[str, Rule] = {}
    for folder in folders:
        if not folder.is_dir():
            raise DetectionError(f"{folder}: no such rules folder")
        for path in sorted(folder.glob("*.yml")):
            rule = _read(path)
            if rule.name in rules:
                raise DetectionError(
                    f"{path}: rule {rule.name!r} is already defined in {rules[rule.name].path}"
                )
            rules[rule.name] = rule
    return [rules[name] for name in sorted(rules)]
