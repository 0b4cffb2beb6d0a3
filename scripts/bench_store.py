"""Measure the embedded event store at a real organization's scale.

Why a script and not a test: a million documents take minutes and gigabytes; no test
should, and no test asserts a timing. The figures go in docs/performance.md ("Store").

Input: ``scripts/activity.py``'s realistic activity (people with a past: home offices,
usual apps, working hours), ``--users`` people over ``--days`` days; 3,000 people over
120 days (the Events API's retention) is about 1.0 M events, 8,400 a day. Or ``--raw``
an existing raw NDJSON file. Each step runs in a child process and reports its wall
time, CPU time (user + system, load-independent), peak RSS and bytes written to disk
(``/proc/self/io`` ``write_bytes``: what reached the block layer, WAL and checkpoints
included), with the 1-minute load average before and after:

1. ``convert -o`` to NDJSON: the reference throughput;
2. ``convert --store`` into a new store: throughput (ratio to step 1), bytes per event
   on disk (the file and its WAL after the run), write I/O per stored byte, and the
   insert rate per tenth of the run (flat means it does not slow down as the store grows);
3. ``store export``: byte-identical to step 1's output (sha256), and its rate;
4. reads: ``rows()`` of the 14 rule fields over everything; one person over a week
   through the ``events`` view (the investigation's question); ``store stats``;
5. ``store prune`` of the oldest tenth of the days: time, events removed, bytes freed.

Run: ``nice -n 10 python scripts/bench_store.py`` (1 M events, about 3 GB of temporary
disk) or ``--users 300 --days 30`` for a quick look; ``--tmp DIR`` for where files go.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# A child that runs the CLI and reports its own cost as JSON on the last stderr line.
_RUN_CLI = r"""
import json, resource, sys, time
from onepassword_ecs.cli import main
started, cpu = time.perf_counter(), time.process_time()
status = main(sys.argv[1:])
wall, cpu = time.perf_counter() - started, time.process_time() - cpu
children = resource.getrusage(resource.RUSAGE_CHILDREN)
with open("/proc/self/io") as handle:
    io = dict(line.split(": ") for line in handle.read().splitlines())
print(json.dumps({
    "status": status, "wall": wall, "cpu": cpu + children.ru_utime + children.ru_stime,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "write_bytes": int(io["write_bytes"]),
}), file=sys.stderr)
"""

# A child that inserts converted documents the way convert --store does (batches of
# 2,000, commit every STORE_COMMIT_ROWS) and reports the rate per tenth of the input.
_INSERT = r"""
import json, sys, time
from onepassword_ecs.cli._sink_options import STORE_COMMIT_ROWS
from onepassword_ecs.sinks import EventStore
from onepassword_ecs.stream import Batch
source, target, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
def written():
    with open("/proc/self/io") as handle:
        return int(dict(line.split(": ") for line in handle.read().splitlines())["write_bytes"])
tenth = max(total // 10, 1)
marks, block, count = [], [], 0
started = last = time.perf_counter()
cpu_last, io_last = time.process_time(), written()
with EventStore.open(target, commit_every=STORE_COMMIT_ROWS) as store, open(source, "rb") as f:
    for line in f:
        block.append(line.rstrip(b"\n"))
        if len(block) == 2000:
            store.write(Batch.of(block))
            count += len(block)
            block = []
            if count % tenth < 2000 and count >= tenth * (len(marks) + 1):
                now, cpu, io = time.perf_counter(), time.process_time(), written()
                marks.append({"events": count, "rate": tenth / (now - last),
                              "cpu_rate": tenth / max(cpu - cpu_last, 1e-9),
                              "write_per_event": (io - io_last) / tenth})
                print("insert", json.dumps(marks[-1]), file=sys.stderr, flush=True)
                last, cpu_last, io_last = now, cpu, io
    if block:
        store.write(Batch.of(block))
    store.flush()
print(json.dumps({"marks": marks, "wall": time.perf_counter() - started}))
"""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def run_cli(argv: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN_CLI, *argv], capture_output=True, text=True, check=False
    )
    report: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    return report


def size_of(path: Path) -> int:
    return sum(
        candidate.stat().st_size
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def write_activity(path: Path, users: int, days: int, seed: int) -> int:
    import orjson

    from activity import generate

    count = 0
    with path.open("wb") as handle:
        block: list[bytes] = []
        for record in generate(users, days, seed):
            block.append(orjson.dumps(record))
            if len(block) >= 5000:
                handle.write(b"\n".join(block) + b"\n")
                count += len(block)
                block.clear()
        if block:
            handle.write(b"\n".join(block) + b"\n")
            count += len(block)
    return count


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def scaled(source: Path, target: Path, copies: int) -> int:
    """``copies`` times the documents, each copy with distinct event ids, by time.

    Copy ``c`` of a document has the first character of its ``event.id`` rotated by
    ``c`` in the base32 alphabet (documents without a 26-character id are copied as
    they are, and stored once). The people, vaults and items are the same in every
    copy: ``copies`` times the events per person and day, which is what loads the
    per-person indexes. Chunks of 10,000 documents are written copy after copy, so
    the whole stays in time order at that grain, as one large account's stream would.
    """
    count = 0
    with source.open("rb") as handle, target.open("wb") as out:
        while True:
            chunk = [line for _, line in zip(range(10_000), handle, strict=False)]
            if not chunk:
                return count
            out.write(b"".join(chunk))
            count += len(chunk)
            places = []
            for line in chunk:
                event = line.find(b'"event":{')
                at = line.find(b'"id":"', event) + 6 if event >= 0 else -1
                ok = at > 5 and line[at + 26 : at + 27] == b'"'
                places.append(at if ok and line[at] in _ALPHABET else -1)
            for copy in range(1, copies):
                block = []
                for line, at in zip(chunk, places, strict=True):
                    if at < 0:
                        block.append(line)
                        continue
                    first = _ALPHABET[(_ALPHABET.index(line[at]) + copy) % 32]
                    block.append(line[:at] + bytes([first]) + line[at + 1 :])
                out.write(b"".join(block))
                count += len(block)


def reads(path: Path, days: int) -> list[str]:
    from onepassword_ecs.sinks import EventStore, store_stats

    fields = [
        "event.action",
        "event.dataset",
        "event.outcome",
        "onepassword.client.app_name",
        "onepassword.country",
        "onepassword.item_uuid",
        "onepassword.object_type",
        "onepassword.object_uuid",
        "onepassword.vault_uuid",
        "source.ip",
        "user.email",
        "user.id",
        "user.name",
        "user.target.id",
    ]
    lines = []
    with EventStore.open(path, readonly=True) as store:
        started, cpu = time.perf_counter(), time.process_time()
        count = sum(len(batch) for batch in store.rows(fields))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        lines.append(
            f"rows() of the 14 rule fields, all {count:,} events: {wall:.1f} s "
            f"(CPU {cpu:.1f} s, {count / cpu:,.0f} rows/s)"
        )
        connection = store.connection
        first, last = connection.execute("SELECT min(ts_ns), max(ts_ns) FROM rows").fetchone()
        user = connection.execute(
            "SELECT user_id FROM events WHERE ts_ns >= ? LIMIT 1", (first + (last - first) // 2,)
        ).fetchone()[0]
        week = 7 * 86_400 * 1_000_000_000
        start = last - week
        sql = (
            "SELECT ts_ns, document FROM events WHERE user_id = ? AND ts_ns >= ? AND ts_ns < ? "
            "ORDER BY ts_ns, seq"
        )
        started = time.perf_counter()
        found = connection.execute(sql, (user, start, last + 1)).fetchall()
        lines.append(
            f"one person, last 7 days, through the events view: {len(found):,} documents in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        started = time.perf_counter()
        stats = store_stats(store)
        lines.append(
            f"store stats: {time.perf_counter() - started:.2f} s for {stats.events:,} events"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--raw", type=Path, help="use this raw NDJSON instead of generating")
    parser.add_argument(
        "--docs",
        type=Path,
        help="documents already converted from --raw (skips convert -o; implies --insert-only)",
    )
    parser.add_argument("--tmp", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary files")
    parser.add_argument(
        "--insert-only", action="store_true", help="skip the CLI steps: insert and read only"
    )
    parser.add_argument(
        "--copies",
        type=int,
        default=1,
        help="insert this many accounts' worth of the converted documents (see scaled())",
    )
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-store-", dir=args.tmp))
    report = [f"load average before: {load()}"]
    try:
        raw = args.raw or work / "raw.ndjson"
        if args.raw is None:
            say(f"generating {args.users:,} people over {args.days} days into {raw}")
            count = write_activity(raw, args.users, args.days, args.seed)
        else:
            with raw.open("rb") as handle:
                count = sum(1 for _ in handle)
        report.append(
            f"events: {count:,} over {args.days} days ({count / args.days:,.0f} a day); "
            f"raw input {raw.stat().st_size / count:,.0f} B/event"
        )
        ndjson, store = work / "docs.ndjson", work / "events.db"
        quiet = ["-q", "--errors", os.devnull]
        if args.docs is not None:
            ndjson, args.insert_only = args.docs, True
        else:
            say("convert -o")
            plain = run_cli(["convert", str(raw), "-o", str(ndjson), *quiet])
            report.append(
                f"convert -o: {plain['wall']:.1f} s wall ({count / plain['wall']:,.0f} "
                f"events/s), CPU {plain['cpu']:.1f} s ({count / plain['cpu']:,.0f} events/s), "
                f"NDJSON {ndjson.stat().st_size / count:,.0f} B/event; load {load()}"
            )
        if not args.insert_only:
            say("convert --store")
            stored = run_cli(["convert", str(raw), "--store", str(store), *quiet])
            size = size_of(store)
            report.append(
                f"convert --store: {stored['wall']:.1f} s wall "
                f"({count / stored['wall']:,.0f} events/s, "
                f"{plain['wall'] / stored['wall']:.2f}x convert -o), "
                f"CPU {stored['cpu']:.1f} s ({plain['cpu'] / stored['cpu']:.2f}x), "
                f"peak RSS {stored['rss_mb']:.0f} MB; load {load()}"
            )
            report.append(
                f"store: {size / 2**20:,.0f} MiB, {size / count:,.0f} B/event; written "
                f"{stored['write_bytes'] / 2**20:,.0f} MiB = {stored['write_bytes'] / size:.2f}x "
                "the stored size"
            )
            say("store export")
            exported = work / "export.ndjson"
            export = run_cli(["store", "export", "--store", str(store), "-o", str(exported)])
            same = sha256_of(exported) == sha256_of(ndjson)
            report.append(
                f"store export: {export['wall']:.1f} s ({count / export['wall']:,.0f} events/s); "
                f"byte-identical to convert -o: {same}"
            )
            exported.unlink()
        say("inserting the converted documents, rate per tenth")
        inserted = work / "insert.db"
        feed = ndjson
        if args.copies > 1:
            feed = work / "scaled.ndjson"
            count = scaled(ndjson, feed, args.copies)
            if args.docs is None:
                ndjson.unlink()
            report.append(f"scaled to {args.copies} accounts: {count:,} documents")
        output = subprocess.run(
            [sys.executable, "-c", _INSERT, str(feed), str(inserted), str(count)],
            stdout=subprocess.PIPE,  # progress goes to standard error as it happens
            text=True,
            check=True,
        ).stdout
        marks = json.loads(output)["marks"]
        report.append(
            "insert rate per tenth (events/s wall | CPU | bytes written per event): "
            + "; ".join(
                f"{m['events'] // 1000:,}k: {m['rate']:,.0f} | {m['cpu_rate']:,.0f} | "
                f"{m['write_per_event']:,.0f}"
                for m in marks
            )
        )
        report.append(f"load average after insert: {load()}")
        if args.insert_only:
            store = inserted
        say("reading")
        report.extend(reads(store, args.days))
        say("pruning the oldest tenth of the days")
        first_day = f"--before={max(args.days - args.days // 10, 1)}d"
        from onepassword_ecs.sinks import EventStore

        with EventStore.open(store, readonly=True) as reader:
            newest = reader.connection.execute("SELECT max(ts_ns) FROM rows").fetchone()[0]
        cut = newest - (args.days - args.days // 10) * 86_400 * 1_000_000_000
        started = time.perf_counter()
        with EventStore.open(store) as writer:
            outcome = writer.prune(cut)
        report.append(
            f"prune ({first_day} of the newest event): {outcome.events:,} events in "
            f"{time.perf_counter() - started:.1f} s, file {outcome.bytes_before / 2**20:,.0f} -> "
            f"{outcome.bytes_after / 2**20:,.0f} MiB"
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
