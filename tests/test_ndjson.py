"""Reading inputs: lines, blank lines, BOM/CRLF, gzip sniffing, pages, arrays, documents."""

from __future__ import annotations

import gzip
import io
from contextlib import ExitStack
from pathlib import Path

import orjson
import pytest

from onepassword_ecs.stream._reader import (
    InputError,
    expand_unit,
    input_text,
    iter_records,
    iter_units,
    open_input,
)


def records(data: bytes) -> list[tuple[int, int | None, object]]:
    return list(iter_records(io.BytesIO(data)))


def read_all(path: Path, stdin: bytes | None = None) -> list[bytes]:
    with ExitStack() as stack:
        stream = open_input(str(path), stack, io.BytesIO(stdin) if stdin is not None else None)
        return list(stream)


# --- lines -------------------------------------------------------------------------


def test_plain_lines_are_passed_through_untouched_with_their_line_numbers() -> None:
    assert records(b'{"a":1}\n{"b":2}\n') == [(1, None, b'{"a":1}\n'), (2, None, b'{"b":2}\n')]


def test_blank_and_whitespace_lines_are_skipped_but_still_counted() -> None:
    got = records(b'\n{"a":1}\n   \n\t\r\n{"b":2}')
    assert got == [(2, None, b'{"a":1}\n'), (5, None, b'{"b":2}')]


def test_bom_is_dropped_and_crlf_is_harmless() -> None:
    got = records(b'\xef\xbb\xbf{"a":1}\r\n{"b":2}\r\n')
    assert got == [(1, None, b'{"a":1}\r\n'), (2, None, b'{"b":2}\r\n')]
    assert all(orjson.loads(payload) for _, _, payload in got)  # type: ignore[arg-type]


def test_bom_alone_on_the_first_line_is_a_blank_line() -> None:
    assert records(b'\xef\xbb\xbf\n{"a":1}\n') == [(2, None, b'{"a":1}\n')]


def test_bad_lines_are_left_for_normalize_to_reject() -> None:
    got = records(b'not json\n42\n{"a":\n')
    assert [payload for _, _, payload in got] == [b"not json\n", b"42\n", b'{"a":\n']


# --- arrays and pages ----------------------------------------------------------------


def test_array_line_yields_its_items_with_indexes() -> None:
    got = records(b'[{"a":1},{"b":2}]\n')
    assert got == [(1, 0, {"a": 1}), (1, 1, {"b": 2})]


def test_string_items_are_returned_as_json_text_for_normalize_to_reject() -> None:
    # A string item must not be handed over as a str: normalize would parse its content.
    got = list(expand_unit(b'[7, "{\\"a\\":1}", null, [1]]'))
    assert got == [(0, 7), (1, b'"{\\"a\\":1}"'), (2, None), (3, [1])]


def test_page_line_yields_its_items() -> None:
    page = b'{"cursor":"c1","has_more":true,"items":[{"a":1},{"b":2},{"c":3}]}\n'
    assert records(page) == [(1, 0, {"a": 1}), (1, 1, {"b": 2}), (1, 2, {"c": 3})]


def test_empty_page_yields_nothing() -> None:
    assert records(b'{"items": [], "cursor": "x", "has_more": false}\n{"a":1}\n') == [
        (2, None, b'{"a":1}\n')
    ]


def test_record_merely_mentioning_items_is_a_plain_record() -> None:
    line = b'{"action":"export","note":"\\"items\\"","items":"not a list"}'
    assert list(expand_unit(line)) == [(None, line)]


def test_broken_array_line_is_one_record() -> None:
    assert list(expand_unit(b"[1, 2")) == [(None, b"[1, 2")]


# --- whole-input documents -----------------------------------------------------------


def test_pretty_printed_page_is_read_as_one_document() -> None:
    page = {"items": [{"uuid": "1"}, {"uuid": "2"}], "cursor": "c", "has_more": False}
    data = b"\n\n" + orjson.dumps(page, option=orjson.OPT_INDENT_2) + b"\n"
    assert records(data) == [(3, 0, {"uuid": "1"}), (3, 1, {"uuid": "2"})]


def test_pretty_printed_array_is_read_as_one_document() -> None:
    data = orjson.dumps([{"uuid": "1"}, 5], option=orjson.OPT_INDENT_2)
    assert records(data) == [(1, 0, {"uuid": "1"}), (1, 1, 5)]


def test_pretty_printed_single_record_is_one_record() -> None:
    data = orjson.dumps({"uuid": "1", "nested": {"a": 1}}, option=orjson.OPT_INDENT_2)
    [(number, index, payload)] = records(data)
    assert (number, index) == (1, None)
    assert orjson.loads(payload) == {"uuid": "1", "nested": {"a": 1}}  # type: ignore[arg-type]


def test_malformed_pretty_document_is_one_bad_record_not_one_per_fragment() -> None:
    data = b'{\n  "items": [\n    {"a": 1},,\n  ]\n}\n'
    assert len(records(data)) == 1


def test_truncated_first_line_of_ndjson_does_not_swallow_the_rest() -> None:
    data = b'{"uuid": "x", "tim\n\n{"a":1}\n{"b":2}\n'
    assert records(data) == [
        (1, None, b'{"uuid": "x", "tim\n'),
        (3, None, b'{"a":1}\n'),
        (4, None, b'{"b":2}\n'),
    ]


def test_jq_style_run_of_pretty_documents_yields_one_unit_each() -> None:
    first = orjson.dumps({"uuid": "1", "nested": {"a": [1]}}, option=orjson.OPT_INDENT_2)
    page = orjson.dumps({"items": [{"uuid": "2"}]}, option=orjson.OPT_INDENT_2)
    data = first + b"\n" + page + b"\n" + b'{"uuid":"3"}\n'
    got = records(data)
    assert [(number, index) for number, index, _ in got] == [(1, None), (9, 0), (16, None)]
    assert got[1][2] == {"uuid": "2"}
    assert got[2][2] == b'{"uuid":"3"}\n'


def test_array_with_one_record_per_line_is_one_document() -> None:
    data = b'[\r\n{"uuid":"1"},\r\n{"uuid":"2"}\r\n]\r\n'
    assert records(data) == [(1, 0, {"uuid": "1"}), (1, 1, {"uuid": "2"})]


def test_stray_opener_line_in_ndjson_does_not_swallow_the_records_after_it() -> None:
    data = b'{"uuid":"1"}\n[\n{"uuid":"2"}\n{"uuid":"3"}\n{"uuid":"4"}\n'
    assert [number for number, _, _ in records(data)] == [1, 2, 3, 4, 5]


def test_unclosed_opener_before_a_last_good_record_keeps_the_record() -> None:
    data = b'{"items": [\n\n{"uuid":"2"}\n'
    assert records(data) == [(1, None, b'{"items": [\n'), (3, None, b'{"uuid":"2"}\n')]


def test_line_merely_ending_with_a_bracket_is_an_ordinary_line() -> None:
    units = list(iter_units(io.BytesIO(b'oops {\n{"a":1}\n')))
    assert units == [(1, b"oops {\n"), (2, b'{"a":1}\n')]


# --- opening inputs ------------------------------------------------------------------


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "export.log"  # no .gz
    path.write_bytes(gzip.compress(b'{"a":1}\n{"b":2}\n'))
    assert read_all(path) == [b'{"a":1}\n', b'{"b":2}\n']


def test_gz_name_with_plain_content_is_read_as_plain(tmp_path: Path) -> None:
    path = tmp_path / "plain.gz"
    path.write_bytes(b'{"a":1}\n')
    assert read_all(path) == [b'{"a":1}\n']


def test_gzip_on_stdin_without_peek_support() -> None:
    data = gzip.compress(b"\n".join(b'{"n":%d}' % i for i in range(1000)) + b"\n")
    lines = read_all(Path("-"), stdin=data)
    assert len(lines) == 1000
    assert lines[-1] == b'{"n":999}\n'


def test_tiny_inputs_shorter_than_the_magic(tmp_path: Path) -> None:
    for content in (b"", b"{", b"\x1f"):
        path = tmp_path / "tiny"
        path.write_bytes(content)
        assert b"".join(read_all(path)) == content


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with ExitStack() as stack, pytest.raises(InputError, match="cannot open"):
        open_input(str(tmp_path / "absent.ndjson"), stack)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:10] + b"\x00" * 40 + data[50:], id="corrupted"),
    ],
)
def test_unreadable_gzip_is_an_input_error_naming_the_input(tmp_path: Path, damage: object) -> None:
    payload = b"".join(b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * (i % 50)) for i in range(2000))
    path = tmp_path / "broken.gz"
    path.write_bytes(damage(gzip.compress(payload)))  # type: ignore[operator]
    with ExitStack() as stack:
        stream = open_input(str(path), stack)
        with pytest.raises(InputError, match=r"broken\.gz"):
            list(iter_units(stream, str(path)))


# --- error text ----------------------------------------------------------------------


def test_input_text_replaces_invalid_utf8_and_drops_the_line_ending() -> None:
    assert input_text(b'{"a":"\xff"}\r\n') == '{"a":"\ufffd"}'


def test_input_text_of_an_item_is_its_compact_json() -> None:
    assert input_text({"a": [1, "é"]}) == '{"a":[1,"é"]}'


def test_input_text_of_an_item_too_deep_for_orjson_falls_back_to_its_line() -> None:
    deep: list[object] = []
    for _ in range(300):
        deep = [deep]
    assert input_text(deep, b"[[[...]]]\r\n") == "[[[...]]]"
    assert input_text(deep) == "<this item cannot be shown as JSON>"
