"""index_template(): every field we emit is mapped with its ECS or declared type, and
the template sits beside Elastic's own 1Password integration without clashing with it."""

from __future__ import annotations

import functools
import io
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import Dataset, normalize
from onepassword_ecs.cli import main
from onepassword_ecs.ecs import (
    TEMPLATE_NAME,
    TEMPLATE_PATTERN,
    data_stream_name,
    namespace_problem,
)
from onepassword_ecs.ecs._fielddefs import emitted_fields, vendor_fields
from onepassword_ecs.ecs._table import ecs_table
from onepassword_ecs.ecs._template import index_template
from onepassword_ecs.golden import discover_cases

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = [case for case in discover_cases([FIXTURES]) if case.has_expected]

# What Elasticsearch ships or Fleet installs that also matches logs-* names: the
# built-in logs-*-* template, the OpenTelemetry one, and Elastic's 1Password
# integration (one template per dataset, priority 200).
BUILT_IN_TEMPLATES = {"logs": ("logs-*-*", 100), "logs-otel@template": ("logs-*.otel-*", 120)}
ELASTIC_1PASSWORD_TEMPLATES = {
    f"logs-1password.{dataset.value}": (f"logs-1password.{dataset.value}-*", 200)
    for dataset in Dataset
}


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


def patterns_overlap(first: str, second: str) -> bool:
    """Whether some index name matches both ``*`` patterns (what Elasticsearch checks
    before it accepts a template: overlapping patterns may not share a priority)."""

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i] == "*":
            return meet(i + 1, j) or (j < len(second) and meet(i, j + 1))
        if j < len(second) and second[j] == "*":
            return meet(i, j + 1) or (i < len(first) and meet(i + 1, j))
        return i < len(first) and j < len(second) and first[i] == second[j] and meet(i + 1, j + 1)

    return meet(0, 0)


def test_overlap_checker_agrees_with_elasticsearch_examples() -> None:
    assert patterns_overlap("logs-1password.*", "logs-1password.audit_events-*")
    assert patterns_overlap("logs-*-*", "logs-1password_ecs.*-*")
    assert patterns_overlap("logs-*.otel-*", "logs-1password_ecs.*-*")
    assert not patterns_overlap("logs-1password_ecs.*-*", "logs-1password.signin_attempts-*")
    assert not patterns_overlap("metrics-*-*", "logs-*")


def test_shape_of_a_composable_template() -> None:
    template = index_template()
    assert template["index_patterns"] == ["logs-1password_ecs.*-*"] == [TEMPLATE_PATTERN]
    assert template["data_stream"] == {}
    assert template["composed_of"] == ["logs@mappings", "logs@settings"]
    assert template["_meta"]["ecs_version"] == "9.4.0"
    assert template["_meta"]["template_name"] == "logs-1password_ecs" == TEMPLATE_NAME
    assert set(template["template"]) == {"mappings"}


def test_installs_beside_elastic_integration_without_overlap_or_takeover() -> None:
    """Elasticsearch refuses a template whose patterns overlap another's at the same
    priority; a higher priority over Elastic's patterns would take its streams over.
    Ours overlaps none of the integration's templates, and would lose to them if a
    user widened the pattern; it beats the built-in templates that match its streams.
    """
    template = index_template()
    [pattern] = template["index_patterns"]
    priority = template["priority"]
    for name, (theirs, their_priority) in ELASTIC_1PASSWORD_TEMPLATES.items():
        assert not patterns_overlap(pattern, theirs), name
        assert priority < their_priority, name
    for name, (theirs, their_priority) in BUILT_IN_TEMPLATES.items():
        assert patterns_overlap(pattern, theirs), name
        assert priority > their_priority, name
    assert template["_meta"]["template_name"] not in ELASTIC_1PASSWORD_TEMPLATES


@pytest.mark.parametrize("dataset", list(Dataset))
def test_documents_name_a_stream_this_template_matches(dataset: Dataset) -> None:
    """The stream a document names (data_stream.*) is ours, never the integration's."""
    case = next(case for case in GOLDEN if case.name.startswith(dataset.value + "/"))
    document = normalize(case.raw_path.read_bytes(), data_stream_namespace="prod")
    fields = document["data_stream"]
    stream = f"{fields['type']}-{fields['dataset']}-{fields['namespace']}"
    assert stream == data_stream_name(dataset.value, "prod")
    assert stream == f"logs-1password_ecs.{dataset.value}-prod"
    assert fnmatchcase(stream, TEMPLATE_PATTERN)
    assert not any(fnmatchcase(stream, p) for p, _ in ELASTIC_1PASSWORD_TEMPLATES.values())
    # event.dataset keeps Elastic's value, so rules written for the integration match.
    assert document["event"]["dataset"] == f"1password.{dataset.value}"


def test_logs_components_are_optional_and_never_on_opensearch() -> None:
    assert "composed_of" not in index_template(logs_components=False)
    assert "composed_of" not in index_template(flavor="opensearch")
    assert "composed_of" not in index_template(flavor="opensearch", logs_components=True)


@pytest.mark.parametrize(
    "namespace", ["", "has-dash", "Upper", "a b", "a*b", "x" * 101, "tab\there", "a:b"]
)
def test_bad_namespaces_are_explained(namespace: str) -> None:
    assert namespace_problem(namespace)


@pytest.mark.parametrize("namespace", ["default", "prod", "team_a", "eu.west", "x" * 100])
def test_good_namespaces_pass(namespace: str) -> None:
    assert namespace_problem(namespace) is None


def test_name_and_pattern_are_used() -> None:
    template = index_template(name="op-test", pattern="op-*")
    assert template["index_patterns"] == ["op-*"]
    assert template["_meta"]["template_name"] == "op-test"


def test_every_declared_vendor_field_has_its_declared_type() -> None:
    template = index_template()
    for name, spec in vendor_fields().items():
        assert mapping_at(template, name)["type"] == spec.type, name


def test_template_maps_exactly_the_emitted_and_declared_fields() -> None:
    properties = index_template()["template"]["mappings"]["properties"]
    assert leaf_paths(properties) == set(emitted_fields()) | set(vendor_fields())


def test_every_emitted_ecs_field_has_its_ecs_type() -> None:
    """ECS types, except where the template deliberately differs (@timestamp)."""
    template = index_template()
    fields = ecs_table().fields
    for name in emitted_fields():
        wanted = "date_nanos" if name == "@timestamp" else fields[name].type
        assert mapping_at(template, name)["type"] == wanted, name


@pytest.mark.parametrize("flavor", ["elasticsearch", "opensearch"])
def test_timestamp_keeps_nanoseconds(flavor: str) -> None:
    assert mapping_at(index_template(flavor=flavor), "@timestamp") == {"type": "date_nanos"}


def test_data_stream_fields_are_constant_keywords() -> None:
    template = index_template()
    for part in ("type", "dataset", "namespace"):
        assert mapping_at(template, f"data_stream.{part}") == {"type": "constant_keyword"}


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("@timestamp", {"type": "date_nanos"}),
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


def dynamic_rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    dynamic = template["template"]["mappings"]["dynamic_templates"]
    return [rule for entry in dynamic for rule in entry.values()]


@pytest.mark.parametrize("flavor", ["elasticsearch", "opensearch"])
def test_every_undeclared_vendor_leaf_becomes_a_keyword(flavor: str) -> None:
    """Strings, whole numbers, decimals, booleans and date-like strings under
    onepassword.* all map to keyword, so a field that is a number in one record and a
    string in the next cannot conflict; objects are not matched (they stay objects)."""
    rules = dynamic_rules(index_template(flavor=flavor))
    by_type = {rule["match_mapping_type"]: rule for rule in rules}
    assert set(by_type) == {"string", "long", "double", "boolean", "date"}
    for rule in rules:
        assert rule["path_match"] == "onepassword.*"
        assert rule["mapping"] == {"type": "keyword", "ignore_above": 1024}
        assert set(rule) == {"path_match", "match_mapping_type", "mapping"}


def _json_kind(value: Any) -> str:
    """The match_mapping_type Elasticsearch gives a JSON leaf value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "string"


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and not prefix.endswith(".geo.location"):  # a geo_point
        return [
            leaf
            for key, item in value.items()
            for leaf in _leaves(item, f"{prefix}.{key}" if prefix else key)
        ]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item, prefix)]
    return [(prefix, value)]


def _typed_by(template: dict[str, Any], path: str, value: Any) -> str | None:
    """The type the template gives ``path`` holding ``value``, or None when it does not."""
    properties = template["template"]["mappings"]["properties"]
    node: dict[str, Any] = {"properties": properties}
    for part in path.split("."):
        child = node.get("properties", {}).get(part)
        if child is None:
            break
        node = child
        if node.get("type") == "flattened":
            return "flattened"  # one field, whatever lies beneath
    else:
        return str(node["type"]) if "type" in node else None
    for rule in dynamic_rules(template):
        if fnmatchcase(path, rule["path_match"]) and rule["match_mapping_type"] == _json_kind(
            value
        ):
            return str(rule["mapping"]["type"])
    return None


def test_every_golden_document_with_its_data_stream_is_typed_by_the_template() -> None:
    """Each leaf of each golden output (plus data_stream.*) has an explicit mapping or,
    under onepassword.*, a dynamic rule for its JSON type: nothing is left to guessing."""
    template = index_template()
    untyped: list[str] = []
    for case in GOLDEN:
        document = normalize(case.raw_path.read_bytes(), data_stream_namespace="default")
        assert {k: v for k, v in document.items() if k != "data_stream"} == orjson.loads(
            case.expected_path.read_bytes()
        )
        for path, value in _leaves(document):
            if _typed_by(template, path, value) is None:
                untyped.append(f"{case.name}: {path}")
    assert len(GOLDEN) >= 60
    assert not untyped, "\n".join(untyped)


@pytest.mark.parametrize(
    ("value", "expected"), [("x", "keyword"), (42, "keyword"), (1.5, "keyword"), (True, "keyword")]
)
def test_a_new_vendor_field_of_any_type_is_typed(value: Any, expected: str) -> None:
    assert _typed_by(index_template(), "onepassword.new.thing", value) == expected


def test_opensearch_swaps_types_it_lacks() -> None:
    template = index_template(flavor="opensearch")
    assert mapping_at(template, "message") == {"type": "text"}
    assert mapping_at(template, "onepassword.malformed") == {"type": "flat_object"}
    assert mapping_at(template, "user.name")["fields"] == {"text": {"type": "text"}}
    assert mapping_at(template, "client.ip") == {"type": "ip"}
    assert mapping_at(template, "client.geo.location") == {"type": "geo_point"}
    types = all_types(template)
    assert not types & {"match_only_text", "flattened", "constant_keyword"}
    # Same shape as the Elasticsearch flavor, less the logs@ components.
    elastic = index_template()
    assert set(template) == set(elastic) - {"composed_of"}
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


@pytest.mark.parametrize(
    ("argv", "composed"),
    [
        ([], ["logs@mappings", "logs@settings"]),
        (["--no-logs-components"], None),
        (["--flavor", "opensearch"], None),
    ],
)
def test_cli_template_prints_the_library_template(argv: list[str], composed: Any) -> None:
    out = io.BytesIO()
    assert main(["template", *argv], stdout=out, stderr=io.StringIO()) == 0
    printed = orjson.loads(out.getvalue())
    assert printed.get("composed_of") == composed
    assert printed["index_patterns"] == ["logs-1password_ecs.*-*"]
    assert printed["priority"] == 150
