"""The straight-line mapper for audit events of the documented shape.

The same contract as :mod:`._fast` (which explains why these exist and how they are
held to the careful mappers): the document of ``map_audit_event`` for every record it
takes, built in one place with keys in sorted order; None for anything off the
documented shape. The categorization (``_categorize``), the target id rule
(``_target_id``) and the message (``audit_message``) are the careful mapper's own
functions, so the rules live in one place; what is straight-lined here is the walk over
the record and the assembly of the document.
"""

from __future__ import annotations

from typing import Any

from .._errors import NormalizationError
from ._audit import DATASET, _categorize, _target_id, audit_message
from ._fast import LOCATION_KEYS, TEXT, assemble, event_fields
from ._net import indexable_ip
from ._parts import Place, person, place_of
from ._timestamps import to_utc

__all__ = ["fast_audit_event"]

_DETAILS = frozenset({dict, type(None)})
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_KEYS = frozenset(
    {
        "uuid", "timestamp", "action", "object_type", "object_uuid", "actor_uuid",
        "actor_details", "object_details", "aux_id", "aux_uuid", "aux_details", "aux_info",
        "session", "location", "actor_type", "actor_account_uuid", "account_uuid",
    }
)  # fmt: skip
_SESSION_KEYS = frozenset({"uuid", "login_time", "device_uuid", "ip"})

# A person as the mapper uses it: (ECS fields, onepassword.* fields or None, related ids).
_Mapped = tuple[dict[str, Any], dict[str, Any] | None, tuple[str, ...]]


def _person(raw: Any, fallback: str | None) -> _Mapped | None:
    """``map_person`` for a dict or None, as fresh dicts; None when off shape."""
    if raw is None:
        if fallback:
            return {"id": fallback}, None, (fallback,)
        return {}, None, ()
    found = person(raw, fallback)
    if found is None:
        return None
    return dict(found.fields), found.vendor, found.identifiers


def fast_audit_event(record: dict[str, Any], stream: Any, encoded: bool) -> dict[str, Any] | None:
    """An audit event of the documented shape, mapped; None for the careful mapper."""
    if not record.keys() <= _KEYS:
        return None
    get = record.get
    timestamp = get("timestamp")
    uuid = get("uuid")
    action = get("action")
    object_type = get("object_type")
    object_uuid = get("object_uuid")
    aux_uuid = get("aux_uuid")
    aux_info = get("aux_info")
    actor_uuid = get("actor_uuid")
    actor_type = get("actor_type")
    actor_account = get("actor_account_uuid")
    account = get("account_uuid")
    aux_id = get("aux_id")
    actor_details = get("actor_details")
    object_details = get("object_details")
    aux_details = get("aux_details")
    session = get("session")
    location = get("location")
    if (
        timestamp.__class__ is not str
        or not {
            uuid.__class__,
            action.__class__,
            object_type.__class__,
            object_uuid.__class__,
            aux_uuid.__class__,
            aux_info.__class__,
            actor_uuid.__class__,
            actor_type.__class__,
            actor_account.__class__,
            account.__class__,
        }
        <= TEXT
        or actor_details.__class__ not in _DETAILS
        or object_details.__class__ not in _DETAILS
        or aux_details.__class__ not in _DETAILS
        or (
            aux_id is not None
            and (aux_id.__class__ is not int or not _INT64_MIN <= aux_id <= _INT64_MAX)
        )
    ):
        return None

    address = ip = device = session_uuid = started = None
    if session is not None:
        if session.__class__ is not dict or not session.keys() <= _SESSION_KEYS:
            return None
        sget = session.get
        address = sget("ip")
        device = sget("device_uuid")
        session_uuid = sget("uuid")
        started = sget("login_time")
        if (
            not {address.__class__, device.__class__, session_uuid.__class__, started.__class__}
            <= TEXT
        ):
            return None
        if started is not None:
            try:
                started = to_utc(started, "$.session.login_time")
            except NormalizationError:
                return None  # kept as malformed: the careful mapper's business
        if address:
            ip = indexable_ip(address)
        else:
            address = None
    place: Place | None = None
    if location is not None:
        if location.__class__ is not dict or not location.keys() <= LOCATION_KEYS:
            return None
        place = place_of(location)
        if place is None:
            return None

    # As sent, then as the careful mapper reads them (an empty string is no value).
    found = _categorize(action, object_type)
    object_type = object_type or None
    object_uuid = object_uuid or None
    aux_uuid = aux_uuid or None
    aux_info = aux_info or None
    meta = found.object_type

    actor = _person(actor_details, actor_uuid or None)
    if actor is None:
        return None
    actor_fields, actor_vendor, ids = actor
    users = list(ids)
    object_vendor = aux_vendor = None
    target: dict[str, Any]
    if object_details is not None or (meta.object == "user" and object_uuid):
        mapped = _person(object_details, _target_id(object_details, object_uuid))
        if mapped is None:
            return None
        target, object_vendor, ids = mapped
        users += ids
        if object_uuid and meta.object == "user":
            users.append(object_uuid)
        if aux_details is not None:
            mapped = _person(aux_details, None)
            if mapped is None:
                return None
            _, aux_vendor, ids = mapped
            users += ids
    elif aux_details is not None:
        mapped = _person(aux_details, aux_uuid if meta.aux == "user" else None)
        if mapped is None:
            return None
        target, aux_vendor, ids = mapped
        users += ids
    elif meta.aux == "user" and aux_uuid:
        target = {"id": aux_uuid}
        users.append(aux_uuid)
    elif meta.aux_info_is_target and aux_info:
        target = {"email": aux_info} if "@" in aux_info else {"name": aux_info}
        users.append(aux_info)
    else:
        target = {}
    if meta.aux == "user" and aux_uuid:
        users.append(aux_uuid)
    group = None
    if meta.object == "group" and object_uuid:
        if target:
            target = dict(sorted({**target, "group": {"id": object_uuid}}.items()))
        else:
            group = {"id": object_uuid}
    if meta.aux == "group" and aux_uuid:
        group = {"id": aux_uuid}

    message = audit_message(
        found,
        actor_fields,
        target,
        object_type,
        object_uuid,
        action,
        aux_info,
        aux_uuid or "an unknown group",
    )
    user: dict[str, Any] | None = None
    if actor_fields or target:
        user = actor_fields
        if target:
            user["target"] = target  # "target" sorts after every person field

    event = event_fields(
        action, list(found.category), DATASET, uuid, "success", None, list(found.types)
    )

    vendor: dict[str, Any] = {"account_uuid": account} if account else {}
    if actor_account:
        vendor["actor_account_uuid"] = actor_account
    if actor_vendor is not None:
        vendor["actor_details"] = dict(actor_vendor)
    if actor_type:
        vendor["actor_type"] = actor_type
    if aux_vendor is not None:
        vendor["aux_details"] = dict(aux_vendor)
    if aux_id is not None:
        vendor["aux_id"] = aux_id
    if aux_info:
        vendor["aux_info"] = aux_info
    if aux_uuid:
        vendor["aux_uuid"] = aux_uuid
    if object_vendor is not None:
        vendor["object_details"] = dict(object_vendor)
    if object_type:
        vendor["object_type"] = object_type
    if object_uuid:
        vendor["object_uuid"] = object_uuid
    if session_uuid or started:
        kept: dict[str, Any] = {"login_time": started} if started else {}
        if session_uuid:
            kept["uuid"] = session_uuid
        vendor["session"] = kept

    document: dict[str, Any] = {"@timestamp": to_utc(timestamp, "$.timestamp")}
    return assemble(
        document,
        address,
        ip,
        place,
        stream,
        event,
        group,
        {"id": device} if device else None,
        message,
        vendor,
        list(dict.fromkeys(users)) if users else None,
        user,
        encoded,
    )
