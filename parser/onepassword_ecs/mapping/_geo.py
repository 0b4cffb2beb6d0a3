"""1Password's own geolocation (`location`) → ECS ``*.geo`` with ISO codes.

1Password resolves the client's place itself; peers throw that away and run a GeoIP
lookup instead. We keep the vendor's answer and add what ECS indexes best:
``country_iso_code`` (ISO 3166-1 alpha-2) and ``region_iso_code`` (ISO 3166-2).

Country and region names repeat endlessly across records, so every resolution is cached.
"""

from __future__ import annotations

import math
import unicodedata
from functools import cache, lru_cache
from typing import Any

import pycountry

from .._errors import MappingTableError
from ._tables import tables

__all__ = ["place", "resolve_country", "resolve_region", "valid_coordinates"]


def _fold(text: str) -> str:
    """Case- and accent-insensitive key: "Côte d'Ivoire" and "cote d'ivoire" are equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().replace("\u2019", "'").split())


@cache
def _country_index() -> dict[str, str]:
    """Folded country name (pycountry's names, then our aliases) → alpha-2 code."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                index.setdefault(_fold(name), country.alpha_2)
    for name, code in tables().country_names.items():
        index[_fold(name)] = code
    return index


@cache
def _display_name(code: str) -> str | None:
    preferred = tables().country_display_names.get(code)
    if preferred:
        return preferred
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return None
    name: str = getattr(country, "common_name", None) or country.name
    return name


@lru_cache(maxsize=4096)
def resolve_country(value: str) -> tuple[str | None, str | None]:
    """Return ``(alpha-2 code, display name)`` for a country code or English name.

    A two-letter value is taken as a code when it is one (``CA``); anything else is
    matched as a name. Unknown values give ``(None, None)``: the raw text is still kept
    as ``country_name`` by the caller.
    """
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        code = text.upper()
        name = _display_name(code)
        if name is not None:
            return code, name
    code_for_name = _country_index().get(_fold(text))
    if code_for_name is None:
        return None, None
    return code_for_name, None


def _squash(text: str) -> str:
    """Region key: folded, then letters and digits only ("Hà Nội" and "Hanoi" meet)."""
    return "".join(c for c in _fold(text) if c.isalnum())


@cache
def _region_index(country_code: str) -> dict[str, str]:
    """Squashed region name or code suffix → ISO 3166-2 code, for one country.

    First the GeoIP English names of mappings/region_aliases.toml, then pycountry's
    first-level subdivisions, then the lower levels: GeoIP's ``region`` is the first
    level, so a province that shares its region's name ("Madrid", "Valencia") must not
    take the region's place.
    """
    index: dict[str, str] = {}
    found = pycountry.subdivisions.get(country_code=country_code)  # type: ignore[no-untyped-call]
    subdivisions = sorted(
        found or (), key=lambda item: getattr(item, "parent_code", None) is not None
    )
    known = {subdivision.code for subdivision in subdivisions}
    for name, code in tables().region_aliases.get(country_code, {}).items():
        if code not in known:
            raise MappingTableError(
                f"mappings/region_aliases.toml: {country_code}: {name!r} = {code!r} is not "
                f"an ISO 3166-2 subdivision of {country_code} (pycountry)"
            )
        index[_squash(name)] = code
    for subdivision in subdivisions:
        code = subdivision.code
        index.setdefault(_squash(subdivision.name), code)
        index.setdefault(_squash(code.split("-", 1)[1]), code)
    return index


@lru_cache(maxsize=8192)
def resolve_region(country_code: str, region: str) -> str | None:
    """ISO 3166-2 code for ``region`` inside ``country_code`` ("Ontario" → "CA-ON")."""
    return _region_index(country_code).get(_squash(region))


def valid_coordinates(latitude: Any, longitude: Any) -> bool:
    """Both values are real numbers inside the ranges a ``geo_point`` accepts."""
    for value, bound in ((latitude, 90.0), (longitude, 180.0)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not (math.isfinite(value) and -bound <= value <= bound):
            return False
    return True


_SCALAR_NAME = (str, type(None))
_NUMBER = ("int", "float", "NoneType")


@lru_cache(maxsize=8192)
def place(
    country: Any,
    region: Any,
    city: Any,
    latitude: Any,
    longitude: Any,
    latitude_type: str,
    longitude_type: str,
) -> tuple[tuple[tuple[str, str], ...], bool] | None:
    """Resolve one location: ``(geo name/code pairs, coordinates usable as a geo_point)``.

    Real data repeats a dozen places endlessly, so the answer is cached; the value types
    (by name) are part of the key because ``1``, ``1.0`` and ``True`` are equal as keys
    but not as JSON. Returns None when a value has the wrong type, for the caller's slow path.
    """
    if (
        country.__class__ not in _SCALAR_NAME
        or region.__class__ not in _SCALAR_NAME
        or city.__class__ not in _SCALAR_NAME
        or latitude_type not in _NUMBER
        or longitude_type not in _NUMBER
    ):
        return None
    fields: list[tuple[str, str]] = []
    if city:
        fields.append(("city_name", city))
    code: str | None = None
    if country:
        code, display = resolve_country(country)
        if code is not None and display is not None and country.strip().upper() == code:
            fields.append(("country_name", display))
        else:
            fields.append(("country_name", country))
        if code is not None:
            fields.append(("country_iso_code", code))
    if region:
        fields.append(("region_name", region))
        if code is not None:
            region_code = resolve_region(code, region)
            if region_code is not None:
                fields.append(("region_iso_code", region_code))
    point = (
        latitude is not None and longitude is not None and valid_coordinates(latitude, longitude)
    )
    return tuple(fields), point
