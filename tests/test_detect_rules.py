"""Every rule of the pack against its cases: raw records in, exactly these alerts out.

The cases live beside each rule (``rules/<name>.cases.json``): raw 1Password records,
an optional context, and the alerts the rule must raise (group keys and matched event
ids, in order). Each case goes through ``normalize`` and the local engine with that rule
alone, so one rule's case cannot hide another rule's mistake.

Optional keys of a case: ``comment`` (where a case comes from: the peers' published tests
are copied in with their source), ``assume_timezone`` (Panther's records carry UTC
timestamps without an offset), ``names`` (what a ``--lookups`` file would resolve:
kind -> lower-case name -> uuids, as ``Context.with_names`` takes it), ``indicators``
(``[value, type, source]`` rows: the documents go through the indicators stage with
them as a CSV feed, as ``convert --indicators`` would).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from onepassword_ecs import normalize, validate
from onepassword_ecs.detect import context_from_mapping, detect, load_rules
from onepassword_ecs.stages import IndicatorMatcher

RULES = {rule.name: rule for rule in load_rules()}
RULES_DIR = Path(__file__).resolve().parent.parent / "rules"  # cases are not in the wheel


def _cases() -> list[Any]:
    params = []
    for name in sorted(RULES):
        data = json.loads((RULES_DIR / f"{name}.cases.json").read_text(encoding="utf-8"))
        for case in data["cases"]:
            params.append(pytest.param(name, case, id=f"{name}: {case['name']}"))
    return params


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix[:-1]: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat |= _flat(item, f"{prefix}{key}.")
    return flat


def _run(name: str, case: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    context = context_from_mapping(case.get("context", {}), f"case {case['name']}")
    if "names" in case:
        context = context.with_names(
            {kind: {k: tuple(v) for k, v in table.items()} for kind, table in case["names"].items()}
        )
    zone = case.get("assume_timezone")
    documents = [normalize(record, assume_timezone=zone) for record in case["records"]]
    if "indicators" in case:
        feed = tmp_path / "feed.csv"
        feed.write_text("".join(",".join(row) + "\n" for row in case["indicators"]))
        matcher = IndicatorMatcher([feed])
        documents = [matcher(document) for document in documents]
    outcome, _new = detect([RULES[name]], context, documents)
    return outcome.alerts


@pytest.mark.parametrize(("name", "case"), _cases())
def test_rule_case(name: str, case: dict[str, Any], tmp_path: Path) -> None:
    alerts = _run(name, case, tmp_path)
    got = sorted(
        (
            json.dumps(_flat(a["onepassword"]["alert"]["group"]), sort_keys=True),
            a["onepassword"]["alert"]["event_ids"],
        )
        for a in alerts
    )
    expected = sorted((json.dumps(e["group"], sort_keys=True), e["events"]) for e in case["expect"])
    assert got == expected
    for alert in alerts:
        assert alert["rule"]["id"] == name
        assert validate(alert) == [], validate(alert)


def test_every_rule_has_positive_and_negative_cases() -> None:
    assert len(RULES) == 36
    for name in RULES:
        cases = json.loads((RULES_DIR / f"{name}.cases.json").read_text(encoding="utf-8"))["cases"]
        assert any(c["expect"] for c in cases), f"{name}: no positive case"
        assert any(not c["expect"] for c in cases), f"{name}: no negative case"


def test_rules_waiting_for_a_list_do_not_run_with_an_empty_context() -> None:
    empty = context_from_mapping({})
    waiting = {name for name, rule in RULES.items() if rule.waits_for(empty)}
    assert waiting == {
        "admin_action_by_non_admin",
        "admin_activity_off_hours",
        "privileged_group_membership",
        "privileged_vault_access_change",
        "sensitive_item_accessed",
    }


def test_case_files_sit_beside_their_rules() -> None:
    names = {p.name.removesuffix(".cases.json") for p in Path(RULES_DIR).glob("*.cases.json")}
    assert names == set(RULES)


def test_peer_cases_carry_their_source() -> None:
    """Panther's published tests, copied in (the suite never reads the peers' files)."""
    covered = {
        "unusual_client_app",
        "sensitive_item_accessed",
        "signin_from_risky_country",
        "brute_force_user",
        "brute_force_ip",
    }
    for name in covered:
        cases = json.loads((RULES_DIR / f"{name}.cases.json").read_text(encoding="utf-8"))["cases"]
        peers = [c for c in cases if c["name"].startswith("Panther")]
        assert peers, name
        for case in peers:
            assert case["comment"].startswith("Panther panther-labs/panther-analysis@"), name
            assert "rules/" in case["comment"] and "expected_result" in case["comment"]
