"""Finished sub-documents of the fast path, memoized on what identifies them.

A stream names the same few hundred people, a few dozen client builds and a dozen
places all day. The fast mappers (:mod:`._fast`) ask here for the finished ECS
sub-objects of one raw person, client or location, and get them from a memo when the
raw object is the one seen before:

- a person is looked up on its ``uuid``, a place on its ``city``, and the hit is
  *confirmed* by comparing the raw object with the one the entry was made from: one
  hash of a short string and one dict comparison, where a key of every value would
  hash them all. A key holds up to ``VARIANTS`` entries, because one person comes in
  more than one shape (the v1 and v2 objects, with and without ``user_type``) and one
  city with its country as a name or as a code;
- client software is looked up on its six strings (there is no single identifier).

Each entry holds its sub-objects twice: as dicts with keys in sorted order (copied for
every document the library returns, since a caller may change them) and as
``orjson.Fragment``\\ s, already encoded, which the bytes path puts in a document that
is only ever encoded. An entry is made by the careful mapper's own helpers
(``_person_parts``, ``_software``, ``_place_names``), so the fast path cannot resolve
anything differently; a raw object those helpers would not take gives None, and the
record goes to the careful mapper.

Memos are cleared when they reach ``MEMO_LIMIT`` entries: memory stays flat.
"""

from __future__ import annotations

from typing import Any

import orjson

from ._common import _person_parts, _place_names, _software
from ._geo import place

__all__ = [
    "MEMO_LIMIT",
    "Person",
    "Place",
    "Software",
    "country_place",
    "person",
    "place_of",
    "software",
]

MEMO_LIMIT = 10_000
VARIANTS = 4


def _variant(bucket: list[Any] | None, raw: dict[str, Any]) -> Any:
    """The entry of ``bucket`` made from a raw object equal to ``raw``, or None.

    Most keys have one variant: that case is one comparison and no loop.
    """
    if bucket is not None:
        if bucket[0].raw == raw:
            return bucket[0]
        for entry in bucket:
            if entry.raw == raw:
                return entry
    return None


class _Memo(dict[Any, list[Any]]):
    """Buckets of entries by key, cleared when they hold ``MEMO_LIMIT`` entries in all
    (entries, not keys: a key's variants count one by one)."""

    entries = 0

    def keep(self, key: Any, entry: Any) -> None:
        bucket = self.get(key)
        if bucket is not None and len(bucket) >= VARIANTS:
            del bucket[0]
            self.entries -= 1
        if self.entries >= MEMO_LIMIT:
            self.clear()
            self.entries = 0
            bucket = None
        if bucket is None:
            self[key] = [entry]
        else:
            bucket.append(entry)
        self.entries += 1


def _sorted(pairs: Any) -> dict[str, Any]:
    return dict(sorted(pairs))


def _fragment(value: Any) -> orjson.Fragment:
    # orjson's output buffer keeps about 2 KiB whatever the text's length; a memo of a
    # few thousand entries would hold megabytes of it. A copy is exactly the text.
    return orjson.Fragment(bytes(memoryview(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))))


class Person:
    """One raw person object, mapped: ``user.*`` fields, ``onepassword.<key>`` fields,
    the identifiers for ``related.user`` and how a message names them."""

    __slots__ = (
        "display",
        "fields",
        "fields_fragment",
        "identifiers",
        "identifiers_fragment",
        "raw",
        "vendor",
        "vendor_fragment",
    )

    def __init__(self, raw: dict[str, Any], parts: Any) -> None:
        person_pairs, vendor_pairs, identifiers = parts
        self.raw = dict(raw)
        self.fields = _sorted(person_pairs)
        self.vendor = _sorted(vendor_pairs) if vendor_pairs else None
        self.identifiers: tuple[str, ...] = identifiers
        fields = self.fields
        self.display: str | None = fields.get("name") or fields.get("email") or fields.get("id")
        self.fields_fragment = _fragment(self.fields)
        self.vendor_fragment = _fragment(self.vendor) if self.vendor else None
        self.identifiers_fragment = _fragment(list(identifiers))


_PEOPLE = _Memo()


def person(raw: dict[str, Any], fallback: str | None) -> Person | None:
    """The mapped person for ``raw`` (a dict), or None when the careful mapper must see it.

    ``fallback`` is the id sent beside the object (an audit event's ``actor_uuid``).
    """
    uuid = raw.get("uuid")
    if uuid.__class__ is not str and uuid is not None:
        return None
    key = uuid if fallback is None else (uuid, fallback)
    found = _variant(_PEOPLE.get(key), raw)
    if found is not None:
        return found  # type: ignore[no-any-return]
    parts = _person_parts(raw, fallback)
    if parts is None:
        return None
    entry = Person(raw, parts)
    _PEOPLE.keep(key, entry)
    return entry


class Software:
    """One client build: ``host.os`` and ``onepassword.client`` (each None when empty)."""

    __slots__ = ("host_os", "host_os_fragment", "vendor", "vendor_fragment")

    def __init__(self, host_os: Any, vendor: Any) -> None:
        self.host_os = _sorted(host_os) if host_os else None
        self.vendor = _sorted(vendor) if vendor else None
        self.host_os_fragment = _fragment({"os": self.host_os}) if self.host_os else None
        self.vendor_fragment = _fragment(self.vendor) if self.vendor else None


_SOFTWARE: dict[tuple[Any, ...], Software] = {}


def software(
    os_name: Any,
    os_version: Any,
    app_name: Any,
    app_version: Any,
    platform_name: Any,
    platform_version: Any,
) -> Software | None:
    """The mapped client build, or None for a value the careful mapper must report."""
    key = (os_name, os_version, app_name, app_version, platform_name, platform_version)
    try:
        found = _SOFTWARE.get(key)
    except TypeError:  # an unhashable value where a string belongs
        return None
    if found is not None:
        return found
    pairs = _software(*key)
    if pairs is None:
        return None
    entry = Software(*pairs)
    if len(_SOFTWARE) >= MEMO_LIMIT:
        _SOFTWARE.clear()
    _SOFTWARE[key] = entry
    return entry


class Place:
    """One location: the ``geo`` object of ``client`` and ``source`` (None when empty)."""

    __slots__ = ("fragment", "geo", "has_point", "raw")

    def __init__(self, raw: dict[str, Any] | None, geo: dict[str, Any] | None) -> None:
        self.raw = dict(raw) if raw is not None else None
        self.geo = geo
        self.has_point = geo is not None and "location" in geo
        self.fragment = _fragment(geo) if geo else None

    def copy(self) -> dict[str, Any]:
        """The geo object as a new dict the caller may change (its point too)."""
        geo = dict(self.geo or {})
        if self.has_point:
            geo["location"] = dict(geo["location"])
        return geo


_PLACES = _Memo()
_FLOAT = float


def place_of(raw: dict[str, Any]) -> Place | None:
    """The mapped ``location`` object ``raw``, or None when the careful mapper must see it.

    A hit must also have float coordinates: ``43 == 43.0 == True`` compare equal, but
    Elasticsearch and the encoder tell them apart, and the careful mapper sends a
    boolean to its slow path.
    """
    city = raw.get("city")
    if city.__class__ is not str and city is not None:
        return None
    found: Place | None = _variant(_PLACES.get(city), raw)
    if found is not None:
        if not found.has_point or (
            raw["latitude"].__class__ is _FLOAT and raw["longitude"].__class__ is _FLOAT
        ):
            return found
        return None
    try:
        names = _place_names(raw)
    except TypeError:  # an unhashable value where a scalar belongs
        return None
    if names is None:
        return None
    geo: dict[str, Any] = dict(names)
    latitude = raw.get("latitude")
    if latitude is not None:
        longitude = raw["longitude"]
        if latitude.__class__ is not _FLOAT or longitude.__class__ is not _FLOAT:
            return None  # integers and booleans: the careful mapper, no memo
        geo["location"] = {"lat": latitude, "lon": longitude}
    entry = Place(raw, dict(sorted(geo.items())) if geo else None)
    _PLACES.keep(city, entry)
    return entry


_COUNTRIES: dict[str, Place] = {}


def country_place(country: str) -> Place:
    """A sign-in's lone ``country`` as a place (its geo None when it names no country)."""
    found = _COUNTRIES.get(country)
    if found is not None:
        return found
    resolved = place(country, None, None, None, None, "NoneType", "NoneType")
    names = dict(resolved[0]) if resolved is not None else {}
    entry = Place(None, dict(sorted(names.items())) if "country_iso_code" in names else None)
    if len(_COUNTRIES) >= MEMO_LIMIT:
        _COUNTRIES.clear()
    _COUNTRIES[country] = entry
    return entry
