"""The fast mappers (``mapping/_fast.py``) must agree with the careful ones.

For every record a fast mapper takes, its document must equal the careful mapper's,
byte for byte once both are encoded (the fast document without sorting, since it is
built in sorted order; the careful one with ``OPT_SORT_KEYS``), in both of its forms:
plain dicts (what ``normalize`` returns) and the encoded form with shared
``orjson.Fragment`` parts (what ``normalize_bytes`` writes). A record it does not take
must be one the careful mapper handles; an error must be the same error. Checked over
the benchmark corpus, every golden fixture, the Hypothesis strategies, and the cases
where a memo could answer for the wrong raw object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given

from benchmark_corpus import corpus_lines
from onepassword_ecs import normalize, normalize_bytes
from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.golden._cases import discover_cases
from onepassword_ecs.mapping import _parts
from onepassword_ecs.mapping._dataset import Dataset, detect_dataset
from onepassword_ecs.mapping._decode import decode_record
from onepassword_ecs.mapping._normalize import _MAPPERS, FAST_MAPPERS
from strategies import records

REPO = Path(__file__).resolve().parents[1]
SORT = orjson.OPT_SORT_KEYS


def _outcome(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except NormalizationError as error:
        return ("error", error.reason, error.path, str(error))


def agree(line: bytes) -> str:
    """Compare both mappers on one record; return "fast", "careful" or "other"."""
    try:
        data = decode_record(line)
        which = detect_dataset(data)
    except NormalizationError:
        return "other"
    fast = FAST_MAPPERS.get(which)
    if fast is None or data.__class__ is not dict:
        return "other"
    careful = _outcome(lambda: orjson.dumps(_MAPPERS[which](data, None), option=SORT))
    plain = _outcome(fast, data, None, False)
    encoded = _outcome(fast, data, None, True)
    if plain is None:
        assert encoded is None, "the two forms of the fast mapper took different records"
        return "careful"
    if isinstance(plain, tuple):  # an error: the careful mapper must raise the same
        assert plain == careful == encoded
        return "fast"
    assert orjson.dumps(plain) == careful, line
    assert orjson.dumps(encoded) == careful, line
    assert plain == orjson.loads(careful)  # plain dicts, equal as values too
    return "fast"


def test_the_benchmark_corpus_agrees_and_mostly_takes_the_fast_path() -> None:
    taken = {"fast": 0, "careful": 0, "other": 0}
    for line in corpus_lines(6_000):
        taken[agree(line)] += 1
    # The corpus is all of the documented shape: every record must take the fast path
    # (a miss here is a fast mapper refusing what it was written for).
    assert taken["fast"] >= 0.99 * 6_000, taken


@pytest.mark.parametrize("case", discover_cases([REPO / "fixtures"]), ids=lambda case: case.name)
def test_every_golden_fixture_agrees(case: Any) -> None:
    agree(case.raw_path.read_bytes())


def test_golden_fixtures_exercise_both_paths() -> None:
    taken = [agree(case.raw_path.read_bytes()) for case in discover_cases([REPO / "fixtures"])]
    assert taken.count("fast") >= 100
    assert taken.count("careful") >= 3


@given(records())
def test_hypothesis_records_agree(record: dict[str, Any]) -> None:
    agree(orjson.dumps(record))


def _item_usage(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "uuid": "U1",
        "timestamp": "2025-01-06T00:00:00.307Z",
        "used_version": 4,
        "vault_uuid": "v1",
        "item_uuid": "i1",
        "action": "fill",
        "user": {"uuid": "P1", "name": "Ann Lee", "email": "ann@corp.example"},
        "client": {"app_name": "1Password", "ip_address": "192.0.2.7", "os_name": "MacOSX"},
        "location": {
            "country": "Canada",
            "region": "Ontario",
            "city": "Toronto",
            "latitude": 43.6532,
            "longitude": -79.3832,
        },
    }
    record.update(changes)
    return record


@pytest.mark.parametrize(
    "variant",
    [
        {"user": {"uuid": "P1", "name": "Ann Lee-Smith", "email": "ann@corp.example"}},
        {"user": {"uuid": "P1", "name": "Ann Lee", "email": "ann@corp.example", "x": 1}},
        {"user": {"uuid": "P1", "name": "Ann Lee", "email": 7}},
        {"user": {"uuid": "P1", "name": "Ann Lee", "user_type": "user"}},
        {"location": {"country": "CA", "region": "Ontario", "city": "Toronto"}},
        {"location": {"country": "Canada", "city": "Toronto", "latitude": 43, "longitude": 1}},
        {"location": {"country": "Canada", "city": "Toronto", "latitude": True, "longitude": 1.0}},
        {"location": {"country": "Canada", "city": "Toronto", "latitude": 1.0, "longitude": 1.0}},
        {"location": {"city": "Toronto", "latitude": 91.0, "longitude": 0.5}},
        {"client": {"app_name": "1Password", "ip_address": "not an address"}},
        {"client": {"app_name": "1Password", "ip": "192.0.2.7"}},
        {"client": {"app_name": ["1Password"]}},
        {"used_version": True},
        {"used_version": 2**63},
        {"action": ""},
        {"action": "made-up-action"},
        {"timestamp": "2025-01-06T00:00:60Z"},
        {"timestamp": "yesterday"},
        {"extra": {"kept": True}},
    ],
)
def test_a_memo_never_answers_for_a_different_raw_object(variant: dict[str, Any]) -> None:
    # The plain record first fills the memos (person P1, city Toronto, the client);
    # each variant shares the memo key and must still get its own document.
    agree(orjson.dumps(_item_usage()))
    agree(orjson.dumps(_item_usage(**variant)))
    agree(orjson.dumps(_item_usage()))


def test_booleans_and_integers_in_coordinates_are_not_taken_as_floats() -> None:
    agree(orjson.dumps(_item_usage()))
    location = {"country": "Canada", "city": "Toronto", "latitude": 1.0, "longitude": 1.0}
    agree(orjson.dumps(_item_usage(location=location)))
    as_integers = {**location, "latitude": 1, "longitude": 1}
    document = normalize(orjson.dumps(_item_usage(location=as_integers)))
    assert orjson.dumps(document["client"]["geo"]["location"]) == b'{"lat":1,"lon":1}'
    as_booleans = {**location, "latitude": True, "longitude": True}
    document = normalize(orjson.dumps(_item_usage(location=as_booleans)))
    assert "location" not in document["client"].get("geo", {})


def test_returned_documents_share_nothing() -> None:
    line = orjson.dumps(_item_usage())
    first = normalize(line)
    first["user"]["name"] = "changed"
    first["client"]["geo"]["location"]["lat"] = 0
    first["onepassword"]["client"]["app_name"] = "changed"
    first["related"]["user"].append("changed")
    first["host"]["os"]["name"] = "changed"
    second = normalize(line)
    assert second["user"]["name"] == "Ann Lee"
    assert second["client"]["geo"]["location"]["lat"] == 43.6532
    assert second["source"]["geo"]["location"]["lat"] == 43.6532
    assert second["onepassword"]["client"]["app_name"] == "1Password"
    assert second["related"]["user"] == ["P1", "Ann Lee", "ann@corp.example"]
    assert second["host"]["os"]["name"] == "MacOSX"
    assert normalize_bytes(line) == orjson.dumps(second, option=SORT)


def test_memos_stay_bounded() -> None:
    for number in range(_parts.MEMO_LIMIT + 50):
        person = {"uuid": f"P{number}", "name": f"Person {number}"}
        agree(orjson.dumps(_item_usage(user=person)))
    held = sum(len(bucket) for bucket in _parts._PEOPLE.values())
    assert held == _parts._PEOPLE.entries <= _parts.MEMO_LIMIT
    assert all(len(bucket) <= _parts.VARIANTS for bucket in _parts._PEOPLE.values())
    # One key in many shapes keeps only its last VARIANTS shapes.
    for number in range(_parts.VARIANTS + 3):
        person = {"uuid": "P-many", "name": f"Name {number}"}
        agree(orjson.dumps(_item_usage(user=person)))
    assert len(_parts._PEOPLE["P-many"]) == _parts.VARIANTS
    assert _parts._PEOPLE.entries == sum(len(bucket) for bucket in _parts._PEOPLE.values())


def test_a_callers_dict_takes_the_careful_mapper() -> None:
    class Label(str):
        pass

    record = _item_usage(user={"uuid": "P1", "name": Label("Ann Lee")})
    document = normalize(record)
    # The careful mapper keeps a str subclass as a malformed value, as it always has.
    assert document == _MAPPERS[Dataset.item_usages](dict(record), None)


def test_every_dataset_has_a_fast_mapper() -> None:
    assert set(FAST_MAPPERS) == set(Dataset)
