"""Redaction: rules, modes, keys, and the promise that no redacted value survives.

The property test generates records (valid and damaged) carrying distinctive people,
addresses and places, converts them through the same chunk function the CLI uses, with
enrichment and redaction stages and ``event.original``, and looks for every original
value of a redacted field in the output bytes: documents and error lines alike.
"""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onepassword_ecs import normalize, validate
from onepassword_ecs._errors import StageConfigError
from onepassword_ecs.stages import (
    GROUPS,
    MODES,
    PSEUDONYM_PREFIX,
    Enricher,
    Redactor,
    parse_rules,
    redaction_key,
    rules_from_config,
    withhold_input,
)
from onepassword_ecs.stream import Stage, Task, apply_stages, convert_chunk
from strategies import corrupt_records, records, scaled

KEY = b"property-test-key-0123456789abcdef"
STAGES = Path(__file__).resolve().parents[1] / "fixtures" / "stages"


def _signin() -> dict[str, Any]:
    return normalize(
        (STAGES / "redact-hash" / "signin_ip_blocked.json").read_bytes(), keep_original=True
    )


# --- rules and keys -------------------------------------------------------------


def test_groups_expand_and_later_rules_win() -> None:
    rules = parse_rules(["people=hash", "user.email=mask"])
    assert rules["user.email"] == "mask"
    assert rules["user.name"] == "hash"
    assert set(GROUPS["people"]) <= rules.keys()


@pytest.mark.parametrize(
    ("spec", "problem"),
    [("user.email", "FIELD=MODE"), ("user.email=blur", "mode must be"), ("nope=hash", "unknown")],
)
def test_bad_rules_are_refused(spec: str, problem: str) -> None:
    with pytest.raises(StageConfigError, match=problem):
        parse_rules([spec])


def test_config_table_reads_like_the_options() -> None:
    assert rules_from_config({"people": "drop"}) == parse_rules(["people=drop"])


def test_hash_without_a_key_is_refused() -> None:
    with pytest.raises(StageConfigError, match="needs a key"):
        Redactor(parse_rules(["people=hash"]))


def test_key_errors_never_show_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORT_KEY_FOR_TEST", "tiny-secret")
    with pytest.raises(StageConfigError) as caught:
        redaction_key("SHORT_KEY_FOR_TEST")
    assert "tiny-secret" not in str(caught.value)
    monkeypatch.delenv("SHORT_KEY_FOR_TEST")
    with pytest.raises(StageConfigError, match="not set"):
        redaction_key("SHORT_KEY_FOR_TEST")


def test_repr_and_errors_hide_the_key() -> None:
    stage = Redactor(parse_rules(["people=hash"]), key=KEY)
    assert KEY.decode() not in repr(stage)


# --- modes ----------------------------------------------------------------------


def test_hash_is_keyed_stable_and_case_blind_for_emails() -> None:
    one = Redactor({"user.email": "hash"}, key=KEY)
    other = Redactor({"user.email": "hash"}, key=KEY[::-1])
    assert one.pseudonym("Alice@Acme.example") == one.pseudonym("alice@acme.example")
    assert one.pseudonym("x@y.example") != other.pseudonym("x@y.example")
    assert one.pseudonym("x@y.example").startswith(PSEUDONYM_PREFIX)
    assert len(one.pseudonym("x@y.example")) == len(PSEUDONYM_PREFIX) + 16


def test_hashed_address_leaves_the_ip_fields() -> None:
    document = Redactor(parse_rules(["client.ip=hash"]), key=KEY)(_signin())
    assert "ip" not in document["client"]
    assert "ip" not in document["source"]
    assert "ip" not in document.get("related", {})
    assert document["client"]["address"].startswith(PSEUDONYM_PREFIX)
    assert validate(document) == []


def test_mask_keeps_the_email_domain_and_the_network() -> None:
    document = Redactor(parse_rules(["people=mask", "addresses=mask"]))(_signin())
    assert document["user"]["email"] == "A***@acme.example"
    assert document["user"]["name"] == "A*** K***"
    assert document["client"]["address"] == "198.51.*.*"
    assert "198.51.100.143" not in orjson.dumps(document).decode()


def test_drop_removes_and_marks() -> None:
    document = Redactor(parse_rules(["people=drop"]))(_signin())
    assert "name" not in document["user"] and "email" not in document["user"]
    assert document["message"].startswith("[redacted] failed to sign in")
    assert "user.email=drop" in document["onepassword"]["redaction"]["fields"]
    assert validate(document) == []


def test_points_are_rounded_by_mask_and_removed_otherwise() -> None:
    masked = Redactor(parse_rules(["client.geo.location=mask"]))(_signin())
    assert masked["client"]["geo"]["location"] == {"lat": 21.0, "lon": 106.0}
    assert masked["source"]["geo"]["location"] == {"lat": 21.0, "lon": 106.0}
    assert "21.0278" not in masked["event"]["original"]
    dropped = Redactor(parse_rules(["locations=drop"]))(_signin())
    assert "geo" not in dropped["client"]
    assert validate(dropped) == [] and validate(masked) == []


def test_redactor_pickles_and_works_in_a_copy() -> None:
    stage = Redactor(parse_rules(["people=hash"]), key=KEY)
    copy_ = pickle.loads(pickle.dumps(stage))
    assert copy_(_signin()) == stage(_signin())


def test_withheld_error_line_keeps_where_and_why() -> None:
    line = orjson.dumps(
        {
            "line": 4,
            "source": "in.ndjson",
            "reason": "bad_timestamp",
            "path": "$.timestamp",
            "message": "expected an RFC 3339 date-time, got 'carol@acme.example'",
            "input": '{"timestamp": "carol@acme.example", "category": "success"}',
        }
    )
    entry = orjson.loads(withhold_input(line))
    assert "input" not in entry and entry["input_withheld"] is True
    assert entry["line"] == 4 and entry["reason"] == "bad_timestamp"
    assert "carol" not in entry["message"]
    refused = orjson.dumps({"sink": "store", "reason": "conflict", "document": {"a": 1}})
    assert withhold_input(refused) == refused


# --- the property ---------------------------------------------------------------

_TOKENS = st.text("bcdfghjkmnpqrstvwxz", min_size=6, max_size=10)
_PEOPLE_KEYS = ("actor_details", "object_details", "aux_details", "user", "target_user")
LOOKUP_USERS = {
    "zk4lqmw7tnp2xrvbhd5cjyf3ga": ("Zelda Quorvanth", "zelda.quorvanth@lookup.example"),
    "zk4lqmw7tnp2xrvbhd5cjyf3gb": ("Xavier Plimsoll", "xavier.plimsoll@lookup.example"),
}
_RULE_CHOICES = st.dictionaries(
    st.sampled_from([*GROUPS, "user.email", "user.target.email", "client.ip", "source.address"]),
    st.sampled_from(MODES),
    min_size=1,
    max_size=4,
)


@st.composite
def _ipv4(draw: st.DrawFn) -> str:
    return ".".join(str(draw(st.integers(100, 254))) for _ in range(4))


@st.composite
def _marked_record(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """A record (valid or damaged) whose people, addresses and places are distinctive.

    Returns it with the values placed, by group, so the test knows what to look for.
    """
    damaged = draw(st.booleans())
    record = copy.deepcopy(draw(corrupt_records())[1] if damaged else draw(records()))
    placed: dict[str, set[str]] = {"people": set(), "addresses": set(), "locations": set()}
    for key in _PEOPLE_KEYS:
        person = record.get(key)
        if isinstance(person, dict):
            first, last = draw(_TOKENS), draw(_TOKENS)
            person["name"] = f"Q{first} V{last}"
            person["email"] = f"{first}.{last}@{draw(_TOKENS)}.example"
            placed["people"] |= {person["name"], person["email"]}
    if "actor_uuid" in record and draw(st.booleans()):
        # An old audit event: the actor only by uuid, named by the lookup file.
        record["actor_uuid"] = draw(st.sampled_from(sorted(LOOKUP_USERS))).upper()
        record.pop("actor_details", None)
        for name, email in LOOKUP_USERS.values():
            placed["people"] |= {name, email}
    for parent, key in (("client", "ip_address"), ("session", "ip")):
        holder = record.get(parent)
        if isinstance(holder, dict):
            address = draw(st.one_of(_ipv4(), st.ip_addresses(network="2001:db8::/32").map(str)))
            holder[key] = address
            placed["addresses"].add(address)
    location = record.get("location")
    if isinstance(location, dict):
        location["city"] = f"Zcity{draw(_TOKENS)}"
        location["region"] = f"Zregion{draw(_TOKENS)}"
        placed["locations"] |= {location["city"], location["region"]}
    return record, placed


@pytest.fixture(scope="module")
def lookup_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lookups") / "people.csv"
    rows = [
        f"{uuid},user,{name}\n{uuid},user,{email}\n" for uuid, (name, email) in LOOKUP_USERS.items()
    ]
    path.write_text("".join(rows), encoding="utf-8")
    return path


def _field_values(document: dict[str, Any], name: str) -> list[str]:
    value: Any = document
    for part in name.split("."):
        if not isinstance(value, dict):
            return []
        value = value.get(part)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


# Generating a damaged record is slow: half a property's budget (long profile: 10,000).
@settings(max_examples=scaled(2))
@given(data=_marked_record(), rules=_RULE_CHOICES, enrich_first=st.booleans())
def test_no_redacted_value_survives_anywhere(
    lookup_csv: Path,
    data: tuple[dict[str, Any], dict[str, set[str]]],
    rules: dict[str, str],
    enrich_first: bool,
) -> None:
    record, placed = data
    redactor = Redactor(parse_rules(f"{k}={v}" for k, v in rules.items()), key=KEY)
    stages: list[Stage] = [Enricher([lookup_csv])] if enrich_first else []
    raw = json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")

    # What the redacted fields hold without redaction: the values that must not survive.
    marked = set().union(*placed.values())
    known_problems: set[str] = set()
    try:
        plain = apply_stages(normalize(raw, keep_original=True), stages)
    except ValueError:
        # Rejected: its error line carries no raw input, so nothing placed may show.
        must_go = marked
    else:
        must_go = set()
        for name in redactor.rules:
            must_go |= {value for value in _field_values(plain, name) if value in marked}
        # A mapping bug the redaction did not cause is not this test's business.
        known_problems = {problem.path for problem in validate(plain)}

    task = Task({"source": "generated"}, [(1, raw)], None, True, (*stages, redactor))
    result = convert_chunk(task)
    errors = b"".join(withhold_input(line) + b"\n" for line in result.errors.splitlines())
    output = (result.documents + errors).decode("utf-8").lower()
    for value in must_go:
        assert value.lower() not in output, (value, rules)
        assert orjson.dumps(value).decode()[1:-1].lower() not in output
    for line in result.documents.splitlines():
        problems = validate(orjson.loads(line))
        assert {problem.path for problem in problems} <= known_problems, problems
    assert result.read == result.written + sum(result.rejected.values())
