"""Measure ``detect --store`` over a large store: wall time and peak RSS.

Builds a store from scripts/detect_month.py's generator (``--rate`` item usages per
person and weekday sets the size: 130 gives about a million events for 300 people in 31
days), then runs the CLI over it in a child process and reports its time and peak
resident memory (``ru_maxrss`` of the child), with the load average before and after::

    python scripts/detect_bench.py --rate 130 --store /tmp/bench.db

``--activity USERS`` measures the engine at scale instead (issue 22): a store from
``scripts/activity.py`` (``--days`` days of USERS people; 9,000 people and 30 days give
about a million events) less its last 1,000 events; a full ``detect --store --full`` in a
child process (CPU time, wall time, peak RSS); then the 1,000 held-back events are stored
and one incremental round evaluates them, as a ``--follow`` round does, timed in this
process (rules already compiled) and as a cron ``detect --store`` child::

    python scripts/detect_bench.py --activity 9000 --days 30 --store /tmp/act.db
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from onepassword_ecs import normalize
from onepassword_ecs.sinks import EventStore
from onepassword_ecs.stream import Batch

SCRIPTS = Path(__file__).resolve().parent


def build_store(store: Path, rate: int, users: int) -> int:
    records = store.with_suffix(".records.ndjson")
    subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "detect_month.py"),
            "--users",
            str(users),
            "--rate",
            str(rate),
            "--records",
            str(records),
        ],
        check=True,
    )
    total = 0
    with EventStore.open(store) as opened, records.open("rb") as lines:
        batch: list[bytes] = []
        for line in lines:
            batch.append(orjson.dumps(normalize(line), option=orjson.OPT_SORT_KEYS) + b"\n")
            if len(batch) == 5000:
                opened.write(Batch(b"".join(batch), len(batch)))
                opened.flush()
                total += len(batch)
                batch.clear()
        if batch:
            opened.write(Batch(b"".join(batch), len(batch)))
            opened.flush()
            total += len(batch)
    records.unlink()
    return total


# Peak RSS must be the child's own: Linux carries a process's high-water mark across
# fork and exec (the forked copy of this big process counts), so the child is started by
# a small launcher process, whose own size is all the child inherits.
_LAUNCHER = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_pid, status, usage = os.wait4(child.pid, 0)
print(json.dumps([usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
                  os.waitstatus_to_exitcode(status)]))
"""


def _child(command: list[str]) -> tuple[float, float, float, int, str]:
    """Run a CLI child: (wall s, CPU s, peak RSS MB, exit status, its summary)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, check=True
    )
    wall = time.monotonic() - started
    cpu, peak_kb, code = orjson.loads(done.stdout)
    return wall, cpu, peak_kb / 1024, code, done.stderr.strip()


def _load() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "?"


def activity_bench(store: Path, users: int, days: int, reuse: bool) -> None:
    """Full run and one 1,000-event incremental round over an activity.py store."""
    sys.path.insert(0, str(SCRIPTS))
    import activity  # scripts/activity.py: the store engineer's generator, imported as is
    from onepassword_ecs.detect import StoreDetection, load_rules

    held = store.with_suffix(".held.ndjson")
    if not (reuse and store.exists() and held.exists()):
        store.unlink(missing_ok=True)
        started = time.monotonic()
        tail: collections.deque[dict[str, Any]] = collections.deque()

        def all_but_last(records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for record in records:  # streamed: a million records are never all in memory
                tail.append(record)
                if len(tail) > 1000:
                    yield tail.popleft()

        count = activity.build_store(store, all_but_last(activity.generate(users, days)))
        held.write_bytes(
            b"".join(orjson.dumps(normalize(r), option=orjson.OPT_SORT_KEYS) + b"\n" for r in tail)
        )
        print(f"store: {count} events in {time.monotonic() - started:.0f} s; 1000 held back")
    documents = held.read_bytes().splitlines()
    with EventStore.open(store) as opened:  # a reused store: take the held events out again
        held_ids = [orjson.loads(d)["event"]["id"] for d in documents]
        for start in range(0, len(held_ids), 500):
            chunk = held_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            opened.connection.execute(f"DELETE FROM events WHERE event_id IN ({marks})", chunk)
        count = opened.count()
    size = store.stat().st_size
    base = [sys.executable, "-m", "onepassword_ecs", "detect", "--store", str(store), "-o"]
    print(f"load before full run: {_load()}")
    wall, cpu, peak, code, summary = _child([*base, os.devnull, "--full"])
    print(summary)
    print(
        f"full run over {count} events ({size / 1e6:.0f} MB store): {cpu:.1f} s CPU, "
        f"{wall:.1f} s wall, peak RSS {peak:.0f} MB, exit {code}; load after {_load()}"
    )
    with EventStore.open(store) as opened:
        rules = load_rules()
        from onepassword_ecs.detect import load_context

        with StoreDetection(opened, rules, load_context(None)) as detection:
            detection.evaluate()  # nothing new: loads the state, as a running follow has
            opened.write(Batch(b"".join(d + b"\n" for d in documents), len(documents)))
            opened.flush()
            started, cpu_started = time.monotonic(), time.process_time()
            outcome, new = detection.evaluate()
            detection.commit(new)
            round_wall = time.monotonic() - started
            round_cpu = time.process_time() - cpu_started
    print(
        f"follow round, {outcome.events} new events at {count} stored: {round_cpu:.2f} s CPU, "
        f"{round_wall:.2f} s wall, {len(new)} new alerts; load {_load()}"
    )
    # The same round as a cron run: a new process that loads the rules and the state.
    with EventStore.open(store) as opened:
        opened.connection.execute("DELETE FROM events WHERE seq > ?", (count_seq(opened) - 1000,))
        opened.connection.execute(
            "UPDATE detect_meta SET value = ? WHERE key = 'arrival_seq'",
            (str(count_seq(opened)),),
        )
    with EventStore.open(store) as opened:
        opened.write(Batch(b"".join(d + b"\n" for d in documents), len(documents)))
        opened.flush()
    wall, cpu, peak, code, summary = _child([*base, os.devnull])
    print(summary)
    print(
        f"cron run (new process) for 1000 new events: {cpu:.2f} s CPU, {wall:.2f} s wall, "
        f"peak RSS {peak:.0f} MB, exit {code}; load {_load()}"
    )


def count_seq(store: EventStore) -> int:
    row = store.connection.execute("SELECT max(seq) FROM events").fetchone()
    return int(row[0] or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--rate", type=int, default=130)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--activity", type=int, metavar="USERS", help="the scale benchmark")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep an existing store")
    args = parser.parse_args()
    if args.activity:
        activity_bench(args.store, args.activity, args.days, args.reuse)
        return
    if not (args.reuse and args.store.exists()):
        args.store.unlink(missing_ok=True)
        started = time.monotonic()
        count = build_store(args.store, args.rate, args.users)
        print(f"store: {count} events written in {time.monotonic() - started:.0f} s")
    with EventStore.open(args.store, readonly=True) as opened:
        count = opened.count()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    command = [sys.executable, "-m", "onepassword_ecs", "detect", "--store", str(args.store)]
    command += ["--until", "2025-04-04T00:00:00Z", "--context", str(SCRIPTS / "detect_month.toml")]
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(
            [*command, "-o", os.devnull], stdout=subprocess.DEVNULL, stderr=errors
        )
        # wait4 gives this child's own peak RSS; RUSAGE_CHILDREN would also count the
        # generator run above, which holds the whole month in memory.
        _pid, status, usage = os.wait4(child.pid, 0)
        errors.seek(0)
        summary = errors.read().strip()
    elapsed = time.monotonic() - started
    peak_mb = usage.ru_maxrss / 1024
    result = subprocess.CompletedProcess(command, os.waitstatus_to_exitcode(status), "", summary)
    print(result.stderr.strip())
    print(
        f"detect over {count} stored events: {elapsed:.0f} s ({count / elapsed:,.0f} events/s), "
        f"peak RSS {peak_mb:.0f} MB, exit {result.returncode}; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )


if __name__ == "__main__":
    main()
