"""Alerts as ECS documents, and their identity.

An alert is an ECS document of ``event.kind: alert``: the rule (``rule.id`` its stable
name, ``rule.uuid`` its Sigma id), ``event.severity`` and its label, the ATT&CK
technique and tactic the rule cites (``threat.*``, names from the shipped bundle), the
time span of the matched events, the group keys at their ECS places (``user.*``,
``source.ip``) and under ``onepassword.alert.group``, ``related.*``, the matched events'
ids and one readable ``message``.

Its identity is (rule id, group key, first matched event): the same alert is emitted
once, however often the data is evaluated; ``event.id`` is derived from it, so a SIEM
that indexes by id also keeps one copy.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from ._engine import Match
from ._ruleset import builtin_rules_dir
from ._table import field_value

__all__ = ["SEVERITY", "AlertKey", "alert_document", "alert_key"]

SEVERITY: dict[str, int] = {"informational": 1, "low": 21, "medium": 47, "high": 73, "critical": 99}
_MAX_LISTED = 1000
_MAX_RELATED = 100

AlertKey = tuple[str, str, str]


def alert_key(match: Match) -> AlertKey:
    """(rule id, canonical group key, first matched event id)."""
    group = json.dumps(match.group, sort_keys=True, ensure_ascii=False)
    return (match.rule.name, group, match.event_ids[0] if match.event_ids else "")


@cache
def _attack() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, list[str]]]]:
    """(tactic shortname -> (id, name), technique id -> (name, tactic shortnames))."""
    bundle = json.loads((builtin_rules_dir() / "attack.json").read_text(encoding="utf-8"))
    tactics: dict[str, tuple[str, str]] = {}
    techniques: dict[str, tuple[str, list[str]]] = {}
    for item in bundle["objects"]:
        refs = [
            r for r in item.get("external_references", []) if r.get("source_name") == "mitre-attack"
        ]
        if not refs:
            continue
        external = refs[0]["external_id"]
        if item["type"] == "x-mitre-tactic":
            tactics[item["x_mitre_shortname"]] = (external, item["name"])
        elif item["type"] == "attack-pattern":
            phases = [p["phase_name"] for p in item.get("kill_chain_phases", [])]
            techniques[external] = (item["name"], phases)
    return tactics, techniques


def _threat(tags: tuple[str, ...]) -> dict[str, Any] | None:
    tactics, techniques = _attack()
    names = [t.split(".", 1)[1] for t in tags if t.startswith("attack.")]
    tactic_names = [n for n in names if n in tactics]
    technique_ids = [n.upper() for n in names if n.upper() in techniques]
    if not tactic_names and not technique_ids:
        return None
    threat: dict[str, Any] = {"framework": "MITRE ATT&CK"}
    if tactic_names:
        threat["tactic"] = {
            "id": [tactics[n][0] for n in tactic_names],
            "name": [tactics[n][1] for n in tactic_names],
            "reference": [
                f"https://attack.mitre.org/tactics/{tactics[n][0]}/" for n in tactic_names
            ],
        }
    parents = sorted({t.split(".")[0] for t in technique_ids})
    subs = [t for t in technique_ids if "." in t]
    if parents:
        threat["technique"] = {
            "id": parents,
            "name": [techniques[p][0] for p in parents],
            "reference": [f"https://attack.mitre.org/techniques/{p}/" for p in parents],
        }
        if subs:
            threat["technique"]["subtechnique"] = {
                "id": subs,
                "name": [techniques[s][0] for s in subs],
                "reference": [
                    f"https://attack.mitre.org/techniques/{s.replace('.', '/')}/" for s in subs
                ],
            }
    return threat


def _nested(flat: dict[str, str]) -> dict[str, Any]:
    """``{"user.id": x}`` as ``{"user": {"id": x}}``: ECS documents carry no dotted keys."""
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        *parents, leaf = dotted.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _iso(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:09d}Z"


def _person(group_id: str, documents: list[dict[str, Any]]) -> dict[str, str]:
    """user.* for the grouped person, from whichever event names them (actor or target)."""
    person: dict[str, str] = {"id": group_id}
    for document in reversed(documents):
        for prefix in ("user", "user.target"):
            if field_value(document, f"{prefix}.id") == group_id:
                for key in ("email", "name", "full_name"):
                    value = field_value(document, f"{prefix}.{key}")
                    if isinstance(value, str):
                        person.setdefault(key, value)
    return person


def _related(documents: list[dict[str, Any]], key: str, extra: list[str]) -> list[str]:
    values: dict[str, None] = dict.fromkeys(extra)
    for document in documents:
        for value in field_value(document, f"related.{key}") or ():
            if isinstance(value, str) and len(values) < _MAX_RELATED:
                values[value] = None
    return list(values)


def alert_document(match: Match, documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The alert for ``match``; ``documents`` are its events in time order."""
    rule = match.rule
    stamps = [s for s in (field_value(d, "@timestamp") for d in documents) if isinstance(s, str)]
    start, end = (stamps[0], stamps[-1]) if stamps else ("", "")
    if "silent_from_ns" in match.extra:
        start, end = _iso(match.extra["silent_from_ns"]), _iso(match.extra["silent_until_ns"])
    last_dataset = next(
        (d for d in (field_value(doc, "event.dataset") for doc in reversed(documents)) if d), None
    )
    dataset = match.group.get("event.dataset") or last_dataset or "1password.unknown"
    key = alert_key(match)
    digest = hashlib.sha256("\x1f".join(key).encode()).digest()[:16]
    group_text = ", ".join(f"{k} {v}" for k, v in match.group.items()) or "no group"
    count = len(match.event_ids)
    alert: dict[str, Any] = {
        "@timestamp": stamps[-1] if stamps else end,
        "ecs": {"version": "9.4.0"},
        "event": {
            "kind": "alert",
            "module": "1password",
            "dataset": dataset,
            "id": base64.b32encode(digest).decode().rstrip("=").lower(),
            "severity": SEVERITY[rule.level],
            "start": start,
            "end": end,
        },
        "rule": {
            "id": rule.name,
            "uuid": rule.uuid,
            "name": rule.title,
            "description": rule.description,
            "ruleset": "onepassword-ecs",
        },
        "message": f"{rule.title} — {group_text}: {count} event{'s' if count != 1 else ''} "
        f"from {start} to {end}",
        "onepassword": {
            "alert": {
                "severity": rule.level,
                "kind": rule.kind,
                "group": _nested(match.group),
                "event_ids": match.event_ids[:_MAX_LISTED],
                "event_count": count,
            }
        },
    }
    if match.extra:
        alert["onepassword"]["alert"].update(
            {k: v for k, v in match.extra.items() if not k.endswith("_ns") and v is not None}
        )
    threat = _threat(rule.tags)
    if threat:
        alert["threat"] = threat
    user_id = match.group.get("user.id")
    users: list[str] = []
    if user_id:
        alert["user"] = _person(user_id, documents)
        users = [v for v in alert["user"].values()]
    ips: list[str] = []
    ip = match.group.get("source.ip")
    if not ip and len(documents) == 1:  # one event: its address (an audit session's too)
        address = field_value(documents[0], "source.ip")
        ip = address if isinstance(address, str) else None
    if ip:
        alert["source"] = {"ip": ip}
        ips = [ip]
    related = {
        "user": _related(documents, "user", users),
        "ip": _related(documents, "ip", ips),
    }
    alert["related"] = {k: v for k, v in related.items() if v}
    if not alert["related"]:
        del alert["related"]
    return alert
