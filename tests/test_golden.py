"""Golden pairs: every raw record under fixtures/ against its reviewed expected document.

The same code path as ``onepassword-ecs check``. Besides the diff, every expected
document must pass the ECS validator and be fully typed by the shipped index template,
and the set of cases must keep covering what the core issue asks for.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import validate
from onepassword_ecs.ecs._fielddefs import vendor_fields
from onepassword_ecs.ecs._table import ecs_table
from onepassword_ecs.ecs._template import index_template
from onepassword_ecs.golden._cases import check_case, discover_cases, format_diff
from onepassword_ecs.mapping._tables import tables

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASES = discover_cases([FIXTURES])


def _expected(case: Any) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(case.expected_path.read_bytes())
    return document


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and not (prefix.endswith(".location") and "lat" in value):
        out: list[tuple[str, Any]] = []
        for key, item in value.items():
            out.extend(_leaves(item, f"{prefix}.{key}" if prefix else key))
        return out
    return [(prefix, value)]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_golden_pair(case: Any) -> None:
    """normalize(raw) equals the reviewed expected document, field by field."""
    result = check_case(case)
    assert result.ok, format_diff(result)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_expected_document_is_valid_ecs(case: Any) -> None:
    """Every expected document passes the ECS 9.4.0 validator."""
    problems = validate(_expected(case))
    assert not problems, "\n".join(f"{p.path}: {p.message}" for p in problems)


def _template_types() -> dict[str, str]:
    """Dotted field name → mapped type, from the shipped index template."""
    types: dict[str, str] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, mapping in properties.items():
            dotted = f"{prefix}{name}"
            if "properties" in mapping:
                walk(mapping["properties"], dotted + ".")
            else:
                types[dotted] = mapping["type"]

    walk(index_template()["template"]["mappings"]["properties"], "")
    return types


def test_template_types_every_golden_field() -> None:
    """Every field of every golden output is in the template with the matching type.

    Undeclared ``onepassword.*`` fields (what the API adds later) are typed by the
    template's dynamic rule instead, and ``onepassword.malformed`` is one flattened field.
    """
    mapped = _template_types()
    ecs = ecs_table().fields
    declared = vendor_fields()
    unmapped: list[str] = []
    for case in CASES:
        for path, _value in _leaves(_expected(case)):
            if path.startswith("onepassword.malformed"):
                assert mapped["onepassword.malformed"] == "flattened"
                continue
            if path.startswith("onepassword.") and path not in declared:
                continue
            wanted = declared[path].type if path in declared else ecs[path].type
            if path == "@timestamp":
                wanted = "date_nanos"  # the template keeps our nanoseconds (test_template)
            if mapped.get(path) != wanted:
                unmapped.append(f"{case.name}: {path} mapped {mapped.get(path)}, wants {wanted}")
    assert not unmapped, "\n".join(sorted(set(unmapped)))


def test_fixture_set_covers_the_core_issue() -> None:
    """At least 60 pairs; every sign-in category and item-usage action; many sign-in types."""
    raw = {case.name: orjson.loads(case.raw_path.read_bytes()) for case in CASES}
    assert len(raw) >= 60
    assert all(case.has_expected for case in CASES)
    by_dataset = Counter(name.split("/")[0] for name in raw)
    assert set(by_dataset) == {"audit_events", "item_usages", "signin_attempts"}
    signins = [r for n, r in raw.items() if n.startswith("signin_attempts/")]
    assert set(tables().signin_categories) <= {r.get("category") for r in signins}
    assert len({r.get("type") for r in signins} - {None}) >= 15
    usages = [r for n, r in raw.items() if n.startswith("item_usages/")]
    assert set(tables().item_usage_actions) <= {r.get("action") for r in usages}
    audits = [r for n, r in raw.items() if n.startswith("audit_events/")]
    families = {r.get("object_type") for r in audits}
    assert {"gm", "user", "uva", "gva", "vault", "group", "account", "sso", "invite"} <= families
    timestamps = [r["timestamp"] for r in raw.values() if isinstance(r.get("timestamp"), str)]
    assert any(t.endswith("-03:00") for t in timestamps)
    assert any(t.endswith("+05:30") for t in timestamps)
    assert any(len(t.split(".")[-1].rstrip("Z")) == 9 for t in timestamps if "." in t)
