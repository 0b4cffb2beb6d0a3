"""Straight-line mappers for the common shape of item usages and sign-in attempts.

Why a second mapper per dataset: the careful mappers (``_item_usage``, ``_signin``)
handle anything a record can hold: wrong types, unknown keys, odd places, passing
what has no ECS place through :class:`~._passthrough.Passthrough`. Nearly every real
record is the plain documented shape, and for it that generality is most of the cost
(a dozen helper calls, a pass-through object, dicts built and then copied). These
functions build the same document in one place for that shape and return None for
anything else, so the careful mapper decides every record they do not take; they never
report an error of their own.

What makes them agree with the careful mappers, and not a second set of rules:

- the values come from the same tables (``_ACTIONS``, ``_CATEGORIES``, the sign-in
  reasons) and the same helpers (``to_utc``, ``indexable_ip``, the people, software
  and place resolution behind :mod:`._parts`);
- a record is taken only when every key is one the mapper knows and every value has
  the documented type, so nothing would have gone to ``onepassword.*`` as unknown or
  malformed;
- ``tests/test_fast_path.py`` holds them to the careful mappers' output, byte for byte
  in sorted-key JSON, over the benchmark corpus, every golden fixture and the
  Hypothesis strategies.

Written by hand rather than generated from the tables: the tables decide values
(categories, reasons, message templates), which these functions read at run time like
the careful mappers do; what they fix is the record's shape, which the Events API
defines and no table describes. Generated source would add a build step or start-up
work and a file nobody reviews, with nothing left to vary (see docs/performance.md).

Every dict is built with its keys in sorted order, so ``orjson.dumps(document)`` is
already the canonical sorted-key encoding. With ``encoded=True`` (the bytes path) the
memoized sub-objects go in as ``orjson.Fragment``\\ s shared between documents; such a
document is only ever encoded, never returned.
"""

from __future__ import annotations

from typing import Any

import orjson

from ._common import ECS_VERSION, readable_message
from ._item_usage import _ACTIONS, _UNKNOWN_ACTION
from ._item_usage import DATASET as ITEM_USAGES
from ._net import indexable_ip
from ._parts import Person, Place, Software, country_place, person, place_of, software
from ._signin import _CATEGORIES, _NO_CATEGORY, _UNRECOGNIZED, _reason
from ._signin import DATASET as SIGNIN_ATTEMPTS
from ._timestamps import to_utc

__all__ = [
    "LOCATION_KEYS",
    "TEXT",
    "assemble",
    "event_fields",
    "fast_item_usage",
    "fast_signin_attempt",
]

TEXT = frozenset({str, type(None)})
_INT64_MAX = 2**63 - 1
_ECS_FRAGMENT = orjson.Fragment(orjson.dumps({"version": ECS_VERSION}))
_ITEM_KEYS = frozenset(
    {
        "uuid", "timestamp", "used_version", "vault_uuid", "item_uuid", "action", "user",
        "client", "location", "account_uuid",
    }
)  # fmt: skip
_SIGNIN_KEYS = frozenset(
    {
        "uuid", "session_uuid", "timestamp", "category", "type", "country", "details",
        "target_user", "client", "location", "account_uuid",
    }
)  # fmt: skip
_CLIENT_KEYS = frozenset(
    {
        "ip_address", "os_name", "os_version", "app_name", "app_version", "platform_name",
        "platform_version",
    }
)  # fmt: skip
LOCATION_KEYS = frozenset({"country", "region", "city", "latitude", "longitude"})
_DETAILS_KEYS = frozenset({"value"})


# What the client side of a record maps to: (person, software, address, ip, place).
_Side = tuple[Person | None, Software | None, str | None, str | None, Place | None]


def _client_side(
    record: dict[str, Any], person_key: str, country: str | None = None
) -> _Side | None:
    """The person under ``person_key``, ``client`` and ``location``; None when off shape.

    ``country`` (sign-ins) gives the place when there is no ``location``.
    """
    get = record.get
    who = build = address = ip = geo = None
    raw_person = get(person_key)
    if raw_person is not None:
        if raw_person.__class__ is not dict:
            return None
        who = person(raw_person, None)
        if who is None:
            return None
    client = get("client")
    if client is not None:
        if client.__class__ is not dict or not client.keys() <= _CLIENT_KEYS:
            return None
        cget = client.get
        address = cget("ip_address")
        if address.__class__ not in TEXT:
            return None
        build = software(
            cget("os_name"), cget("os_version"), cget("app_name"), cget("app_version"),
            cget("platform_name"), cget("platform_version"),
        )  # fmt: skip
        if build is None:
            return None
        if address:
            ip = indexable_ip(address)
        else:
            address = None
    location = get("location")
    if location is not None:
        if location.__class__ is not dict or not location.keys() <= LOCATION_KEYS:
            return None
        geo = place_of(location)
        if geo is None:
            return None
    elif country:
        geo = country_place(country)
    return who, build, address, ip, geo


def event_fields(
    action: str | None,
    category: list[str],
    dataset: str,
    uuid: str | None,
    outcome: str,
    reason: str | None,
    types: list[str],
) -> dict[str, Any]:
    """The ``event`` object, keys in sorted order; empty strings are no value."""
    event: dict[str, Any] = {"action": action} if action else {}
    event["category"] = category
    event["dataset"] = dataset
    if uuid:
        event["id"] = uuid
    event["kind"] = "event"
    event["module"] = "1password"
    event["outcome"] = outcome
    if reason:
        event["reason"] = reason
    event["type"] = types
    return event


def assemble(
    document: dict[str, Any],
    address: str | None,
    ip: str | None,
    place: Place | None,
    stream: Any,
    event: dict[str, Any],
    group: Any,
    host: Any,
    message: str,
    vendor: dict[str, Any],
    users: Any,
    user: Any,
    encoded: bool,
) -> dict[str, Any]:
    """Add the top-level fields after ``@timestamp``, in sorted order, to ``document``.

    The address, ip and place become ``client`` and ``source`` the way the careful
    mappers' ``map_network`` and ``map_location`` place them; every other value is
    final (``group``, ``host``, ``users`` and ``user`` may be None: left out; ``vendor``
    empty: left out).
    """
    geo = place.geo if place is not None else None
    if address or geo:
        client: dict[str, Any] = {"address": address} if address else {}
        if geo:
            client["geo"] = place.fragment if encoded else place.copy()  # type: ignore[union-attr]
        if ip is not None:
            client["ip"] = ip
        document["client"] = client
    if stream is not None:
        document["data_stream"] = stream if encoded else dict(stream)
    document["ecs"] = _ECS_FRAGMENT if encoded else {"version": ECS_VERSION}
    document["event"] = event
    if group is not None:
        document["group"] = group
    if host is not None:
        document["host"] = host
    document["message"] = message
    if vendor:
        document["onepassword"] = vendor
    if users is not None:
        document["related"] = {"ip": [ip], "user": users} if ip is not None else {"user": users}
    elif ip is not None:
        document["related"] = {"ip": [ip]}
    if ip is not None or geo:
        source: dict[str, Any] = {"address": address} if ip is not None else {}
        if geo:
            source["geo"] = place.fragment if encoded else place.copy()  # type: ignore[union-attr]
        if ip is not None:
            source["ip"] = ip
        document["source"] = source
    if user is not None:
        document["user"] = user
    return document


def _finish(
    document: dict[str, Any],
    side: _Side,
    event: dict[str, Any],
    message: str,
    vendor: dict[str, Any],
    stream: Any,
    encoded: bool,
) -> dict[str, Any]:
    """:func:`assemble` for the client-side datasets (item usages, sign-ins)."""
    who, build, address, ip, place = side
    host = None
    if build is not None and build.host_os is not None:
        host = build.host_os_fragment if encoded else {"os": dict(build.host_os)}
    users = user = None
    if who is not None:
        if who.identifiers:
            users = who.identifiers_fragment if encoded else list(who.identifiers)
        if who.fields:
            user = who.fields_fragment if encoded else dict(who.fields)
    return assemble(
        document, address, ip, place, stream, event, None, host, message, vendor, users, user,
        encoded,
    )  # fmt: skip


def fast_item_usage(record: dict[str, Any], stream: Any, encoded: bool) -> dict[str, Any] | None:
    """An item usage of the documented shape, mapped; None for the careful mapper.

    ``stream`` is the ``data_stream`` object to include (a dict, or a Fragment when
    ``encoded``), or None.
    """
    if not record.keys() <= _ITEM_KEYS:
        return None
    get = record.get
    timestamp = get("timestamp")
    uuid = get("uuid")
    action = get("action")
    vault = get("vault_uuid")
    item = get("item_uuid")
    account = get("account_uuid")
    used_version = get("used_version")
    if (
        timestamp.__class__ is not str
        or not {
            uuid.__class__,
            action.__class__,
            vault.__class__,
            item.__class__,
            account.__class__,
        }
        <= TEXT
        or (
            used_version is not None
            and (used_version.__class__ is not int or not 0 <= used_version <= _INT64_MAX)
        )
    ):
        return None
    side = _client_side(record, "user")
    if side is None:
        return None
    document: dict[str, Any] = {"@timestamp": to_utc(timestamp, "$.timestamp")}
    rule = _ACTIONS.get(action, _UNKNOWN_ACTION) if action else _UNKNOWN_ACTION
    event = event_fields(action, ["file"], ITEM_USAGES, uuid, "success", None, [rule.activity])
    who, build = side[0], side[1]
    message = readable_message(
        rule.message.format(
            user=(who.display if who is not None else None) or "An unknown user",
            item=item or "(unknown)",
            vault=vault or "(unknown)",
            action=action or "action not reported",
        )
    )
    vendor: dict[str, Any] = {"account_uuid": account} if account else {}
    if build is not None and build.vendor is not None:
        vendor["client"] = build.vendor_fragment if encoded else dict(build.vendor)
    if item:
        vendor["item_uuid"] = item
    if used_version is not None:
        vendor["used_version"] = used_version
    if who is not None and who.vendor is not None:
        vendor["user"] = who.vendor_fragment if encoded else dict(who.vendor)
    if vault:
        vendor["vault_uuid"] = vault
    return _finish(document, side, event, message, vendor, stream, encoded)


def fast_signin_attempt(
    record: dict[str, Any], stream: Any, encoded: bool
) -> dict[str, Any] | None:
    """A sign-in attempt of the documented shape, mapped; None for the careful mapper."""
    if not record.keys() <= _SIGNIN_KEYS:
        return None
    get = record.get
    timestamp = get("timestamp")
    uuid = get("uuid")
    category = get("category")
    session = get("session_uuid")
    sign_in_type = get("type")
    country = get("country")
    account = get("account_uuid")
    details = get("details")
    if (
        timestamp.__class__ is not str
        or not {
            uuid.__class__,
            category.__class__,
            session.__class__,
            sign_in_type.__class__,
            country.__class__,
            account.__class__,
        }
        <= TEXT
    ):
        return None
    detail: str | None = None
    if details is not None:
        if details.__class__ is not dict or not details.keys() <= _DETAILS_KEYS:
            return None
        detail = details.get("value")
        if detail.__class__ not in TEXT:
            return None
    side = _client_side(record, "target_user", country)
    if side is None:
        return None
    document: dict[str, Any] = {"@timestamp": to_utc(timestamp, "$.timestamp")}
    rule = _CATEGORIES.get(category, _UNRECOGNIZED) if category else _NO_CATEGORY
    reason = _reason(sign_in_type or None, detail or None)
    event = event_fields(
        category, ["authentication"], SIGNIN_ATTEMPTS, uuid, rule.outcome, reason, ["start"]
    )
    who, build = side[0], side[1]
    message = readable_message(
        rule.message.format(
            user=(who.display if who is not None else None) or "An unknown user",
            reason=reason or "no reason given",
            category=category or "",
        )
    )
    vendor: dict[str, Any] = {"account_uuid": account} if account else {}
    if build is not None and build.vendor is not None:
        vendor["client"] = build.vendor_fragment if encoded else dict(build.vendor)
    if country:
        vendor["country"] = country
    if detail:
        vendor["details"] = {"value": detail}
    if session:
        vendor["session_uuid"] = session
    if who is not None and who.vendor is not None:
        vendor["target_user"] = who.vendor_fragment if encoded else dict(who.vendor)
    if sign_in_type:
        vendor["type"] = sign_in_type
    return _finish(document, side, event, message, vendor, stream, encoded)
