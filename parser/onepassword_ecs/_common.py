"""Building blocks shared by the three per-dataset mappers.

Each helper maps one raw sub-object (a person, the client, the location) to its ECS
place, sends whatever has no ECS place to ``onepassword.*`` through the record's
:class:`Passthrough`, and reports the identifiers it saw for ``related.*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import NormalizationError
from ._geo import geo_fields
from ._net import valid_ip
from ._passthrough import Passthrough
from ._timestamps import to_utc

__all__ = [
    "ECS_VERSION",
    "PERSON_KEYS",
    "Related",
    "base_document",
    "event_timestamp",
    "map_client",
    "map_location",
    "map_network",
    "map_person",
    "string_field",
]

ECS_VERSION = "9.4.0"

# Keys of a 1Password person object ({uuid, name, email}) that have an ECS place.
PERSON_KEYS = frozenset({"uuid", "name", "email"})
_CLIENT_KEYS = frozenset({"ip_address", "os_name", "os_version"})
_CLIENT_VENDOR_KEYS = ("app_name", "app_version", "platform_name", "platform_version")
_FLOAT32_MAX = 3.4028234663852886e38
_LOCATION_KEYS = frozenset({"country", "region", "city", "latitude", "longitude"})


class Related:
    """``related.user`` and ``related.ip`` in first-seen order, each value once."""

    __slots__ = ("ips", "users")

    def __init__(self) -> None:
        self.users: dict[str, None] = {}
        self.ips: dict[str, None] = {}

    def add_person(self, person: Mapping[str, str]) -> None:
        for key in ("id", "name", "email"):
            value = person.get(key)
            if value:
                self.users[value] = None

    def fields(self) -> dict[str, list[str]] | None:
        related: dict[str, list[str]] = {}
        if self.ips:
            related["ip"] = list(self.ips)
        if self.users:
            related["user"] = list(self.users)
        return related or None


def string_field(record: Mapping[str, Any], key: str, path: str, extra: Passthrough) -> str | None:
    """``record[key]`` when it is a non-empty string; other non-null values go to malformed."""
    value = record.get(key)
    if type(value) is str:
        return value or None
    if value is not None:
        extra.bad(path, value)
    return None


def base_document(
    timestamp: str, dataset: str, record: Mapping[str, Any], extra: Passthrough
) -> dict[str, Any]:
    """The fields every document has: @timestamp, ecs, event.kind/module/dataset/id."""
    event: dict[str, Any] = {"kind": "event", "module": "1password", "dataset": dataset}
    uuid = string_field(record, "uuid", "uuid", extra)
    if uuid is not None:
        event["id"] = uuid
    return {"@timestamp": timestamp, "ecs": {"version": ECS_VERSION}, "event": event}


def map_person(
    raw: Any,
    path: str,
    extra: Passthrough,
    fallback_id: str | None = None,
) -> dict[str, str]:
    """A 1Password person object → ECS user fields (``id``, ``name``, ``full_name``, ``email``).

    ``name`` goes to both ``user.name`` and ``user.full_name``: 1Password has no separate
    login name (the login is the email), and Elastic's integration fills both the same way,
    so its dashboards keep working. ``fallback_id`` is the uuid sent beside the object
    (``actor_uuid``); when the object's own uuid disagrees with it, the object's is kept
    under ``onepassword.<path>.uuid`` rather than overwriting either.
    """
    person: dict[str, str] = {}
    if fallback_id:
        person["id"] = fallback_id
    if raw is None:
        return person
    if not isinstance(raw, Mapping):
        extra.bad(path, raw)
        return person
    vendor: dict[str, Any] = {}
    uuid = string_field(raw, "uuid", f"{path}.uuid", extra)
    if uuid is not None:
        if "id" not in person:
            person["id"] = uuid
        elif person["id"] != uuid:
            vendor["uuid"] = uuid
    name = string_field(raw, "name", f"{path}.name", extra)
    if name is not None:
        person["name"] = name
        person["full_name"] = name
    email = string_field(raw, "email", f"{path}.email", extra)
    if email is not None:
        person["email"] = email
    if len(raw) > len(PERSON_KEYS & raw.keys()):
        extra.unknown(vendor, raw, PERSON_KEYS, path)
    if vendor:
        extra.vendor[path] = vendor
    return person


def map_network(doc: dict[str, Any], address: str, related: Related) -> None:
    """The client's address: raw text always in ``client.address``; a valid IP also in
    ``client.ip``, ``source.ip`` / ``source.address`` and ``related.ip``.
    """
    client = doc.setdefault("client", {})
    client["address"] = address
    if valid_ip(address):
        client["ip"] = address
        source = doc.setdefault("source", {})
        source["address"] = address
        source["ip"] = address
        related.ips[address] = None


def map_location(doc: dict[str, Any], raw: Any, extra: Passthrough) -> None:
    """1Password's ``location`` → ``client.geo`` and ``source.geo`` (see _geo)."""
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        extra.bad("location", raw)
        return
    country = string_field(raw, "country", "location.country", extra)
    region = string_field(raw, "region", "location.region", extra)
    city = string_field(raw, "city", "location.city", extra)
    latitude = raw.get("latitude")
    longitude = raw.get("longitude")
    geo = geo_fields(country, region, city, latitude, longitude)
    vendor: dict[str, Any] = {}
    if "location" not in geo:
        # Out-of-range or non-numeric coordinates would make Elasticsearch reject the
        # whole document as a geo_point; they are kept here instead.
        for key, value in (("latitude", latitude), ("longitude", longitude)):
            if value is None:
                continue
            if _storable_float(value):
                vendor[key] = value
            else:
                extra.bad(f"location.{key}", value)
    if len(raw) > len(_LOCATION_KEYS & raw.keys()):
        extra.unknown(vendor, raw, _LOCATION_KEYS, "location")
    if vendor:
        extra.vendor["location"] = vendor
    if geo:
        doc.setdefault("client", {})["geo"] = geo
        doc.setdefault("source", {})["geo"] = dict(geo)


def _storable_float(value: Any) -> bool:
    """A number an Elasticsearch ``float`` field accepts (finite, within 32-bit range)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    # NaN and infinities compare False; huge ints compare without converting to float.
    return abs(value) <= _FLOAT32_MAX


def map_client(doc: dict[str, Any], raw: Any, extra: Passthrough, related: Related) -> None:
    """The ``client`` object of item usages and sign-ins.

    ``ip_address`` (or ``ip``, seen in some published samples) → client/source address;
    ``os_*`` → ``host.os.*``; app and platform → ``onepassword.client.*``.
    """
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        extra.bad("client", raw)
        return
    known = _CLIENT_KEYS
    address = string_field(raw, "ip_address", "client.ip_address", extra)
    if address is None and "ip_address" not in raw:
        address = string_field(raw, "ip", "client.ip", extra)
        known = known | {"ip"}
    if address is not None:
        map_network(doc, address, related)
    os_name = string_field(raw, "os_name", "client.os_name", extra)
    os_version = string_field(raw, "os_version", "client.os_version", extra)
    if os_name is not None or os_version is not None:
        host_os: dict[str, str] = {}
        if os_name is not None:
            host_os["name"] = os_name
        if os_version is not None:
            host_os["version"] = os_version
        doc.setdefault("host", {})["os"] = host_os
    vendor: dict[str, Any] = {}
    for key in _CLIENT_VENDOR_KEYS:
        value = string_field(raw, key, f"client.{key}", extra)
        if value is not None:
            vendor[key] = value
    extra.unknown(vendor, raw, known | frozenset(_CLIENT_VENDOR_KEYS), "client")
    if vendor:
        extra.vendor["client"] = vendor


def event_timestamp(record: Mapping[str, Any]) -> str:
    """The record's ``timestamp`` in UTC; missing or unparseable is an error, never "now"."""
    value = record.get("timestamp")
    if value is None:
        raise NormalizationError(
            "missing_timestamp",
            "the record has no timestamp; refusing to invent one",
            "$.timestamp",
        )
    return to_utc(value, "$.timestamp")
