"""index_template(): every field we emit is mapped with its ECS or declared type."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from onepassword_ecs.ecs._fielddefs import emitted_fields, vendor_fields
from onepassword_ecs.ecs._table import ecs_table
from onepassword_ecs.ecs._template import index_template


def mapping_at(template: dict[str, Any], dotted: str) -> dict[str, Any]:
    """The mapping of a dotted field inside template.mappings.properties."""
    node: dict[str, Any] = {"properties": template["template"]["mappings"]["properties"]}
    for part in dotted.split("."):
        assert part in node.get("properties", {}), f"{dotted}: no {part!r} in the template"
        node = node["properties"][part]
    return node


def leaf_paths(properties: dict[str, Any], prefix: str = "") -> set[str]:
    """Every field with a ``type`` in a properties tree."""
    paths: set[str] = set()
    for name, mapping in properties.items():
        path = f"{prefix}{name}"
        if "type" in mapping:
            paths.add(path)
        paths |= leaf_paths(mapping.get("properties", {}), path + ".")
    return paths


def all_types(node: Any) -> set[str]:
    """Every value of a "type" key anywhere in the template (multi-fields included)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "type" and isinstance(value, str):
                found.add(value)
            found |= all_types(value)
    elif isinstance(node, list):
        for item in node:
            found |= all_types(item)
    return found


def test_shape_of_a_composable_template() -> None:
    template = index_template()
    assert template["index_patterns"] == ["logs-1password.*"]
    # Must beat Elasticsearch's built-in logs-*-* template (priority 100).
    assert template["priority"] > 100
    assert template["data_stream"] == {}
    assert template["_meta"]["ecs_version"] == "9.4.0"
    assert template["_meta"]["template_name"] == "logs-1password"
    assert set(template["template"]) == {"mappings"}


def test_name_and_pattern_are_used() -> None:
    template = index_template(name="op-test", pattern="op-*")
    assert template["index_patterns"] == ["op-*"]
    assert template["_meta"]["template_name"] == "op-test"


def test_every_emitted_ecs_field_has_its_ecs_type() -> None:
    template = index_template()
    fields = ecs_table().fields
    for name in emitted_fields():
        assert mapping_at(template, name)["type"] == fields[name].type, name


def test_every_declared_vendor_field_has_its_declared_type() -> None:
    template = index_template()
    for name, spec in vendor_fields().items():
        assert mapping_at(template, name)["type"] == spec.type, name


def test_template_maps_exactly_the_emitted_and_declared_fields() -> None:
    properties = index_template()["template"]["mappings"]["properties"]
    assert leaf_paths(properties) == set(emitted_fields()) | set(vendor_fields())


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("@timestamp", {"type": "date"}),
        ("client.ip", {"type": "ip"}),
        ("source.ip", {"type": "ip"}),
        ("related.ip", {"type": "ip"}),
        ("client.geo.location", {"type": "geo_point"}),
        ("source.geo.location", {"type": "geo_point"}),
        ("message", {"type": "match_only_text"}),
        ("event.action", {"type": "keyword", "ignore_above": 1024}),
        ("event.original", {"type": "keyword", "index": False, "doc_values": False}),
        (
            "user.name",
            {
                "type": "keyword",
                "ignore_above": 1024,
                "fields": {"text": {"type": "match_only_text"}},
            },
        ),
        ("onepassword.aux_id", {"type": "long"}),
        ("onepassword.object_type", {"type": "keyword", "ignore_above": 1024}),
        ("onepassword.session.login_time", {"type": "date"}),
        ("onepassword.location.latitude", {"type": "float"}),
        ("onepassword.malformed", {"type": "flattened", "ignore_above": 1024}),
    ],
)
def test_field_mappings(field: str, expected: dict[str, Any]) -> None:
    assert mapping_at(index_template(), field) == expected


def test_undeclared_vendor_strings_become_keywords() -> None:
    dynamic = index_template()["template"]["mappings"]["dynamic_templates"]
    rules = [rule for entry in dynamic for rule in entry.values()]
    assert {
        "path_match": "onepassword.*",
        "match_mapping_type": "string",
        "mapping": {"type": "keyword", "ignore_above": 1024},
    } in rules


def test_opensearch_swaps_types_it_lacks() -> None:
    template = index_template(flavor="opensearch")
    assert mapping_at(template, "message") == {"type": "text"}
    assert mapping_at(template, "onepassword.malformed") == {"type": "flat_object"}
    assert mapping_at(template, "user.name")["fields"] == {"text": {"type": "text"}}
    assert mapping_at(template, "client.ip") == {"type": "ip"}
    assert mapping_at(template, "client.geo.location") == {"type": "geo_point"}
    types = all_types(template)
    assert not types & {"match_only_text", "flattened", "constant_keyword"}
    # Same shape as the Elasticsearch flavor.
    elastic = index_template()
    assert set(template) == set(elastic)
    assert leaf_paths(template["template"]["mappings"]["properties"]) == leaf_paths(
        elastic["template"]["mappings"]["properties"]
    )


def test_elasticsearch_flavor_keeps_its_own_types() -> None:
    types = all_types(index_template(flavor="elasticsearch"))
    assert {"match_only_text", "flattened"} <= types
    assert not types & {"text", "flat_object"}


@pytest.mark.parametrize("flavor", ["solr", "Elasticsearch", ""])
def test_unknown_flavor_is_rejected(flavor: str) -> None:
    with pytest.raises(ValueError, match="flavor must be one of elasticsearch, opensearch"):
        index_template(flavor=flavor)


@pytest.mark.parametrize(("name", "pattern"), [("", "logs-*"), ("x", " ")])
def test_empty_name_or_pattern_is_rejected(name: str, pattern: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        index_template(name=name, pattern=pattern)


def test_template_is_json_deterministic_and_fresh_each_call() -> None:
    first = index_template()
    assert orjson.dumps(first) == orjson.dumps(index_template())
    first["template"]["mappings"]["properties"].clear()
    assert index_template()["template"]["mappings"]["properties"]
