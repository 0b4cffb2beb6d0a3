"""Issue 9, item 16: GeoIP English region names resolve to ISO 3166-2 codes.

1Password's ``location.region`` is a GeoIP English name ("Bavaria"), pycountry's
subdivision names are mostly local ("Bayern"), so mappings/region_aliases.toml bridges
them. These tests check every alias against pycountry, the coverage of first-level
subdivisions for the 30 countries assumed to have the most 1Password customers, and the
common names the issue found unresolved.
"""

from __future__ import annotations

from typing import Any

import pycountry
import pytest

from onepassword_ecs import MappingTableError, normalize
from onepassword_ecs.mapping import _geo
from onepassword_ecs.mapping import _tables as tables_module
from onepassword_ecs.mapping._tables import tables
from records import TORONTO, signin

# An assumption (1Password publishes no per-country figures): its home market, the large
# English-speaking markets, the EU and EEA, and the largest Asian and Latin American ones.
TOP_30 = [
    "US",
    "CA",
    "GB",
    "AU",
    "DE",
    "FR",
    "NL",
    "SE",
    "CH",
    "ES",
    "IT",
    "JP",
    "IN",
    "BR",
    "NZ",
    "IE",
    "BE",
    "AT",
    "DK",
    "NO",
    "FI",
    "PL",
    "SG",
    "MX",
    "ZA",
    "IL",
    "KR",
    "CZ",
    "PT",
    "AR",
]


def _first_level(country: str) -> list[Any]:
    found = pycountry.subdivisions.get(country_code=country)  # type: ignore[no-untyped-call]
    return [item for item in found if getattr(item, "parent_code", None) is None]


def test_every_alias_is_a_real_subdivision_of_its_country() -> None:
    """Each code in region_aliases.toml is a pycountry ISO 3166-2 code of that country,
    and the alias resolves to it (no other name shadows it)."""
    aliases = tables().region_aliases
    assert sum(len(names) for names in aliases.values()) >= 300
    for country, names in aliases.items():
        assert pycountry.countries.get(alpha_2=country) is not None, country
        codes = {item.code for item in pycountry.subdivisions.get(country_code=country)}  # type: ignore[no-untyped-call]
        for name, code in names.items():
            assert code in codes, (country, name, code)
            assert _geo.resolve_region(country, name) == code, (country, name)


@pytest.mark.parametrize("country", TOP_30)
def test_first_level_subdivisions_of_the_top_30_countries_resolve(country: str) -> None:
    """Every first-level subdivision of each of the 30 countries is reached by a name: an
    alias (the GeoIP English name) or pycountry's own name when GeoIP uses that one."""
    names = list(tables().region_aliases.get(country, {})) + [
        item.name for item in _first_level(country)
    ]
    reached = {_geo.resolve_region(country, name) for name in names}
    missing = {item.code for item in _first_level(country)} - reached
    assert not missing, missing


# Common GeoIP English region names: 34, of which only 15 resolved before the table
# (and Madrid went to the province ES-M).
COMMON = [
    ("DE", "Bavaria", "DE-BY"), ("DE", "North Rhine-Westphalia", "DE-NW"),
    ("DE", "Hesse", "DE-HE"), ("DE", "Berlin", "DE-BE"), ("RU", "Moscow", "RU-MOW"),
    ("RU", "St.-Petersburg", "RU-SPE"), ("AT", "Vienna", "AT-9"), ("CZ", "Prague", "CZ-10"),
    ("CN", "Beijing", "CN-BJ"), ("CN", "Shanghai", "CN-SH"), ("CN", "Guangdong", "CN-GD"),
    ("ES", "Catalonia", "ES-CT"), ("ES", "Madrid", "ES-MD"), ("ES", "Andalusia", "ES-AN"),
    ("IT", "Lombardy", "IT-25"), ("IT", "Lazio", "IT-62"), ("GB", "Wales", "GB-WLS"),
    ("GB", "England", "GB-ENG"), ("GB", "Scotland", "GB-SCT"), ("FR", "Île-de-France", "FR-IDF"),
    ("FR", "Brittany", "FR-BRE"), ("NL", "North Holland", "NL-NH"),
    ("NL", "South Holland", "NL-ZH"), ("SE", "Stockholm County", "SE-AB"),
    ("CH", "Zurich", "CH-ZH"), ("CH", "Geneva", "CH-GE"), ("BE", "Flanders", "BE-VLG"),
    ("PL", "Mazovia", "PL-14"), ("JP", "Tokyo", "JP-13"), ("KR", "Seoul", "KR-11"),
    ("US", "California", "US-CA"), ("CA", "Ontario", "CA-ON"),
    ("AU", "New South Wales", "AU-NSW"), ("IN", "Maharashtra", "IN-MH"),
]  # fmt: skip


@pytest.mark.parametrize(("country", "region", "code"), COMMON)
def test_common_geoip_region_names_resolve(country: str, region: str, code: str) -> None:
    """Through the whole mapping: location.region → client.geo.region_iso_code."""
    location = {**TORONTO, "country": country, "region": region}
    geo = normalize(signin(location=location))["client"]["geo"]
    assert geo["region_iso_code"] == code
    assert geo["region_name"] == region


def test_first_level_region_wins_over_a_province_of_the_same_name() -> None:
    """GeoIP's region is the first level: Madrid the community, Valencia the community."""
    assert _geo.resolve_region("ES", "Madrid") == "ES-MD"
    assert _geo.resolve_region("ES", "Valencia") == "ES-VC"


def test_an_alias_to_a_code_pycountry_lacks_fails_naming_the_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A typo in the table is a MappingTableError naming the file, country and entry."""
    real = tables_module.load_table

    def changed(name: str) -> dict[str, Any]:
        data = real(name)
        if name == "region_aliases.toml":
            data["DE"]["Atlantis"] = "DE-XX"
        return data

    monkeypatch.setattr(tables_module, "load_table", changed)
    tables_module.tables.cache_clear()
    _geo._region_index.cache_clear()
    try:
        with pytest.raises(MappingTableError, match=r"region_aliases.toml: DE: 'Atlantis'"):
            _geo._region_index("DE")
    finally:
        monkeypatch.undo()
        tables_module.tables.cache_clear()
        _geo._region_index.cache_clear()
        _geo.resolve_region.cache_clear()
        _geo.place.cache_clear()
        tables_module.tables()


def test_an_alias_code_of_another_country_fails_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tables_module.load_table

    def changed(name: str) -> dict[str, Any]:
        data = real(name)
        if name == "region_aliases.toml":
            data["DE"]["Vienna"] = "AT-9"
        return data

    monkeypatch.setattr(tables_module, "load_table", changed)
    tables_module.tables.cache_clear()
    try:
        with pytest.raises(MappingTableError, match="a code of DE starts with DE-"):
            tables_module.tables()
    finally:
        monkeypatch.undo()
        tables_module.tables.cache_clear()
        tables_module.tables()
