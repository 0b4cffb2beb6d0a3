"""``convert --store`` and ``store stats|export``: the store as the CLI shows it.

The promise checked here: what goes into the store comes back out byte for byte as
``convert`` wrote it, once per event however often it is delivered, and every record is
accounted for in every sink.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs.cli import main
from onepassword_ecs.sinks import SCHEMA_VERSION
from records import ALICE, BOB, audit, item_usage, signin

DAY_ONE = "2025-03-10"
DAY_TWO = "2025-03-11"


def _records() -> list[dict[str, Any]]:
    """Twelve records over two days, in time order, of all three datasets."""
    records: list[dict[str, Any]] = []
    for index in range(12):
        day = DAY_ONE if index < 7 else DAY_TWO
        when = f"{day}T{10 + index:02d}:00:00.{index:03d}Z"
        uuid = f"EVENT{index:021d}"
        kind = index % 3
        if kind == 0:
            records.append(signin(uuid=uuid, timestamp=when))
        elif kind == 1:
            records.append(item_usage(uuid=uuid, timestamp=when, user=ALICE))
        else:
            records.append(audit(uuid=uuid, timestamp=when, actor_details=BOB))
    return records


def _ndjson(records: list[Any]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


def run(argv: list[str], stdin: bytes = b"") -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.StringIO()
    status = main(argv, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in.ndjson"
    path.write_bytes(_ndjson(_records()) + b'{"uuid": "BAD", "timestamp": "yesterday"}\n')
    return path


def test_export_is_byte_identical_to_what_convert_wrote(source: Path, tmp_path: Path) -> None:
    store, converted = tmp_path / "s.db", tmp_path / "out.ndjson"
    # One run, two sinks: the file and the store get the same chunks.
    command = [sys.executable, "-m", "onepassword_ecs", "convert", str(source)]
    command += ["-o", str(converted), "--store", str(store), "--errors", os.devnull]
    done = subprocess.run(
        command,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # the one bad record
    assert len(converted.read_bytes().splitlines()) == 12
    exported = subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", "store", "export", "--store", str(store)],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    assert exported == converted.read_bytes()


def test_export_of_a_time_range_is_the_matching_lines_of_convert(
    source: Path, tmp_path: Path
) -> None:
    store = tmp_path / "s.db"
    status, converted, _ = run(["convert", str(source), "--store", str(store), "-o", "-", "-q"])
    assert status == 1
    lines = converted.splitlines(keepends=True)
    since, until = f"{DAY_ONE}T12:00:00Z", DAY_TWO  # a time, and a date (midnight UTC)
    expected = [
        line
        for line in lines
        if f"{DAY_ONE}T12:00:00" <= orjson.loads(line)["@timestamp"] < f"{DAY_TWO}T00"
    ]
    status, exported, _ = run(
        ["store", "export", "--store", str(store), "--since", since, "--until", until]
    )
    assert status == 0
    assert exported == b"".join(expected)
    assert 0 < len(expected) < len(lines)


def test_converting_twice_stores_each_event_once_and_counts_duplicates(
    source: Path, tmp_path: Path
) -> None:
    store = tmp_path / "s.db"
    status, out, first = run(["convert", str(source), "--store", str(store)])
    assert status == 1
    assert out == b""  # a store alone: nothing on standard output
    status, _, second = run(["convert", str(source), "--store", str(store), "-o", "-"])
    assert "sink store: 0 written, 12 duplicates, 0 rejected" in second
    assert "sink stdout: 12 written, 0 duplicates, 0 rejected" in second
    assert "13 records read, 12 written, 1 rejected" in second
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT count(*) FROM rows").fetchone() == (12,)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert "13 records read" in first


def test_a_store_delivered_the_same_event_twice_in_one_input_keeps_one(tmp_path: Path) -> None:
    records = _records()
    data = _ndjson(records[:5] + records[3:8])  # events 3 and 4 twice
    status, _, err = run(["convert", "--store", str(tmp_path / "s.db")], stdin=data)
    assert status == 0
    assert "sink store: 8 written, 2 duplicates, 0 rejected" in err


def test_stats_counts_per_dataset_and_day(source: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    run(["convert", str(source), "--store", str(store), "-q"])
    status, out, _ = run(["store", "stats", "--store", str(store), "--json"])
    assert status == 0
    stats = orjson.loads(out)
    assert stats["events"] == 12
    assert stats["schema_version"] == SCHEMA_VERSION
    assert stats["datasets"] == {
        "1password.audit_events": 4,
        "1password.item_usages": 4,
        "1password.signin_attempts": 4,
    }
    per_day: dict[str, int] = {}
    for entry in stats["days"]:
        per_day[entry["day"]] = per_day.get(entry["day"], 0) + entry["count"]
    assert per_day == {DAY_ONE: 7, DAY_TWO: 5}
    assert stats["first"] == f"{DAY_ONE}T10:00:00.000000000Z"
    assert stats["last"] == f"{DAY_TWO}T21:00:00.011000000Z"
    assert stats["size_bytes"] > 0
    status, text, _ = run(["store", "stats", "--store", str(store)])
    assert status == 0
    assert b"12 events" in text
    assert f"{DAY_TWO}  1password.item_usages".encode() in text


def test_export_to_a_file_and_its_message(source: Path, tmp_path: Path) -> None:
    store, target = tmp_path / "s.db", tmp_path / "export.ndjson"
    run(["convert", str(source), "--store", str(store), "-q"])
    status, out, err = run(["store", "export", "--store", str(store), "-o", str(target)])
    assert (status, out) == (0, b"")
    assert len(target.read_bytes().splitlines()) == 12
    assert "12 documents exported" in err


def test_a_newer_or_missing_store_is_exit_2_with_a_clear_message(
    source: Path, tmp_path: Path
) -> None:
    store = tmp_path / "s.db"
    run(["convert", str(source), "--store", str(store), "-q"])
    with sqlite3.connect(store) as connection:
        connection.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    for argv in (
        ["convert", str(source), "--store", str(store)],
        ["store", "stats", "--store", str(store)],
        ["store", "export", "--store", str(store)],
    ):
        status, out, err = run(argv)
        assert status == 2, argv
        assert out == b""
        assert "newer onepassword-ecs" in err
    status, _, err = run(["store", "stats", "--store", str(tmp_path / "absent.db")])
    assert status == 2
    assert "no such store" in err


def test_a_bad_since_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, _ = run(["store", "export", "--store", str(tmp_path / "s"), "--since", "today"])
    assert status == 2
    assert "expected an RFC 3339 time" in capsys.readouterr().err  # argparse: sys.stderr
    status, _, _ = run(
        ["store", "export", "--store", str(tmp_path / "s"), "--since", "2025-03-10T10:00:00"]
    )
    assert status == 2  # no offset: ambiguous, refused


def test_open_sinks_falls_back_to_the_default_store_only_when_nothing_else_is_asked(
    tmp_path: Path,
) -> None:
    """What ``collect`` does with no destination option: the default store, created."""
    import argparse
    from contextlib import ExitStack

    from onepassword_ecs.cli._sink_options import add_sink_options, open_sinks
    from onepassword_ecs.sinks import EventStore

    parser = argparse.ArgumentParser()
    add_sink_options(parser)
    default = tmp_path / "data" / "onepassword-ecs" / "events.db"
    with ExitStack() as stack:
        sinks = open_sinks(parser.parse_args([]), stack, default_store=default)
        assert [type(s) for s in sinks] == [EventStore]
    assert default.is_file()
    chosen = tmp_path / "chosen.db"
    with ExitStack() as stack:
        args = parser.parse_args(["--store", str(chosen)])
        sinks = open_sinks(args, stack, default_store=default)
        assert [getattr(s, "path", None) for s in sinks] == [chosen]
    with ExitStack() as stack:
        assert open_sinks(parser.parse_args([]), stack) == []


def test_prune_removes_what_is_older_and_keeps_the_rest_byte_for_byte(
    source: Path, tmp_path: Path
) -> None:
    store = tmp_path / "s.db"
    status, converted, _ = run(["convert", str(source), "--store", str(store), "-o", "-", "-q"])
    assert status == 1
    day_two = [line for line in converted.splitlines(keepends=True) if DAY_TWO.encode() in line]
    status, _, err = run(["store", "prune", "--store", str(store), "--before", DAY_TWO])
    assert status == 0, err
    assert f"{12 - len(day_two)} events older than {DAY_TWO}T00:00:00.000000000Z removed" in err
    status, exported, _ = run(["store", "export", "--store", str(store)])
    assert exported == b"".join(day_two)
    status, out, _ = run(["store", "stats", "--store", str(store), "--json"])
    assert orjson.loads(out)["events"] == len(day_two)
    # An age counts back from now: everything here is years old.
    status, _, err = run(["store", "prune", "--store", str(store), "--before", "120d"])
    assert status == 0
    assert f"{len(day_two)} events older than" in err
    status, exported, _ = run(["store", "export", "--store", str(store)])
    assert exported == b""


def test_prune_needs_an_age_or_a_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, _ = run(["store", "prune", "--store", str(tmp_path / "s"), "--before", "soon"])
    assert status == 2
    assert "or a span back from now such as 24h, 7d or 2w" in capsys.readouterr().err
