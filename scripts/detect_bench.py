"""Measure ``detect --store`` over a large store: wall time and peak RSS.

Builds a store from scripts/detect_month.py's generator (``--rate`` item usages per
person and weekday sets the size: 130 gives about a million events for 300 people in 31
days), then runs the CLI over it in a child process and reports its time and peak
resident memory (``ru_maxrss`` of the child), with the load average before and after::

    python scripts/detect_bench.py --rate 130 --store /tmp/bench.db
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--rate", type=int, default=130)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="keep an existing store")
    args = parser.parse_args()
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
