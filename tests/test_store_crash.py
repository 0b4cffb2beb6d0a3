"""The store under a real crash and real concurrency: separate processes, real signals.

A writer process is killed with SIGKILL in the middle of a batch (no handler runs, no
rollback, the write-ahead log is left as it was); the file must then pass SQLite's
``PRAGMA integrity_check`` and hold exactly the batches whose commit returned, no part
of the one being written. Readers in other threads read while a writer process commits,
without ever seeing part of a batch or being locked out.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from onepassword_ecs.sinks import EventStore

# A writer that commits batches of documents with ids E0, E1, ... and says so on stdout:
# "begin K" before batch K, "committed N" once N documents are durable.
WRITER = r"""
import sys
import orjson
from onepassword_ecs import normalize
from onepassword_ecs.sinks import EventStore
from onepassword_ecs.stream import Batch

path, size, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
template = normalize({
    "uuid": "X", "timestamp": "2025-03-10T10:00:00Z", "category": "success",
    "type": "credentials_ok", "target_user": {"uuid": "U1", "name": "Ann", "email": "a@x.example"},
    "client": {"ip_address": "192.0.2.7"},
})
store = EventStore.open(path)
written = 0
for number in range(batches):
    documents = []
    for index in range(written, written + size):
        template["event"]["id"] = f"E{index}"
        template["@timestamp"] = f"2025-03-10T10:00:00.{index:09d}Z"
        documents.append(orjson.dumps(template, option=orjson.OPT_SORT_KEYS))
    print(f"begin {number}", flush=True)
    store.write(Batch.of(documents))
    store.flush()
    written += size
    print(f"committed {written}", flush=True)
store.close()
"""


def _writer(path: Path, size: int, batches: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(size), str(batches)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _stored_ids(path: Path) -> set[str]:
    with EventStore.open(path, readonly=True) as store:
        return {row[1] for batch in store.rows([]) for row in batch}


def test_kill_9_mid_batch_leaves_a_sound_file_with_whole_batches_only(tmp_path: Path) -> None:
    path, size = tmp_path / "s.db", 4000
    writer = _writer(path, size, batches=1000)
    assert writer.stdout is not None
    committed = 0
    try:
        for line in writer.stdout:
            word, number = line.split()
            if word == "committed":
                committed = int(number)
            elif word == "begin" and committed >= 3 * size:
                time.sleep(0.05)  # well inside the batch's inserts
                break
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as connection:  # opening recovers from the WAL
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    stored = _stored_ids(path)
    # Every batch whose commit returned is there, and nothing of a half-written batch.
    assert len(stored) % size == 0
    assert len(stored) in (committed, committed + size)
    assert stored == {f"E{index}" for index in range(len(stored))}
    # The file is still a working store: writable, and idempotent on re-delivery.
    again = _writer(path, size, batches=len(stored) // size + 1)
    again.communicate(timeout=120)
    assert again.returncode == 0
    with EventStore.open(path, readonly=True) as store:
        assert store.count() == len(stored) + size


def test_kill_9_of_convert_then_a_rerun_stores_every_event_once(tmp_path: Path) -> None:
    path, source = tmp_path / "s.db", tmp_path / "in.ndjson"
    count = 24_000  # the CLI commits every 20,000: one commit, then the kill
    with source.open("wb") as handle:
        for index in range(count):
            handle.write(
                b'{"uuid": "R%d", "timestamp": "2025-03-10T10:00:00Z", "category": "success", '
                b'"type": "credentials_ok", "target_user": {"uuid": "U1"}}\n' % index
            )
    command = [sys.executable, "-m", "onepassword_ecs", "convert", str(source)]
    command += ["--store", str(path), "-q"]
    process = subprocess.Popen(command)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (path.exists() and _count_or_zero(path) > 0):
        time.sleep(0.02)  # the first 20,000-row commit has landed: the run is mid-way
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    before = _count_or_zero(path)
    assert 0 < before < count
    done = subprocess.run([*command[:-1]], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert f"sink store: {count - before:,} written, {before:,} duplicates" in done.stderr
    assert _count_or_zero(path) == count


def _count_or_zero(path: Path) -> int:
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5) as connection:
            return int(connection.execute("SELECT count(*) FROM rows").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet


def test_readers_read_while_a_writer_process_commits(tmp_path: Path) -> None:
    path, size, batches = tmp_path / "s.db", 500, 20
    writer = _writer(path, size, batches)
    assert writer.stdout is not None
    assert writer.stdout.readline().startswith("begin")
    assert writer.stdout.readline().startswith("committed")
    seen: dict[int, list[int]] = {}
    problems: list[BaseException] = []
    finished = threading.Event()

    def read(number: int) -> None:
        counts = seen.setdefault(number, [])
        try:
            with EventStore.open(path, readonly=True) as store:
                while not finished.is_set():
                    counts.append(store.count())
                    newest = store.connection.execute(
                        "SELECT document FROM events ORDER BY seq DESC LIMIT 1"
                    ).fetchone()
                    assert newest is not None
            with EventStore.open(path, readonly=True) as store:  # a fresh reader at the end
                counts.append(store.count())
        except BaseException as exc:
            problems.append(exc)

    readers = [threading.Thread(target=read, args=(n,)) for n in range(3)]
    for reader in readers:
        reader.start()
    for _ in writer.stdout:
        pass
    writer.stdout.close()
    assert writer.wait(timeout=120) == 0
    finished.set()
    for reader in readers:
        reader.join(timeout=60)
    assert problems == []
    for counts in seen.values():
        assert counts == sorted(counts)  # never goes back
        assert all(count % size == 0 for count in counts)  # never part of a batch
        assert counts[-1] == size * batches
    # Readers saw the store while it grew, not just before and after.
    assert any(0 < count < size * batches for counts in seen.values() for count in counts)


@pytest.mark.parametrize("mode", ["ro"])
def test_a_plain_sqlite_reader_is_not_blocked_by_an_open_write(tmp_path: Path, mode: str) -> None:
    """``sqlite3`` itself (any tool) can read while the writer holds a transaction."""
    path = tmp_path / "s.db"
    with EventStore.open(path) as store:
        store.connection.execute("BEGIN IMMEDIATE")
        store.connection.execute(
            "INSERT INTO rows (ts_ns, day, event_key, block, slot) VALUES (0, 0, 'x', 1, 0)"
        )
        with sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, timeout=1) as reader:
            assert reader.execute("SELECT count(*) FROM rows").fetchone() == (0,)
        store.connection.execute("ROLLBACK")
