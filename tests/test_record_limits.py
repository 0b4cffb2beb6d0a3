"""Records too large to hold, and records that are not UTF-8 (issue 9, items 6 and 9).

Item 6: a record (a line, or an item of a page) longer than ``--max-record-bytes`` is
rejected as ``record_too_large`` with only its first 4 KiB, its length and its SHA-256
in the error line, and the converter never holds the rest: a 200 MB line costs a few
megabytes, measured on a real process fed through a pipe.
Item 9 (the stream's half): the error line of a record whose bytes are not UTF-8
carries them exactly in ``input_base64``, so the record can be recovered.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs.stream import HEAD_BYTES, MAX_RECORD_BYTES, PAGE_FACTOR, Oversize
from onepassword_ecs.stream._bounded import bounded_lines
from onepassword_ecs.stream._reader import iter_units
from test_cli import AUDIT, SIGNIN, error_lines, ids, line, record, run

KIB = 1024
PAGE_RECORDS = 9_500  # about 4 MiB as one page line


def padded(base: dict[str, Any], uuid: str, size: int) -> bytes:
    """A valid record whose compact JSON is exactly ``size`` bytes."""
    empty = orjson.dumps(record(base, uuid, note=""))
    text = orjson.dumps(record(base, uuid, note="x" * (size - len(empty))))
    assert len(text) == size
    return text


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the bounded line reader ----------------------------------------------------------


def _lines(data: bytes, limit: int, buffer_size: int = 64) -> list[bytes | Oversize]:
    # A small buffer makes pieces split everywhere, \r\n endings included.
    stream = io.BufferedReader(io.BytesIO(data), buffer_size=buffer_size)
    return list(bounded_lines(stream.readline, limit))


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""])
def test_an_over_long_line_is_summarised_and_the_next_line_is_intact(ending: bytes) -> None:
    long = b'{"a":"' + b"\xc3\xa9" * 3000 + b'"}'
    data = b'{"first":1}\n' + long + ending + (b'{"next":2}\n' if ending else b"")
    got = _lines(data, limit=100)
    assert got[0] == b'{"first":1}\n'
    assert got[1] == Oversize(long[:HEAD_BYTES], len(long), sha256(long))
    assert got[2:] == ([b'{"next":2}\n'] if ending else [])


def test_a_line_of_exactly_the_limit_is_kept_whatever_its_ending() -> None:
    for ending in (b"\n", b"\r\n", b""):
        assert _lines(b"x" * 100 + ending, limit=100) == [b"x" * 100 + ending]
    [summary] = _lines(b"x" * 101 + b"\r\n", limit=100)
    assert isinstance(summary, Oversize) and summary.length == 101


def test_a_page_line_may_exceed_the_record_limit_up_to_the_page_limit() -> None:
    page = b'{"cursor":"c","items":[' + b",".join([b'{"n":1}'] * 40) + b"]}"
    assert 100 < len(page) <= 100 * PAGE_FACTOR
    assert _lines(page + b"\n", limit=100) == [page + b"\n"]
    too_big = b'{"items":[' + b",".join([b'{"n":1}'] * 100) + b"]}"
    [summary] = _lines(too_big + b"\n", limit=100)
    assert summary == Oversize(too_big[:HEAD_BYTES], len(too_big), sha256(too_big))


def test_a_pretty_document_over_the_page_limit_is_one_too_large_record() -> None:
    document = orjson.dumps({"items": [{"n": n} for n in range(200)]}, option=orjson.OPT_INDENT_2)
    after = b'{"next":1}\n'
    stream = io.BytesIO(b"\n" + document + b"\n" + after)
    units = list(iter_units(stream, max_record_bytes=100))
    assert units == [
        (2, Oversize(document[:HEAD_BYTES], len(document), sha256(document))),
        (2 + document.count(b"\n") + 1, after),
    ]


def test_an_unclosed_opener_with_a_record_inside_stays_bounded_and_keeps_the_record() -> None:
    # An opener, then lines that never close it, one of which is a record of its own:
    # past the document limit the lines are read one by one, the record included,
    # without reading on (and holding) the rest of the input.
    consumed = 0

    def lines() -> Iterator[bytes]:
        nonlocal consumed
        yield b"{\n"
        yield b'  "k": "' + b"x" * 80 + b'",\n'
        yield b'{"uuid":"1"}\n'
        for _ in range(100_000):
            consumed += 1
            yield b'  "k": "' + b"x" * 80 + b'",\n'

    units = list(itertools.islice(iter_units(lines(), max_record_bytes=100), 10))
    assert units[:3] == [(1, b"{\n"), (2, units[1][1]), (3, b'{"uuid":"1"}\n')]
    assert consumed < 10  # gathering stopped at the document limit (400 bytes)


# --- the command line -------------------------------------------------------------------


def test_a_line_over_the_limit_is_rejected_with_head_length_and_digest(tmp_path: Path) -> None:
    big = padded(SIGNIN, "BIG", 10 * KIB)
    exact = padded(AUDIT, "EXACT", 8 * KIB)
    data = line(SIGNIN) + big + b"\n" + exact + b"\n"
    errors = tmp_path / "errors.ndjson"
    status, out, err = run(["convert", "--max-record-bytes", "8KiB", "--errors", str(errors)], data)
    assert status == 1
    assert ids(out) == ["SIGNIN1", "EXACT"]
    [entry] = error_lines(errors.read_text("utf-8"))
    assert (entry["line"], entry["reason"]) == (2, "record_too_large")
    assert entry["input"] == big[:HEAD_BYTES].decode()
    assert (entry["input_length"], entry["input_sha256"]) == (len(big), sha256(big))
    assert "10,240 bytes, over the limit of 8,192" in entry["message"]
    assert "rejected by reason: record_too_large 1" in err


def test_an_item_of_a_page_over_the_limit_is_rejected_alone() -> None:
    big = orjson.loads(padded(AUDIT, "BIG", 6 * KIB))
    page = {"items": [SIGNIN, big, record(SIGNIN, "AFTER")], "cursor": "c", "has_more": True}
    status, out, err = run(["convert", "--max-record-bytes", "4KiB"], line(page))
    assert status == 1
    assert ids(out) == ["SIGNIN1", "AFTER"]
    [entry] = error_lines(err)
    assert (entry["line"], entry["index"], entry["reason"]) == (1, 1, "record_too_large")
    text = orjson.dumps(big)
    assert (entry["input_length"], entry["input_sha256"]) == (len(text), sha256(text))
    assert entry["input"] == text[:HEAD_BYTES].decode()


def test_an_item_of_a_pretty_printed_page_over_the_limit_is_rejected_alone() -> None:
    # Many short fields: every line of the pretty text is short, the item is not.
    big = record(AUDIT, "BIG", aux_details={f"k{n}": "x" * 50 for n in range(100)})
    assert len(orjson.dumps(big)) > 4 * KIB
    page = {"items": [SIGNIN, big], "cursor": "c", "has_more": False}
    data = orjson.dumps(page, option=orjson.OPT_INDENT_2)
    status, out, err = run(["convert", "--max-record-bytes", "4KiB"], data)
    assert status == 1
    assert ids(out) == ["SIGNIN1"]
    [entry] = error_lines(err)
    assert (entry["index"], entry["reason"]) == (1, "record_too_large")


def test_worker_processes_reject_the_same_records(tmp_path: Path) -> None:
    big_item = orjson.loads(padded(AUDIT, "BIG-ITEM", 6 * KIB))
    data = (
        line(SIGNIN)
        + padded(SIGNIN, "BIG-LINE", 10 * KIB)
        + b"\n"
        + line({"items": [big_item, AUDIT], "has_more": False})
    )
    source = tmp_path / "in.ndjson"
    source.write_bytes(data)
    results = []
    for workers in ("1", "2"):
        errors = tmp_path / f"errors{workers}.ndjson"
        argv = ["convert", str(source), "--max-record-bytes", "4KiB", "--errors", str(errors)]
        status, out, _ = run([*argv, "--workers", workers, "-q"])
        results.append((status, out, errors.read_bytes()))
    assert results[0] == results[1]
    assert ids(results[0][1]) == ["SIGNIN1", "AUDIT1"]
    reasons = [(e["line"], e["reason"]) for e in error_lines(results[0][2].decode())]
    assert reasons == [(2, "record_too_large"), (3, "record_too_large")]


def test_the_default_limit_is_one_mebibyte() -> None:
    assert MAX_RECORD_BYTES == 1 << 20
    data = padded(SIGNIN, "FITS", MAX_RECORD_BYTES) + b"\n"
    data += padded(SIGNIN, "OVER", MAX_RECORD_BYTES + 1) + b"\n"
    status, out, err = run(["convert"], data)
    assert status == 1
    assert ids(out) == ["FITS"]
    [entry] = error_lines(err)
    assert (entry["line"], entry["reason"]) == (2, "record_too_large")
    assert entry["input_length"] == MAX_RECORD_BYTES + 1


def test_a_bad_size_is_a_usage_error() -> None:
    assert run(["convert", "--max-record-bytes", "lots"])[0] == 2
    assert run(["convert", "--max-record-bytes", "0"])[0] == 2


# The converter reports its own peak: VmHWM, the high-water mark of this process image.
# (getrusage's ru_maxrss would not do: on Linux it keeps the peak of the forking parent,
# here the whole pytest process, across exec.)
_MEASURED = """
import sys
from onepassword_ecs.cli import main
status = main(sys.argv[1:])
with open("/proc/self/status") as status_file:
    peak = next(x for x in status_file if x.startswith("VmHWM:")).split()[1]
print(f"peak_rss_kib={peak}", file=sys.stderr)
sys.exit(status)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_200_mb_line_is_rejected_in_bounded_memory() -> None:
    """Peak RSS of a real converter fed, through a pipe, 200 MB lines and a full page.

    The test itself never holds the line: it writes it in 1 MiB pieces and hashes
    them as they go. The converter reports its own peak RSS when done.
    """
    piece = b"A" * (1 << 20)
    pieces = 200
    plain_head = b'{"uuid":"HUGE","note":"'
    page_head = b'{"cursor":"c","has_more":true,"items":[{"note":"'
    tail = b'"}'
    page_tail = b'"}]}'
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [sys.executable, "-c", _MEASURED, "convert"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
        )
        assert process.stdin is not None
        digests = []
        for head, end in ((plain_head, tail), (page_head, page_tail)):
            digest = hashlib.sha256(head)
            process.stdin.write(head)
            for _ in range(pieces):
                process.stdin.write(piece)
                digest.update(piece)
            process.stdin.write(end + b"\n")
            digest.update(end)
            digests.append((digest.hexdigest(), len(head) + pieces * len(piece) + len(end)))
        # The largest page line allowed by default, of small records: parsed and
        # converted whole, the costliest thing a line may legitimately be.
        items = [record(SIGNIN, f"P{n}") for n in range(PAGE_RECORDS)]
        page = line({"items": items, "cursor": "c", "has_more": False})
        assert MAX_RECORD_BYTES * PAGE_FACTOR * 0.9 < len(page) <= MAX_RECORD_BYTES * PAGE_FACTOR
        process.stdin.write(page)
        process.stdin.write(line(SIGNIN))
        process.stdin.close()
        assert process.wait(timeout=300) == 1
        out.seek(0)
        err.seek(0)
        documents, report = out.read(), err.read().decode()
    assert ids(documents) == [f"P{n}" for n in range(PAGE_RECORDS)] + ["SIGNIN1"]
    entries = error_lines(report)
    assert [(e["line"], e["reason"]) for e in entries] == [
        (1, "record_too_large"),
        (2, "record_too_large"),
    ]
    for entry, (digest, length), head in zip(
        entries, digests, (plain_head, page_head), strict=True
    ):
        assert (entry["input_sha256"], entry["input_length"]) == (digest, length)
        assert len(entry["input"]) == HEAD_BYTES
        assert entry["input"].startswith(head.decode())
    peak_mib = int(report.split("peak_rss_kib=")[1].split()[0]) / 1024
    print(f"peak RSS on two 200 MB lines and a 4 MiB page: {peak_mib:.1f} MiB")
    assert peak_mib < 150


# --- item 9: bytes that are not UTF-8 ---------------------------------------------------


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_a_record_that_is_not_utf8_can_be_recovered_from_its_error_line(ending: bytes) -> None:
    # Latin-1 text from a misconfigured shipper: valid JSON structure, invalid UTF-8.
    broken = orjson.dumps(record(SIGNIN, "LATIN1")).replace(b"Alice", b"Al\xefce\xff")
    status, out, err = run(["convert"], line(SIGNIN) + broken + ending + line(AUDIT))
    assert status == 1
    assert ids(out) == ["SIGNIN1", "AUDIT1"]
    [entry] = error_lines(err)
    assert entry["line"] == 2
    recovered = base64.b64decode(entry["input_base64"])
    assert recovered == broken  # exactly the record's bytes, without the line ending
    assert entry["input"] == broken.decode("utf-8", "replace")
    # Repaired (here: read as Latin-1, which it was), it converts.
    fixed = recovered.decode("latin-1").encode("utf-8")
    status, out, _ = run(["convert", "-q"], fixed + b"\n")
    assert status == 0
    assert orjson.loads(out)["user"]["name"] == "Al\u00efce\u00ff Example"


def test_valid_utf8_error_lines_carry_no_base64() -> None:
    _, _, err = run(["convert"], b"not json \xc3\xa9\n")
    [entry] = error_lines(err)
    assert entry["input"] == "not json \u00e9"
    assert "input_base64" not in entry


def test_a_too_large_record_that_is_not_utf8_carries_its_head_in_base64() -> None:
    big = b'{"uuid":"\xff' + b"x" * (8 * KIB) + b'"}'
    _, _, err = run(["convert", "--max-record-bytes", "4KiB"], big + b"\n")
    [entry] = error_lines(err)
    assert entry["reason"] == "record_too_large"
    assert base64.b64decode(entry["input_base64"]) == big[:HEAD_BYTES]
    assert entry["input_sha256"] == sha256(big)


def test_a_head_cut_inside_a_character_is_cut_back_to_it() -> None:
    big = b'{"uuid":"' + "\u00e9".encode() * (4 * KIB) + b'"}'  # é is 2 bytes, head is odd
    _, _, err = run(["convert", "--max-record-bytes", "4KiB"], big + b"\n")
    [entry] = error_lines(err)
    assert "input_base64" not in entry
    assert entry["input"] == big[: HEAD_BYTES - 1].decode()
