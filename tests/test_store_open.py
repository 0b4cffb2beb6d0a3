"""Opening a file that is not a usable store: a StoreError naming it and what to do.

Never a traceback, and never a foreign file changed: an SQLite file that is not a store
is refused as it is (issue 21, items 8 and 20); an empty file may become a store. The
``store`` subcommands turn each into exit status 2 with the message.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
from pathlib import Path

import orjson
import pytest

from onepassword_ecs import normalize
from onepassword_ecs._errors import StoreError
from onepassword_ecs.cli import main
from onepassword_ecs.sinks import EventStore
from onepassword_ecs.stream import Batch
from records import signin


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    status = main(argv, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=err)
    return status, err.getvalue()


def _filled(path: Path) -> Path:
    document = orjson.dumps(normalize(signin(uuid="A", timestamp="2025-03-10T10:00:00Z")))
    with EventStore.open(path) as store:
        store.write(Batch.of([document]))
        store.flush()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _every_command_says(path: Path, *fragments: str) -> None:
    for argv in (
        ["store", "stats", "--store", str(path)],
        ["store", "export", "--store", str(path)],
        ["store", "prune", "--store", str(path), "--before", "120d"],
    ):
        status, err = _run(argv)
        assert status == 2, (argv, err)
        assert "Traceback" not in err
        assert str(path) in err
        for fragment in fragments:
            assert fragment in err, (argv, err)


def test_an_empty_file_becomes_a_store_for_a_writer_and_is_refused_by_a_reader(
    tmp_path: Path,
) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    with pytest.raises(StoreError, match="an empty file, not a store yet"):
        EventStore.open(path, readonly=True)
    _filled(path)
    with EventStore.open(path, readonly=True) as store:
        assert store.count() == 1


def test_a_foreign_sqlite_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE invoices (number INTEGER, total REAL)")
        raw.execute("INSERT INTO invoices VALUES (1, 9.5)")
    before = path.read_bytes()
    for readonly in (False, True):
        with pytest.raises(StoreError, match="not an onepassword-ecs store") as caught:
            EventStore.open(path, readonly=readonly)
        assert "invoices" in str(caught.value) and str(path) in str(caught.value)
    assert path.read_bytes() == before
    assert not path.with_name("app.db-wal").exists()
    _every_command_says(path, "not an onepassword-ecs store", "another path")
    status, err = _run(["convert", "/dev/null", "--store", str(path)])
    assert status == 2 and "not an onepassword-ecs store" in err
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [b"just some text, not a database\n" * 50, b"\xff\xfe\x80 undecodable \xc3\x28" * 100],
)
def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    for readonly in (False, True):
        with pytest.raises(StoreError, match="not an SQLite file"):
            EventStore.open(path, readonly=readonly)
    assert path.read_bytes() == content
    _every_command_says(path, "not an SQLite file")


def test_a_damaged_store_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = _filled(tmp_path / "s.db")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\x5a" * (4096 - 100)  # page 1 after the header: the schema table
    path.write_bytes(bytes(data))
    for readonly in (False, True):
        with pytest.raises(StoreError, match="damaged") as caught:
            EventStore.open(path, readonly=readonly)
        assert "backup" in str(caught.value)
    _every_command_says(path, "damaged", "backup")


def test_undecodable_text_where_the_schema_version_is_kept(tmp_path: Path) -> None:
    path = _filled(tmp_path / "s.db")
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = CAST(x'ff28c3' AS TEXT) WHERE key = 'schema_version'")
    for readonly in (False, True):
        with pytest.raises(StoreError, match="not UTF-8"):
            EventStore.open(path, readonly=readonly)
    _every_command_says(path, "not UTF-8")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="a folder, not a store file"):
        EventStore.open(tmp_path)


def _immutable(path: Path) -> bool:
    """Make ``path`` unwritable even for root (chattr +i); False where not allowed."""
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    return done.returncode == 0


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_read_only_file_is_refused_for_writing_and_read_as_it_is(tmp_path: Path) -> None:
    path = _filled(tmp_path / "s.db")
    if os.geteuid() == 0:
        if not _immutable(path):
            pytest.skip("root ignores file modes and chattr +i is not allowed here")
        cleanup = ["chattr", "-i", str(path)]
    else:
        path.chmod(0o444)
        cleanup = ["chmod", "u+w", str(path)]
    try:
        with pytest.raises(StoreError) as caught, EventStore.open(path) as store:
            store.write(Batch.of([b'{"@timestamp":"2025-03-10T10:00:00Z"}']))
            store.flush()
        assert str(path) in str(caught.value)
        assert "writable" in str(caught.value) or "read-only" in str(caught.value)
        status, err = _run(["convert", "/dev/null", "--store", str(path)])
        assert status == 2 and str(path) in err and "Traceback" not in err
        with EventStore.open(path, readonly=True) as store:
            assert store.count() == 1
    finally:
        subprocess.run(cleanup, check=False)


def test_a_damaged_block_found_while_reading_is_a_store_error(tmp_path: Path) -> None:
    path = _filled(tmp_path / "s.db")
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE blocks SET data = x'789c0000deadbeef'")
    with EventStore.open(path, readonly=True) as store:
        with pytest.raises(StoreError, match="block 1 of the store is damaged"):
            list(store.iter_encoded())
        with pytest.raises(StoreError, match="damaged"):
            list(store.rows(["event.kind"]))  # a field without a column: the document
        assert [len(batch) for batch in store.rows(["user.id"])] == [1]  # columns still read
    status, err = _run(["store", "export", "--store", str(path)])
    assert status == 2 and "damaged" in err and str(path) in err and "Traceback" not in err
