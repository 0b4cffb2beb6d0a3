"""Issue 9, hostile input to the library: cycles, repeated keys, big integers, bytes that
are not UTF-8. Each is refused (or kept exactly) with a reason code and a path, in
bounded time and memory, never a MemoryError, a RecursionError or an endless loop.
"""

from __future__ import annotations

import resource
import time
from typing import Any

import orjson
import pytest

from onepassword_ecs import NormalizationError, normalize, validate
from onepassword_ecs.mapping import decode_json
from records import audit, signin

_BASE = '"uuid":"X","timestamp":"2024-01-02T03:04:05Z","category":"success"'


def _rec(rest: str) -> str:
    """A valid sign-in record's JSON text with ``rest`` added before the closing brace."""
    return "{" + _BASE + rest + "}"


def _reason(record: Any) -> tuple[str, str | None]:
    with pytest.raises(NormalizationError) as caught:
        normalize(record)
    return caught.value.reason, caught.value.path


# --- cycles (item 5) --------------------------------------------------------------------


def _self_referencing() -> list[dict[str, Any]]:
    direct = signin()
    direct["loop"] = direct
    nested = audit()
    nested["session"]["extra"] = {"back": [nested]}
    through_list: list[Any] = []
    through_list.append(through_list)
    listed = signin(extra=through_list)
    location = signin()
    location["location"]["self"] = location["location"]
    return [direct, nested, listed, location]


@pytest.mark.parametrize("index", range(4))
def test_cycle_is_cyclic_structure_quickly(index: int) -> None:
    """A dict or list that contains itself: cyclic_structure with the path where the
    cycle closes, at once."""
    record = _self_referencing()[index]
    started = time.monotonic()
    reason, path = _reason(record)
    assert reason == "cyclic_structure"
    assert path in ("$.loop", "$.session.extra.back[0]", "$.extra[0]", "$.location.self")
    assert time.monotonic() - started < 1


def test_validate_reports_a_cycle_instead_of_looping() -> None:
    """validate on a document that contains itself returns one problem naming it."""
    doc = normalize(signin())
    doc["onepassword"]["loop"] = [doc]
    looped: list[Any] = []
    looped.append(looped)
    for document, where in (
        (doc, "onepassword.loop[0]"),
        ({"labels": {"x": looped}}, "labels.x[0]"),
    ):
        problems = validate(document)
        assert [problem.path for problem in problems] == [where]
        assert "cycle" in problems[0].message


def test_shared_subobjects_that_explode_are_refused_in_bounded_time() -> None:
    """No cycle, but an object listed twice in itself 80 levels deep writes out as 2**80
    values: record_too_large, at once, instead of an endless encode."""
    blob: Any = ["x"]
    for _ in range(80):
        blob = [blob, blob]
    started = time.monotonic()
    reason, _path = _reason(signin(extra=blob))
    assert reason == "record_too_large"
    assert time.monotonic() - started < 2
    problems = validate({"labels": {"x": blob}, "@timestamp": "2024-01-02T03:04:05Z"})
    assert len(problems) == 1 and "values once written" in problems[0].message


def test_shared_but_small_subobjects_are_fine() -> None:
    """The same (small) object in two places is a tree once written out: converted."""
    shared = {"note": "same"}
    doc = normalize(signin(first=shared, second=shared))
    assert doc["onepassword"]["first"] == doc["onepassword"]["second"] == {"note": "same"}


def test_cycle_check_memory_is_bounded() -> None:
    """Refusing a cycle allocates nothing in proportion to the (endless) unrolled record."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for index in range(4):
        for _ in range(200):
            with pytest.raises(NormalizationError):
                normalize(_self_referencing()[index])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert after - before < 50_000  # KiB


# --- repeated keys (item 7) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (_rec(',"timestamp":"2030-01-01T00:00:00Z"'), "$.timestamp"),
        ('{"timestamp" : "2030-01-01T00:00:00Z", ' + _BASE + "}", "$.timestamp"),
        (_rec(',"x":{"a":1,"a"\t:2}'), "$.x.a"),
        (_rec(',"x":{"a":1,"a"\n:2}'), "$.x.a"),
        (_rec(',"x":[{"q":"\\\\","q":"\\\\"}]'), "$.x[0].q"),
        (_rec(',"x":{"a":"\\u0022:","a":1}'), "$.x.a"),
        (_rec(',"x":{"a":1,"a":"\\u0022:"}'), "$.x.a"),
        (_rec(',"x":{"a":1,"a":"say \\"hi\\": there"}'), "$.x.a"),
        (_rec(',"x":{"":1,"":2}'), '$.x[""]'),
        (_rec(',"x":{"a.b":1,"a.b":2}'), '$.x["a.b"]'),
    ],
)
def test_repeated_key_is_duplicate_key_with_path(text: str, path: str) -> None:
    """A key repeated in any object, however spaced or escaped, is refused with its path:
    {"timestamp": A, "timestamp": B} never becomes B unnoticed."""
    for record in (text, text.encode()):
        assert _reason(record) == ("duplicate_key", path)


@pytest.mark.parametrize(
    "text",
    [
        _rec(',"x":"say \\"hi\\": there"'),
        _rec(',"x":"\\u0022:\\"\\":"'),
        "{ " + _BASE + ' , "y" : { "a" : 1 , "b" : [ "c" , { "a" : 2 } ] } }',
    ],
)
def test_escapes_and_spacing_without_repeats_are_fine(text: str) -> None:
    """Escaped quotes and spacing that defeat the fast count still convert."""
    assert normalize(text)["event"]["id"] == "X"
    assert normalize(text.encode())["event"]["id"] == "X"


def test_page_items_keep_their_repeats_visible() -> None:
    """decode_json (for pages) keeps a repeated key visible in the item that has it, so
    normalize refuses that item alone."""
    page = b'{"items": [{%s}, {%s, "uuid": "Y"}], "has_more": false}' % (
        _BASE.encode(),
        _BASE.encode(),
    )
    items = decode_json(page)["items"]
    assert normalize(items[0])["event"]["id"] == "X"
    assert _reason(items[1]) == ("duplicate_key", "$.uuid")


# --- integers beyond 64 bits (item 8) ----------------------------------------------------


@pytest.mark.parametrize(
    "digits",
    [
        "99999999999999999999999",
        "-9223372036854775809",
        "18446744073709551616",
        "1" + "0" * 400,
        "-" + "7" * 1000,
    ],
)
def test_big_integers_in_text_keep_their_exact_digits(digits: str) -> None:
    """An integer no index can hold goes to onepassword.malformed as its exact digits,
    from JSON text as from a dict (never "1e+23")."""
    text = _rec(f',"huge":{digits},"aux":{{"n":{digits}}}')
    from_text = normalize(text.encode())
    from_dict = normalize(
        {**orjson.loads(_rec("")), "huge": int(digits), "aux": {"n": int(digits)}}
    )
    assert from_text["onepassword"]["malformed"]["huge"] == digits
    assert from_text["onepassword"]["malformed"] == from_dict["onepassword"]["malformed"]
    assert validate(from_text) == []


def test_ordinary_large_floats_stay_floats() -> None:
    """A float literal is a float: 1e19 is not turned into an integer."""
    doc = normalize((_rec(',"f":1e19,"g":12345678901234567890.5')).encode())
    assert doc["onepassword"]["f"] == 1e19
    assert doc["onepassword"]["g"] == 12345678901234567890.5


def test_number_too_large_for_a_double_is_invalid_json() -> None:
    """A float literal beyond a double (1e400) is not a number JSON readers agree on."""
    assert _reason((_rec(',"f":1e400')).encode())[0] == "invalid_json"


# --- bytes that are not UTF-8 (item 9) ---------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        (b'{"uuid":"\xff"}', 9),
        (b'{"uuid":"caf\xc3"}', 12),
        (b'\xc0\xaf{"uuid":"X"}', 0),
        (b'{"uuid":"X","name":"\xed\xa0\x80"}', 20),
    ],
)
def test_invalid_utf8_names_the_byte_offset(raw: bytes, offset: int) -> None:
    """Bytes that are not UTF-8: reason invalid_utf8, and the message gives the offset of
    the first bad byte (not invalid_json, which would send someone hunting for a comma)."""
    with pytest.raises(NormalizationError) as caught:
        normalize(raw)
    assert caught.value.reason == "invalid_utf8"
    assert f"byte offset {offset} " in str(caught.value)
    with pytest.raises(NormalizationError) as again:
        normalize(bytearray(raw))
    assert again.value.reason == "invalid_utf8"


def test_lone_surrogate_in_str_is_invalid_unicode() -> None:
    """A Python str holding a lone surrogate is invalid Unicode, with its offset."""
    with pytest.raises(NormalizationError) as caught:
        normalize('{"uuid":"\ud800"}')
    assert caught.value.reason == "invalid_unicode"
    assert "character offset 9" in str(caught.value)


def test_convert_refuses_a_repeated_key_inside_a_page(tmp_path: Any) -> None:
    """Through the CLI, a page's item that repeats a key is rejected alone, with its
    index and path; its neighbours are written, and a big integer keeps its digits."""
    import subprocess
    import sys

    page = b'{"items": [{%s}, {%s, "uuid": "Y"}, {%s, "n": 99999999999999999999999}]}\n' % (
        _BASE.encode(),
        _BASE.encode(),
        _BASE.encode(),
    )
    source = tmp_path / "page.json"
    source.write_bytes(page)
    errors = tmp_path / "errors.ndjson"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "onepassword_ecs",
            "convert",
            str(source),
            "--errors",
            str(errors),
            "-q",
        ],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 1
    documents = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert len(documents) == 2
    assert documents[1]["onepassword"]["malformed"]["n"] == "99999999999999999999999"
    (error,) = [orjson.loads(line) for line in errors.read_bytes().splitlines()]
    assert (error["index"], error["reason"], error["path"]) == (1, "duplicate_key", "$.uuid")


def test_lone_surrogate_escape_after_a_huge_integer_is_still_refused() -> None:
    """The strict re-decode (for an integer too long for a double) must not let through
    the lone surrogate orjson would have refused further on."""
    text = _rec(',"n":' + "9" * 400 + ',"b":"\\ud800"').encode()
    assert _reason(text) == ("invalid_unicode", None)


def test_page_records_read_in_one_pass_convert_like_their_text() -> None:
    """Records of a page read on the fast path skip the dict checks (they come from JSON
    text: a tree of valid Unicode) and give exactly the document their own text gives."""
    from onepassword_ecs.mapping._decode import JsonObject

    lines = [orjson.dumps(record) for record in (signin(), audit(), signin(country="FR"))]
    page = b'{"items": [' + b",".join(lines) + b'], "cursor": "c", "has_more": true}'
    items = decode_json(page)["items"]
    assert [item.__class__ for item in items] == [JsonObject] * 3
    assert [normalize(item) for item in items] == [normalize(line) for line in lines]
    record = decode_json(b'{"items": [{"a": 1}], "uuid": "X"}')  # a record, not a page
    assert record["items"][0].__class__ is dict


# --- issue 21, item 25: an item that is an array is one record, never nothing ---------


@pytest.mark.parametrize("item", [b"[]", b"[[]]", b"[{}, {}]", b'{"items": []}', b"[1]"])
def test_a_page_item_that_is_an_array_is_one_rejected_record(item: bytes) -> None:
    """The collector sends each item of a page as its own unit (``whole_records``): an
    item that is an array, even an empty one, is one record, rejected with a reason,
    so records read = written + rejected holds for every page."""
    from onepassword_ecs.stream import Task, convert_chunk

    good = orjson.dumps(signin(uuid="WHOLE0000000000000000000001"))
    units: list[tuple[int, bytes]] = [(1, good), (2, item), (3, good.replace(b"0001", b"0002"))]
    result = convert_chunk(Task({"stream": "signin_attempts"}, units, whole_records=True))
    assert (result.read, result.written) == (3, 2)
    assert sum(result.rejected.values()) == 1
    [error] = [orjson.loads(line) for line in result.errors.splitlines()]
    assert error["line"] == 2 and error["reason"] in ("not_an_object", "unknown_dataset")


def test_a_file_line_that_is_an_empty_array_is_still_no_record() -> None:
    """Files keep their meaning: a line ``[]`` is an export of nothing."""
    from onepassword_ecs.stream import Task, convert_chunk

    result = convert_chunk(Task({"source": "f"}, [(1, b"[]"), (2, b"[[]]")]))
    assert (result.read, result.written, sum(result.rejected.values())) == (1, 0, 1)


def test_the_collector_reports_an_empty_array_item(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: a page holding ``[]`` among its items, through ``collect --once``."""
    from collect_helpers import (
        collect_args,
        make_events,
        new_token,
        read_ndjson,
        run_cli,
        start_stub,
    )

    token = new_token()
    monkeypatch.setenv("EVENTS_API_TOKEN", token)
    api = start_stub(token)
    try:
        events = make_events("itemusages", 3, prefix="W")
        api.add("itemusages", [events[0], [], events[1], events[2]])  # type: ignore[list-item]
        out, errors = tmp_path / "out.ndjson", tmp_path / "errors.ndjson"
        args = collect_args(
            api, tmp_path, "--once", "--streams", "itemusages", "-o", str(out), "--errors",
            str(errors),
        )  # fmt: skip
        status, _, stderr = run_cli(args)
    finally:
        api.stop()
    assert len(read_ndjson(out)) == 3, stderr
    rejected = read_ndjson(errors)
    assert [(entry["stream"], entry["reason"]) for entry in rejected] == [
        ("item_usages", "not_an_object")
    ]
    assert status == 0, stderr
