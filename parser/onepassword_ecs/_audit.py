"""Audit events → ECS: who changed what, and to whom.

Categorization comes from two tables: the object type gives the ECS category and the
entity noun (user / group), the action gives the activity (creation, change, ...). The
pair is checked against ECS's allowed category/type pairings, so a combination the tables
did not foresee (a new action, a new object type) still yields a valid document, with
``info`` as the activity at worst.

The actor is ``user.*``; the affected person is ``user.target.*``: the object when the
object is a user, otherwise the aux person (group membership, vault access, devices).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ._common import (
    Related,
    base_document,
    event_timestamp,
    map_location,
    map_network,
    map_person,
    string_field,
)
from ._errors import NormalizationError
from ._passthrough import Passthrough
from ._tables import CATEGORY_TYPES, AuditAction, AuditObjectType, tables
from ._timestamps import to_utc

__all__ = ["map_audit_event"]

DATASET = "1password.audit_events"
_INT64 = (-(2**63), 2**63 - 1)

# Raw keys this mapper places itself; everything else passes through to onepassword.*.
_KNOWN = frozenset(
    {
        "uuid",
        "timestamp",
        "action",
        "object_type",
        "object_uuid",
        "actor_uuid",
        "actor_details",
        "object_details",
        "aux_id",
        "aux_uuid",
        "aux_details",
        "aux_info",
        "session",
        "location",
    }
)
_SESSION_KEYS = frozenset({"uuid", "login_time", "device_uuid", "ip"})
# Raw keys copied to onepassword.* as they are (typed keyword), beside any ECS use.
_VENDOR_STRINGS = ("object_type", "object_uuid", "aux_uuid", "aux_info")
_PATCH_COUNTS = re.compile(r"\d+(?:,\d+)*")
_PATCH_LABELS = ("created", "edited", "deleted")

_UNKNOWN_OBJECT = AuditObjectType(
    name="object",
    category="configuration",
    entity=None,
    object=None,
    aux=None,
    aux_info_codes={},
    aux_info_is_target=False,
)
_UNKNOWN_ACTION = AuditAction(
    activity="info", category=None, entity=None, message="{actor} performed {action} on {object}"
)


@dataclass(frozen=True, slots=True)
class _Categorized:
    category: str
    types: tuple[str, ...]
    action: AuditAction
    object_type: AuditObjectType


@lru_cache(maxsize=2048)
def _categorize(action: str | None, object_type: str | None) -> _Categorized:
    """Resolve an (action, object type) pair once; real data repeats a few dozen pairs."""
    table = tables()
    meta = table.object_types.get(object_type or "", _UNKNOWN_OBJECT)
    rule = table.action_overrides.get((action or "", object_type or "")) or table.actions.get(
        action or "", _UNKNOWN_ACTION
    )
    category = rule.category or meta.category
    allowed = CATEGORY_TYPES[category]
    types: list[str] = []
    entity = rule.entity or meta.entity
    if entity is not None and entity in allowed:
        types.append(entity)
    types.append(rule.activity if rule.activity in allowed else "info")
    return _Categorized(category, tuple(types), rule, meta)


def _display(person: Mapping[str, str]) -> str | None:
    return person.get("name") or person.get("email") or person.get("id")


def _patch_counts(aux_info: str | None) -> str:
    if not aux_info or _PATCH_COUNTS.fullmatch(aux_info) is None:
        return ""
    counts = aux_info.split(",")
    named = [f"{count} {label}" for count, label in zip(counts, _PATCH_LABELS, strict=False)]
    return f" (items: {', '.join(named)})"


def _object_phrase(
    meta: AuditObjectType,
    object_type: str | None,
    object_uuid: str | None,
    target: Mapping[str, Any],
) -> str:
    """"vault 4VJ...", or "user Bob Tanaka" when the object is the affected person."""
    noun = meta.name if meta is not _UNKNOWN_OBJECT else (object_type or "an object")
    if meta.object == "user":
        who = _display(target)
        if who:
            return f"{noun} {who}"
    return f"{noun} {object_uuid}" if object_uuid else noun


class _Formatter(dict[str, str]):
    """Template values; a placeholder a user-extended table invents renders as itself."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def map_audit_event(record: Mapping[str, Any]) -> dict[str, Any]:
    """Map one audit event (v1 or v2) to an ECS document."""
    timestamp = event_timestamp(record)
    extra = Passthrough()
    related = Related()
    doc = base_document(timestamp, DATASET, record, extra)
    event = doc["event"]

    action = string_field(record, "action", "action", extra)
    object_type = string_field(record, "object_type", "object_type", extra)
    found = _categorize(action, object_type)
    meta = found.object_type
    event["category"] = [found.category]
    event["type"] = list(found.types)
    event["outcome"] = "success"
    if action is not None:
        event["action"] = action

    vendor = extra.vendor
    strings: dict[str, str | None] = {}
    for key in _VENDOR_STRINGS:
        strings[key] = value = string_field(record, key, key, extra)
        if value is not None:
            vendor[key] = value
    object_uuid = strings["object_uuid"]
    aux_uuid = strings["aux_uuid"]
    aux_info = strings["aux_info"]
    aux_id = record.get("aux_id")
    if aux_id is not None:
        if type(aux_id) is int and _INT64[0] <= aux_id <= _INT64[1]:
            vendor["aux_id"] = aux_id
        else:
            extra.bad("aux_id", aux_id)

    # The actor.
    actor_uuid = string_field(record, "actor_uuid", "actor_uuid", extra)
    actor = map_person(record.get("actor_details"), "actor_details", extra, actor_uuid)
    if actor:
        doc["user"] = actor
        related.add_person(actor)

    # The affected person, and the group acted on.
    object_details = record.get("object_details")
    aux_details = record.get("aux_details")
    target: dict[str, Any] = {}
    if object_details is not None or (meta.object == "user" and object_uuid):
        target = dict(map_person(object_details, "object_details", extra, object_uuid))
        if aux_details is not None:
            related.add_person(map_person(aux_details, "aux_details", extra))
    elif aux_details is not None:
        aux_id_fallback = aux_uuid if meta.aux == "user" else None
        target = dict(map_person(aux_details, "aux_details", extra, aux_id_fallback))
    elif meta.aux == "user" and aux_uuid:
        target = {"id": aux_uuid}
    elif meta.aux_info_is_target and aux_info:
        target = {"email": aux_info} if "@" in aux_info else {"name": aux_info}
    if target:
        related.add_person(target)
    if meta.aux == "user" and aux_uuid:
        related.users[aux_uuid] = None
    if meta.object == "group" and object_uuid:
        if target:
            target["group"] = {"id": object_uuid}
        else:
            doc["group"] = {"id": object_uuid}
    if meta.aux == "group" and aux_uuid:
        doc["group"] = {"id": aux_uuid}
    if target:
        doc.setdefault("user", {})["target"] = target

    _map_session(doc, record.get("session"), extra, related)
    map_location(doc, record.get("location"), extra)
    if len(record) > len(_KNOWN & record.keys()):
        extra.unknown(vendor, record, _KNOWN, "")

    role = meta.aux_info_codes.get(aux_info or "")
    doc["message"] = found.action.message.format_map(
        _Formatter(
            actor=_display(actor) or "An unknown user",
            target=_display(target) or "a user",
            object=_object_phrase(meta, object_type, object_uuid, target),
            role=f" as a {role}" if role else "",
            counts=_patch_counts(aux_info) if action == "patch" else "",
            aux_info=aux_info or "",
            aux_uuid=aux_uuid or "an unknown group",
            action=action or "an unnamed action",
        )
    )
    related_fields = related.fields()
    if related_fields:
        doc["related"] = related_fields
    onepassword = extra.finish()
    if onepassword:
        doc["onepassword"] = onepassword
    return doc


def _map_session(doc: dict[str, Any], raw: Any, extra: Passthrough, related: Related) -> None:
    """``session``: ip → client/source, device → ``host.id``, the rest → onepassword.session."""
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        extra.bad("session", raw)
        return
    ip = string_field(raw, "ip", "session.ip", extra)
    if ip is not None:
        map_network(doc, ip, related)
    device = string_field(raw, "device_uuid", "session.device_uuid", extra)
    if device is not None:
        doc["host"] = {"id": device}
    vendor: dict[str, Any] = {}
    session_uuid = string_field(raw, "uuid", "session.uuid", extra)
    if session_uuid is not None:
        vendor["uuid"] = session_uuid
    login_time = raw.get("login_time")
    if login_time is not None:
        try:
            vendor["login_time"] = to_utc(login_time, "$.session.login_time")
        except NormalizationError:
            extra.bad("session.login_time", login_time)
    if len(raw) > len(_SESSION_KEYS & raw.keys()):
        extra.unknown(vendor, raw, _SESSION_KEYS, "session")
    if vendor:
        extra.vendor["session"] = vendor
