"""Property tests: what ``normalize`` promises for *any* input, not just the golden cases.

The inputs come from ``tests/strategies.py``; the example budget from the Hypothesis
profile (``tests/conftest.py``). Bugs found by these properties that are still open are
pinned at the end of this file as ``xfail(strict=True)`` tests, and their triggers are
kept out of the general strategies meanwhile (``strategies.BUGS``).
"""

from __future__ import annotations

import ast
import copy
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from onepassword_ecs import Dataset, NormalizationError, detect_dataset, normalize, validate
from onepassword_ecs._errors import REASONS as DOCUMENTED_REASONS
from strategies import (
    AUDIT_KEYS,
    BUGS,
    ITEM_USAGE_KEYS,
    SIGNIN_KEYS,
    corrupt_records,
    has_big_int,
    is_open,
    json_values,
    near_miss_timestamps,
    records,
    records_with_dataset,
    timestamps,
    unicode_text,
)

# Records can be large: Hypothesis warns when printing a failing example, and the
# project turns warnings into errors, which would hide the real failure.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
)

# The documented reason codes, except the one that means a bug.
REASONS = frozenset(DOCUMENTED_REASONS) - {"internal_error"}


# --- helpers ----------------------------------------------------------------------


def _call(record: Any, **options: Any) -> dict[str, Any] | NormalizationError:
    """``normalize``, with the error contract checked: only NormalizationError, with a
    stable reason (never ``internal_error``), a message, and a ``$``-rooted path.
    """
    try:
        document = normalize(record, **options)
    except NormalizationError as exc:
        assert exc.reason in REASONS, f"{exc.reason}: {exc}"
        assert str(exc).strip() and exc.detail.strip()
        assert exc.path is None or exc.path.startswith("$"), exc.path
        return exc
    assert isinstance(document, dict)
    return document


def _keep_original_ok(record: Any) -> bool:
    return not (is_open("keep-original-unserializable") and has_big_int(record))


# Independent RFC 3339 parsing: ASCII digits only; the library's documented leniencies
# (space or lower-case t between date and time, lower-case z, ',' before the fraction,
# an offset without ':') are accepted too, and so are (issue 9) more than nine fractional
# digits, cut toward zero, and the leap second 23:59:60 UTC, read as the next second.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:[.,]([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))"
)
_OUTPUT_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z")
_NS = 10**9


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's method)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


_MIN_NS = _days_from_civil(1, 1, 1) * 86400 * _NS
_END_NS = _days_from_civil(10000, 1, 1) * 86400 * _NS


def epoch_ns(text: Any) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 date-time, or None when it is not one
    (or when its UTC instant falls outside years 1-9999, which no ECS date can hold).
    """
    if not isinstance(text, str):
        return None
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    y, mo, d, h, mi, s = map(int, (year, month, day, hour, minute, second))
    if not (y >= 1 and 1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo)):
        return None
    if not (h <= 23 and mi <= 59 and s <= 60):
        return None
    offset = 0
    if sign is not None:
        if int(off_h) > 23 or int(off_m) > 59:
            return None
        offset = (int(off_h) * 3600 + int(off_m) * 60) * (1 if sign == "+" else -1)
    nanos = int((fraction or "")[:9].ljust(9, "0"))
    seconds = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
    if s == 60:
        if seconds % 86400 != 0:  # 23:59:60 UTC counts as the next day's 00:00:00
            return None  # a leap second exists only at 23:59:60 UTC
        nanos = 0  # read as the start of the next second
    total = seconds * _NS + nanos
    return total if _MIN_NS <= total < _END_NS else None


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every scalar inside ``value`` with its key path (array positions not included)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for child in value:
            yield from _walk(child, path)
    else:
        yield path, value


def _key(value: Any) -> tuple[str, Any]:
    """Type-aware identity: True must not count as 1, nor 1 as "1"."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    return (type(value).__name__, value)


def _parse_malformed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        if is_open("malformed-not-json"):
            return ast.literal_eval(text)  # the open bug stores repr(); still not lost
        message = f"onepassword.malformed holds text that is not JSON: {text!r}"
        raise AssertionError(message) from None


def _output_values(document: dict[str, Any]) -> set[tuple[str, Any]]:
    found: set[tuple[str, Any]] = set()
    for path, leaf in _walk(document):
        if path[:2] == ("onepassword", "malformed") and len(path) == 3:
            assert isinstance(leaf, str), path
            found.add(_key(leaf))  # a malformed string may also be kept verbatim
            found.update(_key(inner) for _, inner in _walk(_parse_malformed(leaf)))
        else:
            found.add(_key(leaf))
    return found


def _droppable(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and not math.isfinite(value))


# --- 1. normalize is total: a document or a NormalizationError, for any input ------

_DOCUMENTED_KEYS = sorted({*AUDIT_KEYS, *ITEM_USAGE_KEYS, *SIGNIN_KEYS, "sekoia_event_type"})
_ANY_KEY = st.one_of(st.sampled_from(_DOCUMENTED_KEYS), unicode_text)


@st.composite
def _garbage_objects(draw: st.DrawFn) -> dict[str, Any]:
    """An object whose documented keys hold arbitrary JSON; usually a valid timestamp, so
    that every mapper is reached with junk in every place.
    """
    values = st.one_of(json_values(25), st.integers())  # ints beyond 64 bits too
    record = draw(st.dictionaries(_ANY_KEY, values, max_size=12))
    if draw(st.integers(0, 3)):
        record["timestamp"] = draw(timestamps())
    return record


_DATASET_ARGUMENT = st.one_of(st.none(), st.sampled_from(list(Dataset)))


@given(
    value=st.one_of(json_values(), _garbage_objects()),
    dataset=_DATASET_ARGUMENT,
    keep_original=st.booleans(),
)
def test_normalize_is_total_on_any_json_value(
    value: Any, dataset: Dataset | None, keep_original: bool
) -> None:
    """Any JSON value, as a Python object (integers of any size): a document or a
    NormalizationError with a stable reason (never internal_error, never another
    exception).
    """
    _call(value, dataset=dataset, keep_original=keep_original and _keep_original_ok(value))


@given(
    text=st.one_of(
        json_values().map(orjson.dumps),
        # The stdlib encoder writes ints beyond 64 bits too (orjson refuses them).
        _garbage_objects().map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
        records().map(orjson.dumps),
        st.binary(max_size=200),
        st.text(max_size=200),
        st.builds(lambda r, n: orjson.dumps(r)[:n], records(), st.integers(0, 400)),
        st.builds(lambda r: orjson.dumps(r).replace(b'"', b"", 1), records()),
        st.sampled_from([b"NaN", b"[Infinity]", b'{"a": -Infinity}', b"\xff\xfe{}", b""]),
        st.builds(
            lambda n: (
                b'{"timestamp":"2024-01-01T00:00:00Z","actor_uuid":"A","x":'
                + b"[" * n
                + b"]" * n
                + b"}"
            ),
            st.integers(1, 300 if is_open("deep-list-recursion") else 1100),
        ),
        st.builds(
            lambda n: (
                b'{"timestamp":"2024-01-01T00:00:00Z","actor_uuid":"A","x":'
                + b'{"a":' * n
                + b"1"
                + b"}" * n
                + b"}"
            ),
            st.integers(1, 900 if is_open("deep-object-recursion") else 1100),
        ),
    ),
    as_str=st.booleans(),
)
def test_normalize_is_total_on_json_text(text: bytes, as_str: bool) -> None:
    """Any bytes or text (valid JSON or not): a document or a NormalizationError with a
    stable reason, never internal_error. Text is tried as bytes and, when it is UTF-8,
    as str.
    """
    payload: str | bytes = text
    if as_str:
        try:
            payload = text.decode("utf-8") if isinstance(text, bytes) else text
        except UnicodeDecodeError:
            payload = text
    _call(payload, keep_original=True)


# --- 2. documents validate and serialize --------------------------------------------


@given(
    case=st.one_of(records_with_dataset(), corrupt_records()),
    explicit=st.booleans(),
    keep_original=st.booleans(),
)
def test_documents_validate_and_serialize(
    case: tuple[Dataset, dict[str, Any]], explicit: bool, keep_original: bool
) -> None:
    """Every document normalize returns passes validate() with no problem and
    serializes with a plain orjson.dumps(), from valid and corrupted records alike.
    """
    dataset, record = case
    keep_original = keep_original and _keep_original_ok(record)
    result = _call(record, dataset=dataset if explicit else None, keep_original=keep_original)
    if isinstance(result, NormalizationError):
        return
    note(repr(result))
    assert validate(result) == []
    orjson.dumps(result)


@given(record=records())
def test_valid_records_always_give_documents(record: dict[str, Any]) -> None:
    """A valid record (valid timestamp, an identifying key) is never rejected."""
    result = _call(record)
    assert not isinstance(result, NormalizationError), result


# --- 3. nothing lost ----------------------------------------------------------------


def _lost_values(
    dataset: Dataset, record: dict[str, Any], document: dict[str, Any]
) -> list[tuple[tuple[str, ...], Any]]:
    present = _output_values(document)
    vendor = document.get("onepassword", {})
    login_out = vendor.get("session", {}).get("login_time")
    lost = []
    for path, value in _walk(record):
        if _droppable(value):
            continue
        if path == ("timestamp",):
            continue  # the timestamp property checks it, instant for instant
        if _key(value) in present:
            continue
        if (
            dataset is Dataset.audit_events
            and path == ("session", "login_time")
            and epoch_ns(value) is not None
            and epoch_ns(value) == epoch_ns(login_out)
        ):
            continue
        if (
            path == ("location", "country")
            and isinstance(value, str)
            and _key(value.strip().upper()) in present
        ):
            continue
        lost.append((path, value))
    return lost


@given(case=st.one_of(records_with_dataset(), corrupt_records()))
def test_nothing_lost(case: tuple[Dataset, dict[str, Any]]) -> None:
    """Every scalar of the raw record reaches the document.

    A value counts as present when it is a value anywhere in the document (at its ECS
    place, under ``onepassword.*``, in ``related.*``) or inside the JSON text of an
    ``onepassword.malformed`` entry; equality is type-aware (``true`` is not ``1``).

    Exclusions, each a documented rule:

    * ``null``, ``""`` and empty arrays/objects may be dropped;
    * ``timestamp`` is rewritten to UTC as ``@timestamp``
      (``test_timestamp_is_the_same_instant`` checks it to the nanosecond);
    * an audit event's ``session.login_time`` is rewritten to UTC: it is present when
      ``onepassword.session.login_time`` is the same instant;
    * ``location.country`` given as an ISO 3166 code (any case, surrounding spaces) is
      indexed as the upper-case ``*.geo.country_iso_code`` beside the country's name.
    """
    dataset, record = case
    result = _call(record, dataset=dataset)
    if isinstance(result, NormalizationError):
        return
    note(repr(result))
    assert _lost_values(dataset, record, result) == []


# --- 4. deterministic, input untouched ----------------------------------------------


@given(case=st.one_of(records_with_dataset(), corrupt_records()), keep_original=st.booleans())
def test_deterministic_and_input_untouched(
    case: tuple[Dataset, dict[str, Any]], keep_original: bool
) -> None:
    """The same record gives the same document (or the same error) every time;
    normalize never modifies the record it is given (nor its nested objects); and the
    document shares nothing with the input or with later results.
    """
    dataset, record = case
    keep_original = keep_original and _keep_original_ok(record)
    before = copy.deepcopy(record)
    first = _call(record, dataset=dataset, keep_original=keep_original)
    assert record == before
    second = _call(record, dataset=dataset, keep_original=keep_original)
    assert record == before
    if isinstance(first, NormalizationError):
        assert isinstance(second, NormalizationError)
        assert (first.reason, first.path, str(first)) == (second.reason, second.path, str(second))
        return
    assert first == second
    # The document belongs to the caller: emptying every object and array in it must
    # change neither the input nor what later calls return (no shared caches or parts).
    expected = copy.deepcopy(first)
    _scramble(first)
    assert record == before
    assert _call(record, dataset=dataset, keep_original=keep_original) == expected


def _scramble(value: Any) -> None:
    """Empty every object and array inside ``value``, depth first."""
    if isinstance(value, dict):
        for child in value.values():
            _scramble(child)
        value.clear()
    elif isinstance(value, list):
        for child in value:
            _scramble(child)
        value.clear()


@given(record=records())
def test_dict_and_json_text_give_the_same_document(record: dict[str, Any]) -> None:
    """A record gives the same document whether passed as a dict, JSON bytes or a str."""
    text = orjson.dumps(record)
    from_dict = _call(record)
    assert from_dict == _call(text)
    assert from_dict == _call(text.decode("utf-8"))


# --- 5. @timestamp is the raw timestamp's instant ------------------------------------


@given(record=records())
def test_timestamp_is_the_same_instant(record: dict[str, Any]) -> None:
    """@timestamp is UTC, nine ASCII fractional digits and Z, and the same instant as
    the raw timestamp to the nanosecond (computed here with integer arithmetic). For
    audit events, onepassword.session.login_time obeys the same rule.
    """
    document = _call(record)
    assert isinstance(document, dict)
    stamp = document["@timestamp"]
    assert _OUTPUT_TIMESTAMP.fullmatch(stamp), stamp
    expected = epoch_ns(record["timestamp"])
    assert expected is not None, record["timestamp"]
    assert epoch_ns(stamp) == expected
    session = record.get("session")
    if document["event"]["dataset"] == Dataset.audit_events.event_dataset and isinstance(
        session, dict
    ):
        login = session.get("login_time")
        if login is not None:
            out = document["onepassword"]["session"]["login_time"]
            assert _OUTPUT_TIMESTAMP.fullmatch(out), out
            assert epoch_ns(out) == epoch_ns(login)


@given(
    record=records(),
    stamp=st.one_of(timestamps(), near_miss_timestamps(), unicode_text),
)
def test_timestamp_accepted_exactly_when_rfc3339(record: dict[str, Any], stamp: str) -> None:
    """A timestamp is accepted exactly when it is an RFC 3339 date-time with an offset
    whose UTC instant is in years 1-9999, and then @timestamp is that instant; anything
    else is bad_timestamp at $.timestamp, naming the value.
    """
    record = {**record, "timestamp": stamp}
    result = _call(record)
    expected = epoch_ns(stamp)
    if expected is None:
        assert isinstance(result, NormalizationError), (stamp, result)
        assert (result.reason, result.path) == ("bad_timestamp", "$.timestamp")
        assert repr(stamp)[:60] in str(result)
    else:
        assert isinstance(result, dict), (stamp, result)
        assert _OUTPUT_TIMESTAMP.fullmatch(result["@timestamp"])
        assert epoch_ns(result["@timestamp"]) == expected


# --- 6. dataset detection is stable -------------------------------------------------


@given(case=records_with_dataset())
def test_detection_agrees_with_explicit_dataset(case: tuple[Dataset, dict[str, Any]]) -> None:
    """For a valid record the detected stream is the one it was built for, and forcing
    that stream (as the enum or its name) changes nothing in the document.
    """
    dataset, record = case
    assert detect_dataset(record) is dataset
    assert detect_dataset(record, dataset) is dataset
    detected = _call(record)
    assert isinstance(detected, dict)
    assert detected["event"]["dataset"] == dataset.event_dataset
    assert _call(record, dataset=dataset) == detected
    assert _call(record, dataset=dataset.value) == detected


# --- 7. actionable error messages -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("yesterday", "'yesterday'"),
        ("2024-05-01T10:00:00", "'2024-05-01T10:00:00'"),
        ("2024-13-01T10:00:00Z", "'2024-13-01T10:00:00Z'"),
        (1714557600, "1714557600"),
    ],
)
def test_bad_timestamp_message_is_actionable(value: Any, shown: str) -> None:
    """A bad timestamp's message names the path, what was expected (RFC 3339 with an
    offset, with an example) and the offending value, and ends with the reason code.
    """
    record = {"uuid": "U", "actor_uuid": "A", "action": "create", "timestamp": value}
    with pytest.raises(NormalizationError) as info:
        normalize(record)
    error = info.value
    assert error.reason == "bad_timestamp"
    assert error.path == "$.timestamp"
    message = str(error)
    assert message.startswith("$.timestamp: ")
    assert "expected an RFC 3339 date-time" in message
    assert "offset" in message
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", message.split("got")[0])
    assert shown in message.split("got", 1)[1]
    assert message.endswith("[bad_timestamp]")


def test_missing_timestamp_message_is_actionable() -> None:
    """A record without a timestamp is rejected, with the path, and never given "now"."""
    with pytest.raises(NormalizationError) as info:
        normalize({"uuid": "U", "actor_uuid": "A", "action": "create"})
    assert info.value.reason == "missing_timestamp"
    assert info.value.path == "$.timestamp"
    assert "timestamp" in info.value.detail


def test_long_bad_value_is_shortened_in_message() -> None:
    """A huge bad timestamp is quoted shortened, so one error line stays readable."""
    with pytest.raises(NormalizationError) as info:
        normalize({"actor_uuid": "A", "timestamp": "x" * 100_000})
    assert info.value.reason == "bad_timestamp"
    assert len(str(info.value)) < 400
    assert "'xxxx" in str(info.value)


# --- open bugs found by the properties (when fixed: delete the entry from
# --- strategies.BUGS and drop the marker, so the properties cover the trigger again) ---


def _bug(bug: str) -> pytest.MarkDecorator:
    owner, what = BUGS[bug]  # KeyError: the bug was closed, drop the marker
    return pytest.mark.xfail(strict=True, reason=f"[{bug}] for {owner}: {what}")


_AUDIT = {"uuid": "U", "timestamp": "2024-05-01T10:00:00Z", "actor_uuid": "A", "action": "create"}


def _document(record: Any, **options: Any) -> dict[str, Any]:
    result = _call(record, **options)
    assert isinstance(result, dict), result
    return result


def _clean_document(record: Any, **options: Any) -> dict[str, Any]:
    document = _document(record, **options)
    assert validate(document) == []
    orjson.dumps(document)
    return document


def test_bug_deep_list_recursion() -> None:
    """Lists nested 600 deep in an unknown field (valid JSON text, which the CLI reads)
    must end up in onepassword.malformed, not as internal_error.
    """
    text = b'{"timestamp":"2024-05-01T10:00:00Z","actor_uuid":"A","x":' + b"[" * 600
    text += b"]" * 600 + b"}"
    document = _clean_document(text)
    assert "x" in document["onepassword"]["malformed"]


def test_bug_deep_object_recursion() -> None:
    """Objects nested 1000 deep in an unknown field (valid JSON text) end up in
    onepassword.malformed, not as internal_error.
    """
    text = b'{"timestamp":"2024-05-01T10:00:00Z","actor_uuid":"A","x":' + b'{"a":' * 1000
    text += b"1" + b"}" * 1000 + b"}"
    document = _clean_document(text)
    assert "x" in document["onepassword"]["malformed"]


@pytest.mark.parametrize(
    "extra",
    [2**70, orjson.loads(b'{"a":' * 300 + b"1" + b"}" * 300)],
    ids=["bigint", "nested-300"],
)
def test_bug_keep_original_unserializable(extra: Any) -> None:
    """keep_original on a dict orjson cannot dump (an int beyond 64 bits; 300 levels of
    objects, as the CLI passes page items) still gives a document, not internal_error.
    """
    document = _clean_document({**_AUDIT, "x": extra}, keep_original=True)
    assert document["event"]["original"]


def test_bug_huge_keyword() -> None:
    """A 40,000-byte actor name lands in keyword fields mapped with ignore_above 1024:
    Elasticsearch accepts that (it skips indexing the value), so validate() must too.
    """
    _clean_document({**_AUDIT, "actor_details": {"name": "x" * 40_000}})


def test_bug_huge_malformed() -> None:
    """A 40,000-byte aux_id (wrong type) is kept as malformed text; the document must
    still be indexable (validate() empty) without losing the value.
    """
    document = _clean_document({**_AUDIT, "aux_id": "x" * 40_000})
    assert _lost_values(Dataset.audit_events, {"aux_id": "x" * 40_000}, document) == []


def test_bug_coordinate_bigint() -> None:
    """Coordinates that are ints beyond 64 bits must not make the document
    unserializable (they belong in onepassword.malformed).
    """
    _clean_document({**_AUDIT, "location": {"latitude": 2**70, "longitude": 2**70}})


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-05-01T10:00:00Z".translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # noqa: RUF001
        "2024-05-01T1\u0663:00:00Z",
        "2024-05-01T10:00:00.\u0663Z",
    ],
    ids=["fullwidth", "arabic-indic-hour", "arabic-indic-fraction"],
)
def test_bug_non_ascii_digits(stamp: str) -> None:
    """RFC 3339 digits are ASCII; anything else is bad_timestamp (and is never copied
    into @timestamp).
    """
    result = _call({**_AUDIT, "timestamp": stamp})
    assert isinstance(result, NormalizationError), result
    assert result.reason == "bad_timestamp"


def test_bug_offset_minutes() -> None:
    """An offset with 99 minutes is not RFC 3339: bad_timestamp, not a shifted time."""
    result = _call({**_AUDIT, "timestamp": "2024-05-01T10:00:00+00:99"})
    assert isinstance(result, NormalizationError), result
    assert result.reason == "bad_timestamp"


@pytest.mark.parametrize(
    ("dataset", "extra"),
    [
        (Dataset.item_usages, {"aux_id": "abc"}),
        (Dataset.item_usages, {"session": {"login_time": "yesterday"}}),
        (Dataset.audit_events, {"type": 3}),
        (Dataset.signin_attempts, {"used_version": "seven"}),
    ],
    ids=["aux_id-in-item-usage", "login_time-in-item-usage", "type-in-audit", "version-in-signin"],
)
def test_bug_declared_vendor_types(dataset: Dataset, extra: dict[str, Any]) -> None:
    """A field declared in onepassword_fields.toml keeps its type whatever the stream:
    a value of the wrong type goes to onepassword.malformed, so the document validates.
    """
    record = {"timestamp": "2024-05-01T10:00:00Z", **extra}
    document = _clean_document(record, dataset=dataset)
    assert _lost_values(dataset, record, document) == []


def test_bug_underscore_keys() -> None:
    """An unknown key made only of underscores must not break validation."""
    record = {**_AUDIT, "_": 1, "x": {"__": 2}}
    document = _clean_document(record)
    assert _lost_values(Dataset.audit_events, record, document) == []


def test_bug_malformed_key_collision() -> None:
    """``session.ip: 5`` (wrong type) and a raw key ``"session.ip": 6`` both survive."""
    record = {**_AUDIT, "session": {"ip": 5}, "session.ip": 6}
    document = _clean_document(record)
    assert _lost_values(Dataset.audit_events, record, document) == []


@pytest.mark.parametrize(
    "record",
    [
        b'{"timestamp":"2024-05-01T10:00:00Z","actor_uuid":"A","x":'
        + b'{"a":' * 300
        + b"1"
        + b"}" * 300
        + b"}",
        {**_AUDIT, "x": {"a": 2**70}},
    ],
    ids=["nested-300-from-json-text", "bigint-in-object"],
)
def test_bug_malformed_not_json(record: Any) -> None:
    """Every onepassword.malformed value is JSON text (as documented), parseable by a
    JSON parser, whatever could not be indexed.
    """
    document = _clean_document(record)
    for text in document["onepassword"]["malformed"].values():
        json.loads(text)


def test_bug_lone_surrogates() -> None:
    """A dict from stdlib json.loads may hold lone surrogates ("\\ud800" escapes): the
    result must be an error or a document that validates and serializes.
    """
    record = json.loads(
        '{"timestamp": "2024-05-01T10:00:00Z", "actor_uuid": "A", "action": "\\ud800"}'
    )
    result = _call(record)
    if isinstance(result, dict):
        assert validate(result) == []
        orjson.dumps(result)


@pytest.mark.parametrize("key", ["", " x", "x "])
def test_bug_malformed_bad_keys(key: str) -> None:
    """Unknown keys that are empty or padded are kept, and the document validates."""
    record = {**_AUDIT, key: 1}
    document = _clean_document(record)
    assert _lost_values(Dataset.audit_events, record, document) == []
