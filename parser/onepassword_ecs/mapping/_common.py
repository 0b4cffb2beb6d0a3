"""Building blocks shared by the three per-dataset mappers.

Each helper maps one raw sub-object (a person, the client, the location) to its ECS
place, sends whatever has no ECS place to ``onepassword.*`` through the record's
:class:`Passthrough`, and records the identifiers it saw for ``related.*``.

This is the per-record hot path (every record of every account passes here), so the
code checks types with ``value.__class__ is str`` rather than helper calls, and caches
what repeats across records (places, IP validity) in the modules that compute it. The
slow, careful handling (wrong types, unknown keys) only runs when a record needs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .._errors import NormalizationError
from ._geo import place
from ._net import indexable_ip
from ._passthrough import Passthrough
from ._timestamps import AssumedZone, to_utc, to_utc_assuming

__all__ = [
    "ECS_VERSION",
    "display_name",
    "finish_document",
    "login_time",
    "map_client",
    "map_client_side",
    "map_country",
    "map_location",
    "map_network",
    "map_person",
    "new_document",
    "readable_message",
    "string_or_none",
    "vendor_strings",
]

ECS_VERSION = "9.4.0"

_Pairs = tuple[tuple[str, str], ...]
_PersonParts = tuple[_Pairs, _Pairs, tuple[str, ...]]

# Memos of sub-objects that repeat across records (people, clients, places), keyed on the
# raw object's exact content. A memo is cleared when it reaches _MEMO_LIMIT entries, so
# memory stays bounded whatever the stream.
_MEMO_LIMIT = 10_000
_UNSEEN: Any = object()
_PEOPLE: dict[tuple[Any, ...], _PersonParts | None] = {}
_PLACES: dict[tuple[Any, ...], _Pairs | None] = {}


def _remember(memo: dict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any) -> Any:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


# Keys of a 1Password person object (UserV2) that the mappers place themselves.
_PERSON_KEYS = frozenset({"uuid", "name", "email", "user_type", "user_account_uuid"})
_CLIENT_KEYS = frozenset(
    {
        "ip_address",
        "os_name",
        "os_version",
        "app_name",
        "app_version",
        "platform_name",
        "platform_version",
    }
)
_CLIENT_VENDOR_KEYS = ("app_name", "app_version", "platform_name", "platform_version")
# Largest value an Elasticsearch ``float`` field accepts.
_FLOAT32_MAX = 3.4028234663852886e38
_LOCATION_KEYS = frozenset({"country", "region", "city", "latitude", "longitude"})


# What a display name must not smuggle into ``message``: C0 and C1 control characters
# (line breaks, tabs, escape sequences), DEL, the Unicode line and paragraph separators,
# and the bidirectional marks, embeddings, overrides and isolates that reorder text on
# screen (a name ending in U+202E makes what follows it read backwards).
_UNSAFE_IN_MESSAGE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def readable_message(text: str) -> str:
    """``message`` with every character that could forge or reorder log text escaped.

    The message is built from names users choose; a name holding a line break could
    make one event look like two in a log viewer, a bidi override could make it read
    as something else. They are written as ``\\uXXXX`` escapes, in the message only:
    the fields keep the exact raw values, so nothing is lost.
    """
    if text.isprintable():
        # Every character above is unprintable (controls, separators, format marks):
        # a printable message, the overwhelming case, is checked at C speed.
        return text
    return _UNSAFE_IN_MESSAGE.sub(_escaped, text)


def string_or_none(value: Any, path: str, extra: Passthrough) -> str | None:
    """``value`` when it is a non-empty string; another non-null value is kept as malformed.

    Callers test ``value.__class__ is str`` first and only call this for the rest.
    """
    if value.__class__ is str:
        return value or None
    if value is not None:
        extra.bad(path, value)
    return None


def vendor_strings(
    record: dict[str, Any], keys: tuple[str, ...], extra: Passthrough
) -> list[str | None]:
    """Copy the string fields ``keys`` of ``record`` to ``onepassword.*`` as sent.

    Returns their values (None when absent, empty or not a string; a non-string is kept
    as malformed), so the caller can also place them in ECS fields or messages.
    """
    get = record.get
    vendor = extra.vendor
    values: list[str | None] = []
    for key in keys:
        value = get(key)
        if value.__class__ is not str:
            value = string_or_none(value, key, extra)
        if value:
            vendor[key] = value
        values.append(value or None)
    return values


def new_document(
    record: dict[str, Any], dataset: str, extra: Passthrough, zone: AssumedZone | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields every document has; returns the document and its ``event`` object.

    ``@timestamp`` comes from ``timestamp``; missing or unparseable is an error, never
    "now" (a wrong time silently moves the event out of every investigation window).
    A timestamp without an offset is read in ``zone`` when the caller named one, and
    ``event.timezone`` then says so (ECS: the zone of a timestamp that carried none).
    """
    timestamp = record.get("timestamp")
    if timestamp is None:
        raise NormalizationError(
            "missing_timestamp",
            "the record has no timestamp; refusing to invent one",
            "$.timestamp",
        )
    event: dict[str, Any] = {"kind": "event", "module": "1password", "dataset": dataset}
    uuid = record.get("uuid")
    if uuid.__class__ is not str:
        uuid = string_or_none(uuid, "uuid", extra)
    if uuid:
        event["id"] = uuid
    if zone is None:
        moment = to_utc(timestamp, "$.timestamp")
    else:
        moment, assumed = to_utc_assuming(timestamp, "$.timestamp", zone)
        if assumed:
            event["timezone"] = zone.name
    document = {"@timestamp": moment, "ecs": {"version": ECS_VERSION}, "event": event}
    return document, event


def finish_document(
    document: dict[str, Any], extra: Passthrough, users: dict[str, None], ips: dict[str, None]
) -> dict[str, Any]:
    """Attach ``related.*`` and ``onepassword`` (only when non-empty)."""
    if users or ips:
        related: dict[str, list[str]] = {}
        if ips:
            related["ip"] = list(ips)
        if users:
            related["user"] = list(users)
        document["related"] = related
    vendor = extra.finish()
    if vendor:
        document["onepassword"] = vendor
    return document


def map_person(
    raw: Any,
    path: str,
    extra: Passthrough,
    users: dict[str, None],
    fallback_id: str | None = None,
) -> dict[str, Any]:
    """A 1Password person object → ECS user fields (``id``, ``name``, ``full_name``, ``email``).

    ``name`` goes to both ``name`` and ``full_name``: 1Password has no separate login
    name (the login is the email), and Elastic's integration fills both the same way, so
    its dashboards keep working. ``fallback_id`` is the uuid sent beside the object
    (``actor_uuid``); when the object's own uuid disagrees, the object's is kept under
    ``onepassword.<path>.uuid`` rather than overwriting either. The v2 fields
    ``user_type`` and ``user_account_uuid`` go to ``onepassword.<path>.*``. Every
    identifier seen is added to ``users`` (``related.user``).
    """
    if raw.__class__ is dict:
        # The same few hundred people appear all day: the mapping is memoized on the
        # object's exact content (an unhashable value raises TypeError: slow path).
        try:
            key = (fallback_id, *raw.items())
            parts = _PEOPLE.get(key, _UNSEEN)
            if parts is _UNSEEN:
                parts = _remember(_PEOPLE, key, _person_parts(raw, fallback_id))
        except TypeError:
            parts = None
        if parts is not None:
            person, vendor, identifiers = parts
            for identifier in identifiers:
                users[identifier] = None
            if vendor:
                extra.vendor[path] = dict(vendor)
            return dict(person)
    return _map_person_slowly(raw, path, extra, users, fallback_id)


def _person_parts(raw: dict[str, Any], fallback_id: str | None) -> _PersonParts | None:
    """(ECS person pairs, vendor pairs, related ids) for a well-formed person, else None."""
    if not raw.keys() <= _PERSON_KEYS:
        return None
    get = raw.get
    uuid, name, email = get("uuid"), get("name"), get("email")
    user_type, account = get("user_type"), get("user_account_uuid")
    for value in (uuid, name, email, user_type, account):
        if value is not None and value.__class__ is not str:
            return None
    person: list[tuple[str, str]] = []
    vendor: list[tuple[str, str]] = []
    identifiers: list[str] = []
    if fallback_id:
        person.append(("id", fallback_id))
        identifiers.append(fallback_id)
    if uuid:
        if not fallback_id:
            person.append(("id", uuid))
            identifiers.append(uuid)
        elif uuid != fallback_id:
            vendor.append(("uuid", uuid))
            identifiers.append(uuid)
    if name:
        person.append(("name", name))
        person.append(("full_name", name))
        identifiers.append(name)
    if email:
        person.append(("email", email))
        identifiers.append(email)
    if user_type:
        vendor.append(("user_type", user_type))
    if account:
        vendor.append(("user_account_uuid", account))
    return tuple(person), tuple(vendor), tuple(dict.fromkeys(identifiers))


def _map_person_slowly(
    raw: Any,
    path: str,
    extra: Passthrough,
    users: dict[str, None],
    fallback_id: str | None,
) -> dict[str, Any]:
    """map_person for records with odd values: wrong types, unknown keys, not an object."""
    person: dict[str, Any] = {}
    if fallback_id:
        person["id"] = fallback_id
        users[fallback_id] = None
    if raw is None:
        return person
    if raw.__class__ is not dict:
        extra.bad(path, raw)
        return person
    vendor: dict[str, Any] = {}
    values: dict[str, str | None] = {}
    for key in ("uuid", "name", "email", "user_type", "user_account_uuid"):
        values[key] = string_or_none(raw.get(key), f"{path}.{key}", extra)
    uuid, name, email = values["uuid"], values["name"], values["email"]
    if uuid:
        if fallback_id is None:
            person["id"] = uuid
            users[uuid] = None
        elif uuid != fallback_id:
            vendor["uuid"] = uuid
            users[uuid] = None
    if name:
        person["name"] = name
        person["full_name"] = name
        users[name] = None
    if email:
        person["email"] = email
        users[email] = None
    for key in ("user_type", "user_account_uuid"):
        if values[key]:
            vendor[key] = values[key]
    if not raw.keys() <= _PERSON_KEYS:
        extra.unknown(vendor, raw, _PERSON_KEYS, path)
    if vendor:
        extra.vendor[path] = vendor
    return person


def display_name(person: Mapping[str, Any], otherwise: str) -> str:
    """How a message names a person: name, else email, else uuid."""
    return person.get("name") or person.get("email") or person.get("id") or otherwise


def map_client_side(
    document: dict[str, Any],
    record: dict[str, Any],
    person_key: str,
    extra: Passthrough,
    users: dict[str, None],
    ips: dict[str, None],
) -> dict[str, Any]:
    """Item usages and sign-ins alike: the person (``user.*``), ``client`` and ``location``.

    Returns the ECS person so the caller can name them in the message.
    """
    get = record.get
    user = map_person(get(person_key), person_key, extra, users)
    if user:
        document["user"] = user
    client = get("client")
    if client is not None:
        map_client(document, client, extra, ips)
    location = get("location")
    if location is not None:
        map_location(document, location, extra)
    return user


def map_network(document: dict[str, Any], address: str, ips: dict[str, None]) -> None:
    """The client's address: raw text always in ``client.address``; when it is an IP
    (an IPv6 zone id stripped, see _net.indexable_ip) also ``client.ip``, ``source.ip``
    and ``related.ip``, with the raw text in ``source.address``.
    """
    client = document.get("client")
    if client is None:
        client = document["client"] = {}
    client["address"] = address
    ip = indexable_ip(address)
    if ip is not None:
        client["ip"] = ip
        document["source"] = {"address": address, "ip": ip}
        ips[ip] = None


def map_location(document: dict[str, Any], raw: Any, extra: Passthrough) -> None:
    """1Password's ``location`` → ``client.geo`` and ``source.geo`` (see _geo.place)."""
    if raw.__class__ is dict:
        try:
            key = tuple(raw.items())
            names = _PLACES.get(key, _UNSEEN)
            if names is _UNSEEN:
                names = _remember(_PLACES, key, _place_names(raw))
        except TypeError:
            names = None
        if names is not None:
            geo: dict[str, Any] = dict(names)
            latitude = raw.get("latitude")
            if latitude is not None:
                longitude = raw["longitude"]
                if latitude.__class__ is bool or longitude.__class__ is bool:
                    # True == 1 as a memo key; a boolean is never a coordinate.
                    _map_location_slowly(document, raw, extra)
                    return
                geo["location"] = {"lat": latitude, "lon": longitude}
            if geo:
                _put_geo(document, geo)
            return
    _map_location_slowly(document, raw, extra)


def map_country(document: dict[str, Any], country: str) -> None:
    """A country alone (sign-ins' top-level ``country``) → ``client.geo`` and ``source.geo``.

    Only for a record without ``location``, and only when the value resolves to an ISO
    3166 country (a code, as the API documents, or an English name, as its examples
    show): a place we cannot name is left under ``onepassword.country`` alone.
    """
    found = place(country, None, None, None, None, "NoneType", "NoneType")
    if found is None:
        return
    names = dict(found[0])
    if "country_iso_code" in names:
        _put_geo(document, names)


def _place_names(raw: dict[str, Any]) -> _Pairs | None:
    """The geo name/code pairs of a clean location (valid point or no coordinates), else None."""
    if not raw.keys() <= _LOCATION_KEYS:
        return None
    latitude = raw.get("latitude")
    longitude = raw.get("longitude")
    found = place(
        raw.get("country"),
        raw.get("region"),
        raw.get("city"),
        latitude,
        longitude,
        type(latitude).__name__,
        type(longitude).__name__,
    )
    if found is None:
        return None
    names, point = found
    if not point and (latitude is not None or longitude is not None):
        return None
    return names


def _put_geo(document: dict[str, Any], geo: dict[str, Any]) -> None:
    client = document.get("client")
    if client is None:
        document["client"] = {"geo": geo}
    else:
        client["geo"] = geo
    source = document.get("source")
    geo_copy = dict(geo)
    if "location" in geo:
        geo_copy["location"] = dict(geo["location"])
    if source is None:
        document["source"] = {"geo": geo_copy}
    else:
        source["geo"] = geo_copy


def _map_location_slowly(document: dict[str, Any], raw: Any, extra: Passthrough) -> None:
    """The careful path: wrong types, out-of-range coordinates, unknown keys."""
    if raw is None:
        return
    if raw.__class__ is not dict:
        extra.bad("location", raw)
        return
    get = raw.get
    latitude = get("latitude")
    longitude = get("longitude")
    try:
        found = place(
            get("country"),
            get("region"),
            get("city"),
            latitude,
            longitude,
            type(latitude).__name__,
            type(longitude).__name__,
        )
    except TypeError:  # an unhashable value (a list or object) where a scalar belongs
        found = None
    if found is None:
        _map_odd_location(document, raw, extra)
        return
    names, point = found
    if names or point:
        geo: dict[str, Any] = dict(names)
        if point:
            geo["location"] = {"lat": latitude, "lon": longitude}
        _put_geo(document, geo)
    if not point and (latitude is not None or longitude is not None):
        # Out-of-range coordinates would make Elasticsearch reject the whole document
        # as a geo_point; they are kept as plain numbers here instead.
        for key, value in (("latitude", latitude), ("longitude", longitude)):
            if value is None:
                continue
            # A float field takes finite values within 32-bit range (NaN compares false);
            # an integer must also fit JSON encoders' 64 bits.
            fits_int = value.__class__ is not int or -(2**63) <= value < 2**63
            if fits_int and -_FLOAT32_MAX <= value <= _FLOAT32_MAX:
                extra.child("location")[key] = value
            else:
                extra.bad(f"location.{key}", value)
    if not raw.keys() <= _LOCATION_KEYS:
        extra.unknown(extra.child("location"), raw, _LOCATION_KEYS, "location")


def _map_odd_location(document: dict[str, Any], raw: dict[str, Any], extra: Passthrough) -> None:
    """Slow path for a location with values of the wrong type: keep what fits."""
    clean: dict[str, Any] = {}
    value: Any
    for key in ("country", "region", "city"):
        value = raw.get(key)
        clean[key] = (
            value if value.__class__ is str else string_or_none(value, f"location.{key}", extra)
        )
    for key in ("latitude", "longitude"):
        value = raw.get(key)
        if value is None or value.__class__ in (int, float):
            clean[key] = value
        else:
            extra.bad(f"location.{key}", value)
            clean[key] = None
    for key, value in raw.items():
        if key not in _LOCATION_KEYS:
            clean[key] = value
    _map_location_slowly(document, clean, extra)


def map_client(
    document: dict[str, Any], raw: Any, extra: Passthrough, ips: dict[str, None]
) -> None:
    """The ``client`` object of item usages and sign-ins.

    ``ip_address`` (or ``ip``, seen in some published samples) → client/source address;
    ``os_*`` → ``host.os.*``; app and platform → ``onepassword.client.*``. The software
    part is cached: a few dozen app and OS versions cover a whole account. The address is
    not part of that key (thousands of them would make the cache a memory cost).
    """
    if raw.__class__ is dict and raw.keys() <= _CLIENT_KEYS:
        get = raw.get
        address = get("ip_address")
        try:
            software = _software(
                get("os_name"), get("os_version"), get("app_name"), get("app_version"),
                get("platform_name"), get("platform_version"),
            )  # fmt: skip
        except TypeError:  # an unhashable value: the careful path reports it
            software = None
        if software is not None and (address is None or address.__class__ is str):
            host_os, vendor = software
            if address:
                map_network(document, address, ips)
            if host_os:
                document["host"] = {"os": dict(host_os)}
            if vendor:
                extra.vendor["client"] = dict(vendor)
            return
    _map_client_slowly(document, raw, extra, ips)


@lru_cache(maxsize=4096)
def _software(
    os_name: Any,
    os_version: Any,
    app_name: Any,
    app_version: Any,
    platform_name: Any,
    platform_version: Any,
) -> tuple[_Pairs, _Pairs] | None:
    """(host.os pairs, onepassword.client pairs) when every value is a string or absent."""
    values = (os_name, os_version, app_name, app_version, platform_name, platform_version)
    if any(value is not None and value.__class__ is not str for value in values):
        return None
    host_os = tuple(
        (name, value) for name, value in (("name", os_name), ("version", os_version)) if value
    )
    vendor = tuple(
        (key, value) for key, value in zip(_CLIENT_VENDOR_KEYS, values[2:], strict=True) if value
    )
    return host_os, vendor


def _map_client_slowly(
    document: dict[str, Any], raw: Any, extra: Passthrough, ips: dict[str, None]
) -> None:
    """The careful path: the ``ip`` spelling, wrong types, unknown keys."""
    if raw is None:
        return
    if raw.__class__ is not dict:
        extra.bad("client", raw)
        return
    get = raw.get
    known = _CLIENT_KEYS
    address = get("ip_address")
    if address is None and "ip" in raw:
        address = get("ip")
        known = _CLIENT_KEYS | {"ip"}
        if address.__class__ is not str:
            address = string_or_none(address, "client.ip", extra)
    elif address.__class__ is not str:
        address = string_or_none(address, "client.ip_address", extra)
    if address:
        map_network(document, address, ips)
    os_name = get("os_name")
    os_version = get("os_version")
    if os_name.__class__ is not str:
        os_name = string_or_none(os_name, "client.os_name", extra)
    if os_version.__class__ is not str:
        os_version = string_or_none(os_version, "client.os_version", extra)
    if os_name or os_version:
        host_os: dict[str, str] = {}
        if os_name:
            host_os["name"] = os_name
        if os_version:
            host_os["version"] = os_version
        document["host"] = {"os": host_os}
    vendor: dict[str, Any] = {}
    for key in _CLIENT_VENDOR_KEYS:
        value = get(key)
        if value.__class__ is not str:
            value = string_or_none(value, f"client.{key}", extra)
        if value:
            vendor[key] = value
    if not raw.keys() <= known:
        extra.unknown(vendor, raw, known, "client")
    if vendor:
        extra.vendor["client"] = vendor


def login_time(value: Any, extra: Passthrough, zone: AssumedZone | None = None) -> str | None:
    """``session.login_time`` in UTC like ``@timestamp``; unparseable → malformed, not an error."""
    try:
        if zone is not None:
            return to_utc_assuming(value, "$.session.login_time", zone)[0]
        return to_utc(value, "$.session.login_time")
    except NormalizationError:
        extra.bad("session.login_time", value)
        return None
