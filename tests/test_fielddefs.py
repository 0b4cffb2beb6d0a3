"""The committed ECS table and the field declaration tables in mappings/.

These tests need nothing outside the repository: the ECS table is checked for
its pinned provenance here, and against its source with
``python scripts/build_ecs_table.py --check``.
"""

from __future__ import annotations

import pytest

from onepassword_ecs import MappingTableError
from onepassword_ecs.ecs._fielddefs import (
    emitted_fields,
    parse_emitted_fields,
    parse_vendor_fields,
    vendor_fields,
)
from onepassword_ecs.ecs._table import ecs_table

PINNED_SHA256 = "f2c78b7c68503d42f5713ebea63fbfafbbeb7056f0d3ec7208c9cc2202ba7d8f"
PINNED_COMMIT = "354fd8d0ca99faa15405d1ea1d3bb396724d3e5a"

# --- the generated ECS table -------------------------------------------------------


def test_committed_ecs_table_is_the_pinned_ecs_9_4_0() -> None:
    table = ecs_table()
    assert table.ecs_version == "9.4.0"
    assert table.source_sha256 == PINNED_SHA256
    assert table.source_commit == PINNED_COMMIT


def test_ecs_table_has_the_facts_the_checks_rely_on() -> None:
    fields = ecs_table().fields
    assert len(fields) > 2000
    assert fields["@timestamp"].type == "date" and fields["@timestamp"].required
    assert fields["ecs.version"].required
    assert fields["client.ip"].type == "ip"
    assert fields["client.geo.location"].type == "geo_point"
    assert fields["related.ip"].array and not fields["client.ip"].array
    assert fields["event.category"].array and not fields["event.kind"].array
    assert fields["event.outcome"].allowed == ("failure", "success", "unknown")
    assert "pipeline_error" in (fields["event.kind"].allowed or ())
    assert fields["event.action"].ignore_above == 1024
    assert not fields["event.original"].index and not fields["event.original"].doc_values
    assert fields["labels"].object_type == "keyword"
    expected = ecs_table().expected_event_types
    assert expected["authentication"] == ("start", "end", "info")
    assert "device" not in set().union(*expected.values())


# --- onepassword_fields.toml ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "type_"),
    [
        ("onepassword.object_type", "keyword"),
        ("onepassword.session.uuid", "keyword"),
        ("onepassword.client.app_version", "keyword"),
        ("onepassword.aux_id", "long"),
        ("onepassword.used_version", "long"),
        ("onepassword.session.login_time", "date"),
        ("onepassword.location.latitude", "float"),
        ("onepassword.location.longitude", "float"),
        ("onepassword.malformed", "flattened"),
    ],
)
def test_shipped_vendor_fields(name: str, type_: str) -> None:
    assert vendor_fields()[name].type == type_


def test_shipped_vendor_fields_are_described_and_not_uuid() -> None:
    fields = vendor_fields()
    assert "onepassword.uuid" not in fields  # the event uuid goes to event.id
    for name, spec in fields.items():
        assert name.startswith("onepassword.")
        assert spec.description.strip() and "\n" not in spec.description


def test_shipped_vendor_fields_are_read_only() -> None:
    with pytest.raises(TypeError):
        vendor_fields()["onepassword.x"] = vendor_fields()["onepassword.type"]  # type: ignore[index]


GOOD_ENTRY = '[fields."onepassword.a"]\ntype = "keyword"\ndescription = "A thing."\n'


def test_parse_vendor_fields_accepts_a_good_table() -> None:
    parsed = parse_vendor_fields(
        GOOD_ENTRY + '[fields."onepassword.b"]\ntype = "object"\ndescription = "Group."\n'
        '[fields."onepassword.b.c"]\ntype = "long"\ndescription = "Count."\n'
    )
    assert {name: spec.type for name, spec in parsed.items()} == {
        "onepassword.a": "keyword",
        "onepassword.b": "object",
        "onepassword.b.c": "long",
    }


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('[fields."onepassword.a"\n', ["not valid TOML"]),
        (GOOD_ENTRY.replace("keyword", "string"), ["fields.onepassword.a.type"]),
        ('[fields."onepassword.a"]\ntype = "keyword"\n', ["fields.onepassword.a.description"]),
        (GOOD_ENTRY.replace("A thing.", "  "), ["fields.onepassword.a.description"]),
        (GOOD_ENTRY.replace("A thing.", "two\\nlines"), ["fields.onepassword.a.description"]),
        (GOOD_ENTRY + "index = false\n", ["fields.onepassword.a.index"]),
        (GOOD_ENTRY + "[other]\nx = 1\n", ["other"]),
        (GOOD_ENTRY.replace("onepassword.a", "okta.a"), ["'okta.a'", "onepassword.<segment>"]),
        (GOOD_ENTRY.replace("onepassword.a", "onepassword.Aa"), ["'onepassword.Aa'"]),
        (GOOD_ENTRY.replace("onepassword.a", "onepassword"), ["'onepassword'"]),
        (
            GOOD_ENTRY + '[fields."onepassword.a.b"]\ntype = "long"\ndescription = "x"\n',
            ["'onepassword.a'", "'onepassword.a.b'", "must be an object"],
        ),
    ],
)
def test_parse_vendor_fields_names_file_and_entry(text: str, fragments: list[str]) -> None:
    with pytest.raises(MappingTableError) as caught:
        parse_vendor_fields(text)
    message = str(caught.value)
    assert message.startswith("mappings/onepassword_fields.toml: ")
    for fragment in fragments:
        assert fragment in message


# --- emitted_fields.toml -------------------------------------------------------------


def test_shipped_emitted_fields_are_ecs_fields() -> None:
    names = emitted_fields()
    assert names[:2] == ("@timestamp", "ecs.version")
    assert {"client.ip", "source.geo.location", "related.user", "event.original"} <= set(names)
    assert all(name in ecs_table().fields for name in names)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('fields = ["user.name", "user.name"]', ["'user.name' is listed twice"]),
        ('fields = ["user.nmae"]', ["'user.nmae'", "no such field"]),
        ('fields = ["onepassword.type"]', ["'onepassword.type'", "onepassword_fields.toml"]),
        ('fields = "user.name"', ["fields"]),
        ("fields = [1]", ["fields.0"]),
        ('names = ["user.name"]', ["fields", "names"]),
    ],
)
def test_parse_emitted_fields_names_file_and_entry(text: str, fragments: list[str]) -> None:
    with pytest.raises(MappingTableError) as caught:
        parse_emitted_fields(text)
    message = str(caught.value)
    assert message.startswith("mappings/emitted_fields.toml: ")
    for fragment in fragments:
        assert fragment in message
