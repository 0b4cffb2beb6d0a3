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
    display_name,
    finish_document,
    login_time,
    map_location,
    map_network,
    map_person,
    new_document,
    readable_message,
    string_or_none,
    vendor_strings,
)
from ._passthrough import Passthrough
from ._tables import CATEGORY_TYPES, AuditAction, AuditObjectType, tables
from ._timestamps import AssumedZone

__all__ = ["map_audit_event"]

DATASET = "1password.audit_events"
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

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
        "actor_type",
        "actor_account_uuid",
        "account_uuid",
    }
)
_SESSION_KEYS = frozenset({"uuid", "login_time", "device_uuid", "ip"})
# Raw keys copied to onepassword.* as they are (typed keyword), beside any ECS use.
_VENDOR_STRINGS = ("object_type", "object_uuid", "aux_uuid", "aux_info")
# The v2 (MSP) fields, kept as sent under onepassword.*.
_V2_STRINGS = ("actor_type", "actor_account_uuid", "account_uuid")
_PATCH_COUNTS = re.compile(r"[0-9]+(?:,[0-9]+)*")
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
    category: tuple[str]
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
    return _Categorized((category,), tuple(types), rule, meta)


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
    """ "vault 4VJ...", "the user Bob Tanaka" when the object is the affected person, or
    "a vault" when the record names no object (never a bare "vault" mid-sentence)."""
    noun = meta.name if meta is not _UNKNOWN_OBJECT else (object_type or "object")
    if meta.object == "user":
        who = display_name(target, "")
        if who:
            return f"the {noun} {who}"
    if object_uuid:
        return f"{noun} {object_uuid}"
    return _with_article(noun)


def _with_article(noun: str) -> str:
    """ "a vault", "an invitation"; a noun that carries its own determiner or is plural
    ("the account", "items") is left as it is."""
    if noun.startswith("the ") or noun.endswith("s"):
        return noun
    # "an item", "an invitation", but "a user" (said "you-ser").
    return f"{'an' if noun[0].lower() in 'aeio' else 'a'} {noun}"


def _target_id(object_details: Any, object_uuid: str | None) -> str | None:
    """The id ``user.target`` gets from ``object_uuid``, or None to take the details' own.

    ``user.target.*`` describes one person: when ``object_details`` carries a uuid other
    than ``object_uuid``, its name and email belong to that uuid, so that is the target's
    id (``object_uuid`` stays in ``onepassword.object_uuid``).
    """
    if object_details.__class__ is dict:
        own = object_details.get("uuid")
        if own.__class__ is str and own and own != object_uuid:
            return None
    return object_uuid


class _Formatter(dict[str, str]):
    """Template values; a placeholder a user-extended table invents renders as itself."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def audit_message(
    found: _Categorized,
    actor: Mapping[str, Any],
    target: Mapping[str, Any],
    object_type: str | None,
    object_name: str | None,
    action: str | None,
    aux_info: str | None,
    aux_text: str,
) -> str:
    """The readable message of an audit event, from its categorization and its parts.

    Shared by the mapper and by :func:`~._rerender.render_message`, which passes names
    looked up for the object and the aux uuid instead of the uuids themselves.
    """
    meta = found.object_type
    role = meta.aux_info_codes.get(aux_info) if aux_info else None
    return readable_message(
        found.action.message.format_map(
            _Formatter(
                actor=display_name(actor, "An unknown user"),
                target=display_name(target, "a user"),
                object=_object_phrase(meta, object_type, object_name, target),
                role=f" as a {role}" if role else "",
                new_role=f" to {role}" if role else "",
                counts=_patch_counts(aux_info) if action == "patch" else "",
                aux_info=aux_info or "",
                aux_uuid=aux_text,
                action=action or "an unnamed action",
            )
        )
    )


def map_audit_event(record: dict[str, Any], zone: AssumedZone | None = None) -> dict[str, Any]:
    """Map one audit event (v1 or v2) to an ECS document."""
    extra = Passthrough()
    users: dict[str, None] = {}
    ips: dict[str, None] = {}
    document, event = new_document(record, DATASET, extra, zone)
    get = record.get
    vendor = extra.vendor

    action = get("action")
    if action.__class__ is not str:
        action = string_or_none(action, "action", extra)
    object_type = get("object_type")
    if object_type.__class__ is not str:
        object_type = string_or_none(object_type, "object_type", extra)
    found = _categorize(action, object_type)
    meta = found.object_type
    event["category"] = list(found.category)
    event["type"] = list(found.types)
    event["outcome"] = "success"
    if action:
        event["action"] = action

    object_type, object_uuid, aux_uuid, aux_info = vendor_strings(record, _VENDOR_STRINGS, extra)
    vendor_strings(record, _V2_STRINGS, extra)
    aux_id = get("aux_id")
    if aux_id is not None:
        if aux_id.__class__ is int and _INT64_MIN <= aux_id <= _INT64_MAX:
            vendor["aux_id"] = aux_id
        else:
            extra.bad("aux_id", aux_id)

    # The actor.
    actor_uuid = get("actor_uuid")
    if actor_uuid.__class__ is not str:
        actor_uuid = string_or_none(actor_uuid, "actor_uuid", extra)
    actor = map_person(get("actor_details"), "actor_details", extra, users, actor_uuid or None)
    if actor:
        document["user"] = actor

    # The affected person (user.target), and the group acted on.
    object_details = get("object_details")
    aux_details = get("aux_details")
    target: dict[str, Any]
    if object_details is not None or (meta.object == "user" and object_uuid):
        target = map_person(
            object_details, "object_details", extra, users, _target_id(object_details, object_uuid)
        )
        if object_uuid and meta.object == "user":
            users[object_uuid] = None
        if aux_details is not None:
            map_person(aux_details, "aux_details", extra, users)
    elif aux_details is not None:
        fallback = aux_uuid if meta.aux == "user" else None
        target = map_person(aux_details, "aux_details", extra, users, fallback)
    elif meta.aux == "user" and aux_uuid:
        target = {"id": aux_uuid}
        users[aux_uuid] = None
    elif meta.aux_info_is_target and aux_info:
        target = {"email": aux_info} if "@" in aux_info else {"name": aux_info}
        users[aux_info] = None
    else:
        target = {}
    if meta.aux == "user" and aux_uuid:
        users[aux_uuid] = None
    if meta.object == "group" and object_uuid:
        if target:
            target["group"] = {"id": object_uuid}
        else:
            document["group"] = {"id": object_uuid}
    if meta.aux == "group" and aux_uuid:
        document["group"] = {"id": aux_uuid}
    if target:
        user = document.get("user")
        if user is None:
            document["user"] = {"target": target}
        else:
            user["target"] = target

    session = get("session")
    if session is not None:
        _map_session(document, session, extra, ips, zone)
    location = get("location")
    if location is not None:
        map_location(document, location, extra)
    if not record.keys() <= _KNOWN:
        extra.unknown(vendor, record, _KNOWN, "")

    document["message"] = audit_message(
        found,
        actor,
        target,
        object_type,
        object_uuid,
        action,
        aux_info,
        aux_uuid or "an unknown group",
    )
    return finish_document(document, extra, users, ips)


def _map_session(
    document: dict[str, Any],
    raw: Any,
    extra: Passthrough,
    ips: dict[str, None],
    zone: AssumedZone | None,
) -> None:
    """``session``: ip → client/source, device → ``host.id``, the rest → onepassword.session."""
    if raw.__class__ is not dict:
        extra.bad("session", raw)
        return
    get = raw.get
    ip = get("ip")
    if ip.__class__ is not str:
        ip = string_or_none(ip, "session.ip", extra)
    if ip:
        map_network(document, ip, ips)
    device = get("device_uuid")
    if device.__class__ is not str:
        device = string_or_none(device, "session.device_uuid", extra)
    if device:
        document["host"] = {"id": device}
    vendor: dict[str, Any] = {}
    session_uuid = get("uuid")
    if session_uuid.__class__ is not str:
        session_uuid = string_or_none(session_uuid, "session.uuid", extra)
    if session_uuid:
        vendor["uuid"] = session_uuid
    started = get("login_time")
    if started is not None:
        started = login_time(started, extra, zone)
        if started:
            vendor["login_time"] = started
    if not raw.keys() <= _SESSION_KEYS:
        extra.unknown(vendor, raw, _SESSION_KEYS, "session")
    if vendor:
        extra.vendor["session"] = vendor
