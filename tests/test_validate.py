"""validate(): clean documents pass, and each rule catches the fault it is for.

Every failing case starts from a clean document and breaks one thing, then
asserts where the problem is reported and what the message says, so a rule
that stops firing (or fires somewhere else) fails a test.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import subprocess
import sys
from typing import Any

import pytest

from onepassword_ecs import Problem, validate
from onepassword_ecs.ecs._validate import MAX_DEPTH, MAX_TERM_BYTES


def clean_doc() -> dict[str, Any]:
    """A sign-in-like document using most kinds of field we emit."""
    return {
        "@timestamp": "2024-01-02T03:04:05.000Z",
        "ecs": {"version": "9.4.0"},
        "message": "Alice signed in",
        "tags": ["preserve_original_event"],
        "event": {
            "kind": "event",
            "category": ["authentication"],
            "type": ["start"],
            "outcome": "success",
            "action": "success",
            "dataset": "1password.signin_attempts",
            "module": "1password",
            "id": "56YE2TYN2VFYRLNSHKPW5NVT5E",
            "original": '{"uuid": "56YE2TYN2VFYRLNSHKPW5NVT5E"}',
        },
        "user": {"id": "UUID1", "email": "alice@example.com", "full_name": "Alice"},
        "source": {
            "address": "192.0.2.10",
            "ip": "192.0.2.10",
            "geo": {
                "country_iso_code": "CA",
                "region_iso_code": "CA-ON",
                "city_name": "Toronto",
                "location": {"lat": 43.64, "lon": -79.433},
            },
        },
        "host": {"id": "DEVICE1", "os": {"name": "MacOSX", "version": "10.15.6"}},
        "related": {"ip": ["192.0.2.10", "2001:db8::1"], "user": ["UUID1", "alice@example.com"]},
        "onepassword": {
            "type": "credentials_ok",
            "session_uuid": "SESSION1",
            "client": {"app_name": "1Password Extension", "app_version": "20127"},
            "aux_id": 4123,
            "session": {"login_time": "2024-01-02T03:00:00+01:00"},
            "location": {"latitude": 123.5},
            "malformed": {"$.client.ip_address": '"not an ip"'},
        },
    }


def with_value(path: str, value: Any, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of the clean document with ``value`` at the dotted ``path``."""
    result = copy.deepcopy(clean_doc() if doc is None else doc)
    *parents, leaf = path.split(".")
    node = result
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return result


def without(path: str) -> dict[str, Any]:
    result = clean_doc()
    *parents, leaf = path.split(".")
    node = result
    for part in parents:
        node = node[part]
    del node[leaf]
    return result


def only_problem(doc: Any) -> Problem:
    problems = validate(doc)
    assert len(problems) == 1, problems
    return problems[0]


# --- clean documents ---------------------------------------------------------------


def test_clean_document_has_no_problems() -> None:
    assert validate(clean_doc()) == []


def test_iam_document_with_types_from_two_categories_is_clean() -> None:
    doc = with_value("event.category", ["iam", "configuration"])
    doc = with_value("event.type", ["user", "change", "access"], doc)
    doc = with_value("user.target", {"id": "UUID2", "group": {"id": "G1"}}, doc)
    assert validate(doc) == []


def test_event_type_without_category_is_not_restricted() -> None:
    doc = without("event.category")
    doc = with_value("event.type", ["creation"], doc)
    assert validate(doc) == []


def test_undeclared_onepassword_fields_pass_through() -> None:
    doc = with_value("onepassword.new_thing", {"score": 3, "labels": ["a", "b"], "ok": True})
    assert validate(doc) == []


def test_tuples_count_as_arrays_and_boundaries_are_inclusive() -> None:
    doc = with_value("related.user", ("UUID1",))
    doc = with_value("onepassword.big", 2**63 - 1, doc)
    doc = with_value("onepassword.small", -(2**63), doc)
    doc = with_value("source.geo.location", {"lat": -90, "lon": 180}, doc)
    doc = with_value("user.name", "x" * MAX_TERM_BYTES, doc)
    assert validate(doc) == []


def test_dates_accept_offsets_and_nanoseconds() -> None:
    doc = with_value("@timestamp", "2024-02-29T23:59:59.123456789-05:30")
    assert validate(doc) == []


# --- document shape ----------------------------------------------------------------


def test_non_mapping_document() -> None:
    problem = only_problem(["not", "a", "dict"])
    assert problem.path == ""
    assert "expected a JSON object" in problem.message


def test_dotted_key_is_reported() -> None:
    doc = clean_doc()
    doc["client.ip"] = "192.0.2.1"
    problem = only_problem(doc)
    assert problem.path == "client.ip"
    assert "contains a dot" in problem.message


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "empty key"),
        (" padded", "whitespace"),
        ("trailing\t", "whitespace"),
        ("___", "only of underscores"),
        (7, "keys must be strings"),
    ],
)
def test_bad_keys_under_onepassword(key: Any, fragment: str) -> None:
    doc = clean_doc()
    doc["onepassword"][key] = "value"
    problem = only_problem(doc)
    assert problem.path == f"onepassword.{key}"
    assert fragment in problem.message


def test_unknown_field_is_reported() -> None:
    problem = only_problem(with_value("user.nmae", "alice"))
    assert problem.path == "user.nmae"
    assert "not an ECS 9.4.0 field" in problem.message


def test_unknown_top_level_object_is_reported_once() -> None:
    problem = only_problem(with_value("vendor", {"a": 1, "b": {"c": 2}}))
    assert problem.path == "vendor"
    assert "onepassword.*" in problem.message


def test_field_set_given_a_scalar() -> None:
    problem = only_problem(with_value("host", "laptop"))
    assert problem.path == "host"
    assert "expected an object holding host.* fields" in problem.message


def _chain(levels: int) -> Any:
    """onepassword.l2.l3...: a leaf at depth ``levels``."""
    value: Any = "leaf"
    for level in range(levels, 1, -1):
        value = {f"l{level}": value}
    return value


def test_depth_limit() -> None:
    at_limit = clean_doc()
    at_limit["onepassword"] = _chain(MAX_DEPTH)
    assert validate(at_limit) == []

    too_deep = clean_doc()
    too_deep["onepassword"] = _chain(MAX_DEPTH + 1)
    problem = only_problem(too_deep)
    assert problem.path == "onepassword." + ".".join(f"l{n}" for n in range(2, MAX_DEPTH + 2))
    assert f"{MAX_DEPTH + 1} levels deep" in problem.message


# --- arrays of untyped values ------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        ([{"a": "b"}, "c"], "objects and strings"),
        (["a", 1], "numbers and strings"),
        (["a", True], "booleans and strings"),
        ([1, False], "booleans and numbers"),
        ([["a"], [2]], "numbers and strings"),
    ],
)
def test_mixed_arrays_under_onepassword(values: list[Any], kinds: str) -> None:
    problem = only_problem(with_value("onepassword.mixed", values))
    assert problem.path == "onepassword.mixed"
    assert f"array mixes {kinds}" in problem.message


def test_flattened_allows_dotted_keys_and_mixed_arrays() -> None:
    doc = with_value("onepassword.malformed", {"$.client.ip": ["1", 2], "a": {"b.c": "d"}})
    assert validate(doc) == []


def test_integer_out_of_64_bits_under_onepassword() -> None:
    problem = only_problem(with_value("onepassword.counter", 2**63))
    assert problem.path == "onepassword.counter"
    assert "signed 64-bit" in problem.message


def test_non_finite_float_under_onepassword() -> None:
    problem = only_problem(with_value("onepassword.ratio", float("inf")))
    assert problem.path == "onepassword.ratio"
    assert "finite" in problem.message


def test_non_json_value() -> None:
    problem = only_problem(with_value("onepassword.when", datetime.date(2024, 1, 2)))
    assert problem.path == "onepassword.when"
    assert "not a JSON value" in problem.message


def test_long_string_under_onepassword_is_accepted() -> None:
    """The template maps undeclared onepassword.* strings with ignore_above: never refused."""
    assert validate(with_value("onepassword.blob", "x" * (MAX_TERM_BYTES + 1))) == []


# --- nulls and empties -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "where", "fragment"),
    [
        ("user.name", None, "user.name", "null value"),
        ("onepassword.extra", None, "onepassword.extra", "null value"),
        ("related.user", ["UUID1", None], "related.user[1]", "null value"),
        ("related.user", [], "related.user", "empty array"),
        ("onepassword.list", [], "onepassword.list", "empty array"),
        ("user", {}, "user", "empty object"),
        ("onepassword.nested", {"inner": {}}, "onepassword.nested.inner", "empty object"),
        ("onepassword.malformed", {}, "onepassword.malformed", "empty object"),
    ],
)
def test_nulls_and_empties(path: str, value: Any, where: str, fragment: str) -> None:
    problem = only_problem(with_value(path, value))
    assert problem.path == where
    assert fragment in problem.message


# --- value types -------------------------------------------------------------------


def test_keyword_must_be_a_string() -> None:
    problem = only_problem(with_value("user.id", 42))
    assert problem.path == "user.id"
    assert problem.message == "expected a string (keyword), got a number (42)"


def test_match_only_text_must_be_a_string() -> None:
    problem = only_problem(with_value("message", {"text": "a"}))
    assert problem.path == "message"
    assert "expected a string (match_only_text)" in problem.message


def test_keyword_longer_than_a_term_is_accepted_with_ignore_above() -> None:
    """ECS keywords carry ignore_above 1024: a value past Lucene's term limit (counted in
    UTF-8 bytes) is stored but not indexed, so the document is not refused."""
    assert validate(with_value("user.full_name", "é" * 16384)) == []


def test_unindexed_keyword_has_no_term_limit() -> None:
    # event.original is index:false, doc_values:false, so it holds any size.
    assert validate(with_value("event.original", "x" * (MAX_TERM_BYTES * 2))) == []


def test_lone_surrogate_is_reported() -> None:
    problem = only_problem(with_value("user.name", "bad \ud800"))
    assert problem.path == "user.name"
    assert "lone surrogate" in problem.message


def test_ip_must_be_an_address() -> None:
    problem = only_problem(with_value("source.ip", "abc"))
    assert problem.path == "source.ip"
    assert problem.message == "expected an IPv4/IPv6 address, got 'abc'"


def test_ip_with_zone_id() -> None:
    problem = only_problem(with_value("source.ip", "fe80::1%eth0"))
    assert problem.path == "source.ip"
    assert "zone id" in problem.message


def test_ip_array_element_is_named_by_index() -> None:
    problem = only_problem(with_value("related.ip", ["192.0.2.1", "999.0.0.1"]))
    assert problem.path == "related.ip[1]"
    assert "'999.0.0.1'" in problem.message


def test_ip_must_be_a_string() -> None:
    problem = only_problem(with_value("source.ip", 3232235777))
    assert problem.path == "source.ip"
    assert "address string" in problem.message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2024-01-02 03:04:05Z", "RFC 3339"),
        ("2024-01-02T03:04:05", "RFC 3339"),
        ("2024-01-02", "RFC 3339"),
        ("2024-01-02t03:04:05z", "RFC 3339"),
        ("2024-01-02T03:04:05.1234567890Z", "RFC 3339"),
        (1704164645000, "RFC 3339"),
        ("2023-02-29T00:00:00Z", "not a real date"),
        ("2024-01-02T24:00:00Z", "not a real date"),
        ("2024-01-02T03:04:05+19:00", "beyond ±18:00"),
    ],
)
def test_bad_dates(value: Any, fragment: str) -> None:
    problem = only_problem(with_value("@timestamp", value))
    assert problem.path == "@timestamp"
    assert fragment in problem.message


def test_declared_vendor_date_is_checked() -> None:
    problem = only_problem(with_value("onepassword.session.login_time", "yesterday"))
    assert problem.path == "onepassword.session.login_time"
    assert "got 'yesterday'" in problem.message


@pytest.mark.parametrize(
    ("value", "where", "fragment"),
    [
        ({"lat": 91, "lon": 0}, "source.geo.location.lat", "[-90, 90]"),
        ({"lat": 0, "lon": -180.5}, "source.geo.location.lon", "[-180, 180]"),
        ({"lat": True, "lon": 0}, "source.geo.location.lat", "expected a number"),
        ({"lat": "1", "lon": 0}, "source.geo.location.lat", "expected a number"),
        ({"lat": float("nan"), "lon": 0}, "source.geo.location.lat", "[-90, 90]"),
        ({"lat": 1}, "source.geo.location", "exactly the keys lat and lon"),
        ({"lat": 1, "lon": 2, "alt": 3}, "source.geo.location", "exactly the keys lat and lon"),
        ("43.64,-79.433", "source.geo.location", "geo_point object"),
    ],
)
def test_bad_geo_points(value: Any, where: str, fragment: str) -> None:
    problem = only_problem(with_value("source.geo.location", value))
    assert problem.path == where
    assert fragment in problem.message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("12", "expected an integer (long), got '12'"),
        (True, "expected an integer (long), got a boolean (true)"),
        (1.5, "expected an integer (long)"),
        (2**63, "signed 64-bit range of long"),
        (-(2**63) - 1, "signed 64-bit range of long"),
    ],
)
def test_bad_longs(value: Any, fragment: str) -> None:
    problem = only_problem(with_value("onepassword.aux_id", value))
    assert problem.path == "onepassword.aux_id"
    assert fragment in problem.message


def test_integer_fields_are_32_bit() -> None:
    ok = with_value("gen_ai.request.max_tokens", 2**31 - 1)
    assert validate(ok) == []
    problem = only_problem(with_value("gen_ai.request.max_tokens", 2**31))
    assert problem.path == "gen_ai.request.max_tokens"
    assert "32-bit" in problem.message


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("onepassword.location.latitude", "12.5", "expected a number (float)"),
        ("onepassword.location.latitude", False, "expected a number (float)"),
        ("onepassword.location.latitude", float("nan"), "finite"),
        ("onepassword.location.latitude", 1e39, "32-bit float"),
        ("gen_ai.request.temperature", float("-inf"), "finite"),
        ("gen_ai.request.temperature", 10**400, "finite"),
    ],
)
def test_bad_floats(path: str, value: Any, fragment: str) -> None:
    problem = only_problem(with_value(path, value))
    assert problem.path == path
    assert fragment in problem.message


def test_boolean_must_be_a_bool() -> None:
    problem = only_problem(with_value("dll.code_signature.trusted", "true"))
    assert problem.path == "dll.code_signature.trusted"
    assert "expected a boolean" in problem.message


def test_flattened_must_be_an_object() -> None:
    problem = only_problem(with_value("onepassword.malformed", "x"))
    assert problem.path == "onepassword.malformed"
    assert "expected an object (flattened field)" in problem.message


def test_object_field_must_be_an_object_and_labels_hold_keywords() -> None:
    problem = only_problem(with_value("labels", "env=prod"))
    assert problem.path == "labels"
    assert "expected an object (object field)" in problem.message

    assert validate(with_value("labels", {"env": "prod"})) == []
    problem = only_problem(with_value("labels", {"env": 1}))
    assert problem.path == "labels.env"
    assert "expected a string (keyword)" in problem.message


def test_nested_field_paths_carry_the_index() -> None:
    enrichments = [{"indicator": {"ip": "192.0.2.1"}}, {"indicator": {"ip": "nope"}}]
    problem = only_problem(with_value("threat.enrichments", enrichments))
    assert problem.path == "threat.enrichments[1].indicator.ip"
    assert "IPv4/IPv6" in problem.message


def test_declared_vendor_keyword_is_checked() -> None:
    problem = only_problem(with_value("onepassword.object_type", {"code": "gm"}))
    assert problem.path == "onepassword.object_type"
    assert "expected a string (keyword)" in problem.message


# --- arrays and single values ------------------------------------------------------


def test_array_field_given_a_single_value() -> None:
    problem = only_problem(with_value("related.ip", "192.0.2.10"))
    assert problem.path == "related.ip"
    assert "ECS normalizes related.ip as an array" in problem.message


def test_array_field_single_value_of_wrong_type_reports_both() -> None:
    problems = validate(with_value("related.ip", "nope"))
    assert [p.path for p in problems] == ["related.ip", "related.ip"]
    assert {"array" in p.message for p in problems} == {True, False}


@pytest.mark.parametrize("path", ["event.kind", "event.outcome"])
def test_single_valued_categorization_fields(path: str) -> None:
    value = "event" if path == "event.kind" else "success"
    problem = only_problem(with_value(path, [value]))
    assert problem.path == path
    assert "single value" in problem.message


# --- categorization ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "where", "bad"),
    [
        ("event.kind", "alerts", "event.kind", "'alerts'"),
        ("event.outcome", "ok", "event.outcome", "'ok'"),
        ("event.category", ["auth"], "event.category[0]", "'auth'"),
        ("event.type", ["start", "bogus"], "event.type[1]", "'bogus'"),
    ],
)
def test_values_outside_the_allowed_lists(path: str, value: Any, where: str, bad: str) -> None:
    problem = only_problem(with_value(path, value))
    assert problem.path == where
    assert f"{bad} is not an allowed ECS 9.4.0 value for {path}" in problem.message


def test_event_type_not_expected_for_the_category() -> None:
    problem = only_problem(with_value("event.type", ["start", "creation"]))
    assert problem.path == "event.type[1]"
    assert "'creation' is not an expected event.type" in problem.message
    assert "['authentication']" in problem.message
    assert "expected: end, info, start" in problem.message


def test_device_is_allowed_but_never_expected() -> None:
    doc = with_value("event.category", ["host"])
    doc = with_value("event.type", ["change", "device"], doc)
    problem = only_problem(doc)
    assert problem.path == "event.type[1]"
    assert "'device' is not an expected event.type" in problem.message


# --- required fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("removed", "path"), [("@timestamp", "@timestamp"), ("ecs", "ecs.version")]
)
def test_required_fields(removed: str, path: str) -> None:
    problem = only_problem(without(removed))
    assert problem.path == path
    assert "required by ECS 9.4.0 but missing" in problem.message


# --- the result ----------------------------------------------------------------------


def test_problems_are_sorted_by_path_and_independent_of_key_order() -> None:
    # The missing @timestamp and the unexpected event.type are found after the walk,
    # yet they sort by path with the rest.
    doc = without("@timestamp")
    doc = with_value("user.id", 1, doc)
    doc = with_value("event.type", ["start", "creation"], doc)
    doc = with_value("related.ip", [f"192.0.2.{n}" for n in range(9)] + ["x", "y"], doc)
    reversed_doc = dict(reversed(list(doc.items())))
    problems = validate(doc)
    assert problems == validate(reversed_doc)
    assert [p.path for p in problems] == [
        "@timestamp",
        "event.type[1]",
        "related.ip[9]",
        "related.ip[10]",
        "user.id",
    ]


def test_problem_is_frozen_and_readable() -> None:
    problem = Problem("client.ip", "expected an IPv4/IPv6 address, got 'abc'")
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.path = "x"  # type: ignore[misc]
    assert str(problem) == "client.ip: expected an IPv4/IPv6 address, got 'abc'"
    assert str(Problem("", "whole document")) == "whole document"


def test_field_table_is_not_loaded_at_import() -> None:
    code = (
        "import onepassword_ecs\n"
        "from onepassword_ecs.ecs._table import ecs_table\n"
        "assert ecs_table.cache_info().currsize == 0, 'loaded at import'\n"
        "onepassword_ecs.validate({})\n"
        "assert ecs_table.cache_info().currsize == 1, 'not loaded on first use'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
