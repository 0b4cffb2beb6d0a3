"""The ``onepassword-ecs`` command line, in-process (``main(argv)``) and as a real process.

Records are built here rather than read from fixtures/, so these tests only depend on
behaviour the CLI promises (accounting, order, error lines, exit statuses), not on the
details of the mappings.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs.cli import main
from onepassword_ecs.mapping import _bytes
from onepassword_ecs.stream import _convert, _source

SIGNIN: dict[str, Any] = {
    "uuid": "SIGNIN1",
    "session_uuid": "SESSION1",
    "timestamp": "2024-05-01T10:00:00Z",
    "category": "success",
    "type": "credentials_ok",
    "country": "FR",
    "details": None,
    "target_user": {"uuid": "USER1", "name": "Alice Example", "email": "alice@acme.example"},
    "client": {
        "app_name": "1Password CLI",
        "app_version": "20100",
        "platform_name": "x86_64",
        "platform_version": "1",
        "os_name": "Linux",
        "os_version": "6.8",
        "ip_address": "192.0.2.10",
    },
}
ITEM_USAGE: dict[str, Any] = {
    "uuid": "USAGE1",
    "timestamp": "2024-05-01T10:01:00.5Z",
    "used_version": 2,
    "vault_uuid": "vault1",
    "item_uuid": "item1",
    "action": "reveal",
    "user": {"uuid": "USER1", "name": "Alice Example", "email": "alice@acme.example"},
    "client": {"app_name": "1Password for Linux", "ip_address": "192.0.2.11"},
}
AUDIT: dict[str, Any] = {
    "uuid": "AUDIT1",
    "timestamp": "2024-05-01T10:02:00Z",
    "actor_uuid": "USER1",
    "action": "create",
    "object_type": "vault",
    "object_uuid": "vault1",
    "session": {
        "uuid": "SESSION2",
        "login_time": "2024-05-01T09:00:00Z",
        "device_uuid": "device1",
        "ip": "192.0.2.12",
    },
}


def record(base: dict[str, Any], uuid: str, **changes: Any) -> dict[str, Any]:
    return {**base, "uuid": uuid, **changes}


def line(value: Any) -> bytes:
    return orjson.dumps(value) + b"\n"


def run(argv: list[str], stdin: bytes = b"", *, tty: bool = False) -> tuple[int, bytes, str]:
    """Run ``main`` in-process; return (status, stdout bytes, stderr text)."""
    out = io.BytesIO()

    class Err(io.StringIO):
        def isatty(self) -> bool:
            return tty

    err = Err()
    status = main(argv, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def ids(output: bytes) -> list[str]:
    return [orjson.loads(doc)["event"]["id"] for doc in output.splitlines()]


def error_lines(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in text.splitlines() if x.startswith("{")]


def cli(
    *args: str, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


MIXED = b"".join(
    [
        line(SIGNIN),  # 1
        b"\n",  # 2 blank
        b"this is not json\n",  # 3 invalid_json
        line(ITEM_USAGE),  # 4
        b"42\n",  # 5 not_an_object
        line({k: v for k, v in AUDIT.items() if k != "timestamp"}),  # 6 missing_timestamp
        line(AUDIT),  # 7
        line(record(SIGNIN, "SIGNIN-BAD-TS", timestamp="yesterday-ish")),  # 8
    ]
)


# --- convert: accounting and error lines -------------------------------------------


def test_mixed_input_accounting_and_error_lines(tmp_path: Path) -> None:
    errors = tmp_path / "errors.ndjson"
    status, out, err = run(["convert", "--errors", str(errors)], MIXED)
    assert status == 1
    assert ids(out) == ["SIGNIN1", "USAGE1", "AUDIT1"]
    reported = error_lines(errors.read_text("utf-8"))
    assert [(e["line"], e["reason"]) for e in reported] == [
        (3, "invalid_json"),
        (5, "not_an_object"),
        (6, "missing_timestamp"),
        (8, "bad_timestamp"),
    ]
    for entry in reported:
        assert entry["source"] == "-"
        assert {"line", "source", "reason", "message", "input"} <= entry.keys()
        assert entry["message"] and "index" not in entry
    assert reported[0]["input"] == "this is not json"
    assert reported[1]["input"] == "42"
    assert reported[3]["path"] == "$.timestamp"
    assert orjson.loads(reported[3]["input"])["uuid"] == "SIGNIN-BAD-TS"
    # The summary: read = written + rejected, by reason and by dataset.
    assert "7 records read, 3 written, 4 rejected" in err
    assert (
        "rejected by reason: bad_timestamp 1, invalid_json 1, missing_timestamp 1, "
        "not_an_object 1" in err
    )
    assert "audit_events 1, item_usages 1, signin_attempts 1" in err
    assert "records/s" in err


def test_errors_go_to_stderr_without_errors_option() -> None:
    status, out, err = run(["convert"], line(SIGNIN) + b"[1]\n")
    assert status == 1
    assert ids(out) == ["SIGNIN1"]
    [entry] = error_lines(err)
    assert entry == {
        "line": 2,
        "index": 0,
        "source": "-",
        "reason": "not_an_object",
        "path": "$",
        "message": entry["message"],
        "input": "1",
    }


def test_every_record_is_written_or_reported_across_pages_and_arrays() -> None:
    page = {"items": [SIGNIN, {"no": "dataset"}, AUDIT], "cursor": "c", "has_more": True}
    data = b"".join(
        [
            line(page),  # 3 records, 1 bad
            line({"items": [], "cursor": "c", "has_more": False}),  # 0 records
            line([ITEM_USAGE, "text", AUDIT]),  # 3 records, 1 bad
            line(SIGNIN),  # 1 record
        ]
    )
    status, out, err = run(["convert"], data)
    assert status == 1
    assert ids(out) == ["SIGNIN1", "AUDIT1", "USAGE1", "AUDIT1", "SIGNIN1"]
    assert [(e["line"], e["index"], e["reason"]) for e in error_lines(err)] == [
        (1, 1, "unknown_dataset"),
        (3, 1, "not_an_object"),
    ]
    assert "7 records read, 5 written, 2 rejected" in err


def test_whole_file_pretty_printed_page(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    page = {"items": [SIGNIN, ITEM_USAGE], "cursor": "abc", "has_more": False}
    path.write_bytes(orjson.dumps(page, option=orjson.OPT_INDENT_2))
    status, out, _ = run(["convert", str(path)])
    assert status == 0
    assert ids(out) == ["SIGNIN1", "USAGE1"]


def test_bom_crlf_blank_lines_and_invalid_utf8() -> None:
    data = (
        b"\xef\xbb\xbf"
        + orjson.dumps(SIGNIN)
        + b"\r\n\r\n   \r\n"
        + orjson.dumps(AUDIT)
        + b"\r\n"
        + b'{"uuid": "\xff\xfe"}\r\n'
    )
    status, out, err = run(["convert"], data)
    assert status == 1
    assert ids(out) == ["SIGNIN1", "AUDIT1"]
    [entry] = error_lines(err)
    assert entry["line"] == 5
    assert entry["reason"] == "invalid_utf8"  # issue 9, item 9
    assert entry["input"] == '{"uuid": "\ufffd\ufffd"}'


def test_gzip_input_with_and_without_gz_name(tmp_path: Path) -> None:
    data = gzip.compress(line(SIGNIN) + line(AUDIT))
    named = tmp_path / "events.ndjson.gz"
    unnamed = tmp_path / "events.log"
    named.write_bytes(data)
    unnamed.write_bytes(data)
    status, out, err = run(["convert", str(named), str(unnamed)])
    assert status == 0, err
    assert ids(out) == ["SIGNIN1", "AUDIT1", "SIGNIN1", "AUDIT1"]


def test_error_lines_name_the_input_file(tmp_path: Path) -> None:
    good = tmp_path / "good.ndjson"
    bad = tmp_path / "bad.ndjson"
    good.write_bytes(line(SIGNIN))
    bad.write_bytes(line(SIGNIN) + b"oops\n")
    status, out, err = run(["convert", str(good), "-", str(bad)], stdin=b"[]\n")
    assert status == 1
    assert ids(out) == ["SIGNIN1", "SIGNIN1"]
    assert [(e["source"], e["line"]) for e in error_lines(err)] == [(str(bad), 2)]


def test_dataset_and_keep_original_options() -> None:
    status, out, _ = run(
        ["convert", "--dataset", "signin_attempts", "--keep-original", "-q"], line(SIGNIN)
    )
    assert status == 0
    [doc] = [orjson.loads(x) for x in out.splitlines()]
    assert doc["event"]["dataset"] == "1password.signin_attempts"
    assert orjson.loads(doc["event"]["original"]) == SIGNIN


def test_output_is_deterministic_sorted_compact_ndjson() -> None:
    _, first, _ = run(["convert", "-q"], MIXED)
    _, second, _ = run(["convert", "-q"], MIXED)
    assert first == second
    for text in first.splitlines():
        doc = orjson.loads(text)
        assert text == orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def test_items_nested_too_deep_to_re_encode_are_rejected_not_fatal() -> None:
    deep_list = b"[" * 300 + b"]" * 300
    deep_object = b'{"a":' * 300 + b"1" + b"}" * 300
    data = line(SIGNIN) + b"[" + deep_list + b"]\n" + b'{"items":[' + deep_object + b"]}\n"
    status, out, err = run(["convert"], data)
    assert status == 1
    assert ids(out) == ["SIGNIN1"]
    first, second = error_lines(err)
    assert (first["line"], first["index"], first["reason"]) == (2, 0, "not_an_object")
    assert first["input"] == "[" + deep_list.decode() + "]"
    assert (second["line"], second["index"]) == (3, 0)
    assert second["input"].startswith('{"items":[{"a":')


def test_a_document_that_cannot_be_encoded_is_one_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = _convert.normalize

    def unencodable_for_audit(record: Any, **options: Any) -> dict[str, Any]:
        document = real(record, **options)
        if document["event"]["dataset"] == "1password.audit_events":
            document["huge"] = 2**70  # orjson encodes 64-bit integers only
        return document

    monkeypatch.setattr(_convert, "normalize", unencodable_for_audit)
    # The bytes path (no stage needing a dict) encodes inside mapping/_bytes.py,
    # through its _dumps: it fails there as orjson fails on a 2**70.
    real_dumps = _bytes._dumps

    def refusing_audit_events(document: Any, **options: Any) -> bytes:
        text = real_dumps(document, **options)
        if b'"1password.audit_events"' in text:
            raise orjson.JSONEncodeError("Integer exceeds 64-bit range")
        return text

    monkeypatch.setattr(_bytes, "_dumps", refusing_audit_events)
    status, out, err = run(["convert"], line(SIGNIN) + line(AUDIT) + line(ITEM_USAGE))
    assert status == 1
    assert ids(out) == ["SIGNIN1", "USAGE1"]
    [entry] = error_lines(err)
    assert (entry["line"], entry["reason"]) == (2, "internal_error")
    assert "3 records read, 2 written, 1 rejected" in err


# --- convert: statuses, streams, files ----------------------------------------------


def test_exit_zero_when_everything_converts_and_quiet_prints_nothing() -> None:
    status, out, err = run(["convert", "--quiet"], line(SIGNIN) + line(ITEM_USAGE))
    assert (status, err) == (0, "")
    assert ids(out) == ["SIGNIN1", "USAGE1"]


def test_missing_input_is_exit_2_before_any_output(tmp_path: Path) -> None:
    good = tmp_path / "good.ndjson"
    good.write_bytes(line(SIGNIN))
    status, out, err = run(["convert", str(good), str(tmp_path / "absent.ndjson")])
    assert (status, out) == (2, b"")
    assert "absent.ndjson" in err


def test_bad_gzip_is_exit_2_and_leaves_no_output_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(line(SIGNIN) * 500)[:200])
    target = tmp_path / "out.ndjson"
    target.write_bytes(b"previous run\n")
    status, _, err = run(["convert", str(broken), "-o", str(target)])
    assert status == 2
    assert "broken.gz" in err
    assert target.read_bytes() == b"previous run\n"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.gz", "out.ndjson"]


def test_bad_gzip_with_output_file_claims_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_source, "CHUNK_LINES", 10)
    records = b"".join(line(record(SIGNIN, f"R{n}", country=f"{n:06d}")) for n in range(3000))
    compressed = gzip.compress(records)
    target = tmp_path / "out.ndjson"
    status, _, err = run(["convert", "-o", str(target)], compressed[: len(compressed) // 2])
    assert status == 2
    assert not target.exists()
    # What was converted before the damage never reached the file: not "written".
    found = re.search(
        r"([\d,]+) records read, \1 converted, 0 written, 0 rejected \(stopped\)", err
    )
    assert found and found.group(1) != "0", err


def test_bad_gzip_on_stdout_keeps_what_was_converted_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_source, "CHUNK_LINES", 10)
    records = b"".join(line(record(SIGNIN, f"R{n}", country=f"{n:06d}")) for n in range(3000))
    compressed = gzip.compress(records)
    status, out, err = run(["convert"], compressed[: len(compressed) // 2])
    assert status == 2
    written = ids(out)
    assert 0 < len(written) < 3000
    assert written == [f"R{n}" for n in range(len(written))]
    count = f"{len(written):,}"
    assert f"{count} records read, {count} converted, {count} written, 0 rejected (stopped)" in err
    assert "-: cannot read" in err


def test_usage_errors_are_exit_2() -> None:
    assert run(["convert", "--workers", "0"])[0] == 2
    assert run(["convert", "--dataset", "nonsense"])[0] == 2
    assert run(["frobnicate"])[0] == 2
    assert run([])[0] == 2


def test_output_in_a_missing_folder_is_exit_2_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "absent" / "ecs.ndjson"
    status, _, err = run(["convert", "-o", str(target)], line(SIGNIN))
    assert status == 2
    assert f"{target}: No such file or directory" in err


def test_output_file_appears_only_complete(tmp_path: Path) -> None:
    target = tmp_path / "out" / "ecs.ndjson"
    target.parent.mkdir()
    status, out, _ = run(["convert", "-o", str(target), "-q"], line(SIGNIN) + line(AUDIT))
    assert (status, out) == (0, b"")
    assert ids(target.read_bytes()) == ["SIGNIN1", "AUDIT1"]
    assert [p.name for p in target.parent.iterdir()] == ["ecs.ndjson"]  # no temp left
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class InterruptingStdin(io.RawIOBase):
    """Standard input that delivers some data, then behaves as if Ctrl-C was pressed."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._data:
            raise KeyboardInterrupt
        size = min(len(buffer), len(self._data))
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        return size


def test_interrupt_with_output_file_writes_nothing_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_source, "CHUNK_LINES", 10)
    target = tmp_path / "ecs.ndjson"
    err = io.StringIO()
    stdin = io.BufferedReader(InterruptingStdin(line(SIGNIN) * 35))
    status = main(["convert", "-o", str(target)], stdin=stdin, stdout=io.BytesIO(), stderr=err)
    assert status == 130
    assert list(tmp_path.iterdir()) == []
    # Nothing reached the file, and the summary says so instead of "30 written".
    assert f"interrupted; {target} was not written (left as it was)" in err.getvalue()
    assert "30 records read, 30 converted, 0 written, 0 rejected (interrupted)" in err.getvalue()
    assert "converted by dataset: signin_attempts 30" in err.getvalue()
    assert "30 written" not in err.getvalue()


def test_interrupt_on_stdout_keeps_what_was_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_source, "CHUNK_LINES", 10)
    out = io.BytesIO()
    err = io.StringIO()
    stdin = io.BufferedReader(InterruptingStdin(line(SIGNIN) * 35))
    assert main(["convert"], stdin=stdin, stdout=out, stderr=err) == 130
    assert len(out.getvalue().splitlines()) == 30
    assert "30 records read, 30 converted, 30 written, 0 rejected (interrupted)" in err.getvalue()


def test_progress_only_on_a_terminal_and_not_when_quiet() -> None:
    data = line(SIGNIN) * 3
    assert "\r" in run(["convert"], data, tty=True)[2]
    assert "\r" not in run(["convert"], data, tty=False)[2]
    assert run(["convert", "-q"], data, tty=True)[2] == ""


def test_workers_give_byte_identical_output_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks, so ordering across many chunks and workers is really exercised.
    monkeypatch.setattr(_source, "CHUNK_LINES", 7)
    pieces = []
    for n in range(120):
        pieces.append(line(record((SIGNIN, ITEM_USAGE, AUDIT)[n % 3], f"R{n}")))
        if n % 11 == 0:
            pieces.append(b"garbage %d\n" % n)
        if n % 17 == 0:
            pieces.append(line({"items": [record(AUDIT, f"P{n}"), 3], "has_more": False}))
    source = tmp_path / "in.ndjson"
    source.write_bytes(b"".join(pieces))
    results = []
    for workers in ("1", "2"):
        errors = tmp_path / f"errors{workers}.ndjson"
        status, out, _ = run(
            ["convert", str(source), "--errors", str(errors), "--workers", workers, "-q"]
        )
        results.append((status, out, errors.read_bytes()))
    assert results[0] == results[1]
    assert results[0][0] == 1
    assert len(results[0][1].splitlines()) == 120 + 8


# --- real processes ------------------------------------------------------------------


def test_module_and_console_script_over_stdin_and_stdout() -> None:
    done = cli("convert", stdin=line(SIGNIN) + b"nope\n")
    assert done.returncode == 1
    assert ids(done.stdout) == ["SIGNIN1"]
    assert b'"reason":"invalid_json"' in done.stderr
    script = Path(sys.executable).with_name("onepassword-ecs")
    if not script.exists():
        pytest.skip("console script not installed next to this interpreter")
    done = subprocess.run(
        [str(script), "convert", "-q"],
        input=line(AUDIT),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    assert ids(done.stdout) == ["AUDIT1"]


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough lines for several default-size chunks and to overflow a pipe buffer."""
    path = tmp_path_factory.mktemp("big") / "big.ndjson"
    base = (SIGNIN, ITEM_USAGE, AUDIT)
    path.write_bytes(
        b"".join(line(record(base[n % 3], f"R{n}")) for n in range(4500)) + b"bad line\n"
    )
    return path


def test_workers_in_real_processes_match_single_process(big_input: Path, tmp_path: Path) -> None:
    one = cli("convert", str(big_input), "-o", str(tmp_path / "one"), "--workers", "1")
    two = cli("convert", str(big_input), "-o", str(tmp_path / "two"), "--workers", "2")
    assert one.returncode == two.returncode == 1
    assert (tmp_path / "one").read_bytes() == (tmp_path / "two").read_bytes()
    assert len((tmp_path / "two").read_bytes().splitlines()) == 4500
    for done in (one, two):
        assert b"4,501 records read, 4,500 written, 1 rejected" in done.stderr


def test_closed_output_pipe_ends_quietly(big_input: Path) -> None:
    command = " ".join(
        shlex.quote(part)
        for part in (sys.executable, "-m", "onepassword_ecs", "convert", str(big_input))
    )
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -n 1"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert ids(done.stdout) == ["R0"]
    assert b"Traceback" not in done.stderr
    assert b"BrokenPipe" not in done.stderr
    assert done.returncode == 141


# --- template ------------------------------------------------------------------------


def test_template_prints_json() -> None:
    status, out, _ = run(["template", "--flavor", "opensearch", "--name", "x", "--pattern", "y*"])
    assert status == 0
    assert isinstance(orjson.loads(out), dict)
    assert out.endswith(b"\n") and b"\n  " in out  # pretty-printed
