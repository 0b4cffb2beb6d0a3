"""Measure the embedded event store at scale: insert N documents, then query them.

Why a script and not a test: two million documents take minutes and gigabytes; no test
should, and no test asserts a timing. The figures go in docs/performance.md.

What it does, each step timed, with the 1-minute load average before and after:

1. writes N raw records from the seeded benchmark corpus (``scripts/_corpus.py``);
2. converts them to ECS NDJSON with the CLI (not part of the store's figures);
3. in a child process, inserts the documents into a new store in batches of 2,000 (the
   conversion loop's chunk), committing every 20,000 (what ``convert --store`` does):
   time, documents/s, peak RSS of that child, file size;
4. inserts the first 100,000 again: all duplicates, the rate of a re-delivered page;
5. queries: one user over one day (the investigation's question), a one-hour window of
   everything, and ``store stats``; best of 5 each, with the rows returned and the
   query plan (which must name an index, not ``SCAN events``);
6. optionally (``--cli``), ``convert --store`` end to end on the same raw records.

Run: ``python scripts/bench_store.py`` (2,000,000 documents; about 5 GB of temporary
disk) or ``--count 200000`` for a quicker look; ``--tmp DIR`` for where files go.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import Corpus
from onepassword_ecs.sinks import EventStore, store_stats

BATCH = 2000
COMMIT_EVERY = 20_000

_CHILD = """
import sys, time, resource
from onepassword_ecs.sinks import EventStore
from onepassword_ecs.stream import Batch
source, target = sys.argv[1], sys.argv[2]
batch_size, commit_every = int(sys.argv[3]), int(sys.argv[4])
limit = int(sys.argv[5]) if len(sys.argv) > 5 else None
accepted = duplicates = read = 0
started = time.perf_counter()
with EventStore.open(target, commit_every=commit_every) as store, open(source, "rb") as handle:
    block = []
    for line in handle:
        block.append(line.rstrip(b"\\n"))
        read += 1
        if len(block) == batch_size or (limit is not None and read == limit):
            result = store.write(Batch.of(block))
            accepted += result.accepted
            duplicates += result.duplicates
            block = []
        if limit is not None and read == limit:
            break
    if block:
        result = store.write(Batch.of(block))
        accepted += result.accepted
        duplicates += result.duplicates
    store.flush()
elapsed = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{accepted} {duplicates} {elapsed:.3f} {rss}")
"""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def write_raw(path: Path, count: int, seed: int) -> None:
    corpus = Corpus(seed)
    block: list[bytes] = []
    with path.open("wb") as handle:
        for line in corpus.lines(count):
            block.append(line)
            if len(block) >= 5000:
                handle.write(b"\n".join(block) + b"\n")
                block.clear()
        if block:
            handle.write(b"\n".join(block) + b"\n")


def cli() -> list[str]:
    return [sys.executable, "-m", "onepassword_ecs"]


def insert(source: Path, target: Path, limit: int | None = None) -> dict[str, float]:
    command = [sys.executable, "-c", _CHILD, str(source), str(target), str(BATCH)]
    command.append(str(COMMIT_EVERY))
    if limit is not None:
        command.append(str(limit))
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    accepted, duplicates, seconds, rss_kib = output.split()
    return {
        "accepted": int(accepted),
        "duplicates": int(duplicates),
        "seconds": float(seconds),
        "peak_rss_mb": int(rss_kib) / 1024,
    }


T = TypeVar("T")


def best_of(rounds: int, run: Callable[[], T]) -> tuple[float, T]:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        answer = run()
        best = min(best, time.perf_counter() - started)
    return best, answer


def queries(path: Path) -> list[str]:
    lines = []
    with EventStore.open(path, readonly=True) as store:
        connection = store.connection
        first, last = connection.execute("SELECT min(ts_ns), max(ts_ns) FROM events").fetchone()
        # A user with an average share of the events, picked reproducibly.
        users = [
            row[0]
            for row in connection.execute(
                "SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL LIMIT 400"
            )
        ]
        user = random.Random(7).choice(users)
        day = 86_400 * 1_000_000_000
        start = first + (last - first) // 2  # mid-range: a full day on 2M documents
        sql = (
            "SELECT document FROM events WHERE user_id = ? AND ts_ns >= ? AND ts_ns < ? "
            "ORDER BY ts_ns"
        )
        seconds, rows = best_of(
            5, lambda: connection.execute(sql, (user, start, start + day)).fetchall()
        )
        plan = " / ".join(
            str(row[-1]) for row in connection.execute("EXPLAIN QUERY PLAN " + sql, (user, 0, 1))
        )
        lines.append(f"user + one day: {len(rows):,} documents in {seconds * 1000:.1f} ms ({plan})")
        hour = 3600 * 1_000_000_000
        sql = "SELECT document FROM events WHERE ts_ns >= ? AND ts_ns < ? ORDER BY ts_ns, seq"
        seconds, rows = best_of(
            5, lambda: connection.execute(sql, (start, start + hour)).fetchall()
        )
        plan = " / ".join(
            str(row[-1]) for row in connection.execute("EXPLAIN QUERY PLAN " + sql, (0, 1))
        )
        lines.append(
            f"one hour, all users: {len(rows):,} documents in {seconds * 1000:.1f} ms ({plan})"
        )
        seconds, stats = best_of(3, lambda: store_stats(store))
        lines.append(f"store stats: {seconds:.2f} s for {stats.events:,} events")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=20260217)
    parser.add_argument("--tmp", type=Path, default=None)
    parser.add_argument("--cli", action="store_true", help="also time convert --store end to end")
    parser.add_argument("--keep", action="store_true", help="keep the temporary files")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-store-", dir=args.tmp))
    report = [f"documents: {args.count:,}; load average before: {load()}"]
    try:
        raw, documents, store = work / "raw.ndjson", work / "docs.ndjson", work / "events.db"
        say(f"writing {args.count:,} raw records to {raw}")
        write_raw(raw, args.count, args.seed)
        say("converting them with the CLI")
        started = time.perf_counter()
        subprocess.run(
            [*cli(), "convert", str(raw), "-o", str(documents), "-q", "--errors", os.devnull],
            check=False,
        )
        report.append(f"convert to NDJSON (not the store): {time.perf_counter() - started:.1f} s")
        report.append(f"NDJSON size: {documents.stat().st_size / 2**20:,.0f} MiB")
        say("inserting into the store")
        first = insert(documents, store)
        size = sum(
            p.stat().st_size for p in (store, store.with_name(store.name + "-wal")) if p.exists()
        )
        report.append(
            f"insert: {first['accepted']:,} documents in {first['seconds']:.1f} s "
            f"({first['accepted'] / first['seconds']:,.0f}/s), "
            f"peak RSS {first['peak_rss_mb']:.0f} MB, "
            f"file {size / 2**20:,.0f} MiB ({size / max(first['accepted'], 1):,.0f} bytes/document)"
        )
        report.append(f"load average after insert: {load()}")
        say("inserting 100,000 again (duplicates)")
        again = insert(documents, store, limit=100_000)
        report.append(
            f"re-insert 100,000: {again['duplicates']:,} duplicates, {again['accepted']} new, "
            f"{again['seconds']:.1f} s ({again['duplicates'] / again['seconds']:,.0f}/s)"
        )
        say("querying")
        report.extend(queries(store))
        if args.cli:
            say("convert --store end to end")
            target = work / "cli.db"
            started = time.perf_counter()
            subprocess.run(
                [*cli(), "convert", str(raw), "--store", str(target), "-q", "--errors", os.devnull],
                check=False,
            )
            seconds = time.perf_counter() - started
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            report.append(
                f"convert --store end to end: {seconds:.1f} s "
                f"({args.count / seconds:,.0f} records/s); largest child RSS so far {rss:.0f} MB"
            )
        report.append(f"load average after: {load()}")
    finally:
        if args.keep:
            say(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
