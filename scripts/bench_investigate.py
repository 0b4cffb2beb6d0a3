"""Time the investigation commands on a large store (figures for docs/performance.md).

Each command runs as its own process (as a person would run it), with its default
window (the last 7 days of the store, compared with the 30 days before); the wall time
and the process's peak resident memory come from ``os.wait4``. Build the store first::

    python scripts/activity.py --users 8000 --days 90 --store /tmp/2m.db   # ~2 million events
    python scripts/bench_investigate.py /tmp/2m.db

The planted people and addresses (scripts/activity.py: PLANTED) are the subjects, so
every command has real work to do.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _planted() -> object:
    path = Path(__file__).resolve().parent / "activity.py"
    spec = importlib.util.spec_from_file_location("activity", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["activity"] = module
    spec.loader.exec_module(module)
    return module.PLANTED


def _run(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB, exit status."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        assert process.stderr
        print(process.stderr.read().decode(), file=sys.stderr)
    return elapsed, usage.ru_maxrss / 1024, process.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("store")
    args = parser.parse_args(argv)
    planted = _planted()
    store = args.store
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    size_mb = Path(store).stat().st_size / 2**20
    cli = [sys.executable, "-m", "onepassword_ecs"]
    report = Path(tempfile.mkdtemp()) / "report.html"
    commands = {
        "investigate user (by e-mail)": ["investigate", "user", planted.victim_email],  # type: ignore[attr-defined]
        "investigate user (by name)": ["investigate", "user", planted.victim_name],  # type: ignore[attr-defined]
        "investigate vault": ["investigate", "vault", planted.finance_vault],  # type: ignore[attr-defined]
        "investigate ip": ["investigate", "ip", planted.spray_ip],  # type: ignore[attr-defined]
        "investigate anomalies": ["investigate", "anomalies"],
        "report": ["report", "-o", str(report)],
        "report --vault": ["report", "--vault", planted.finance_vault, "-o", str(report)],  # type: ignore[attr-defined]
    }
    print(f"store: {events:,} events, {size_mb:,.0f} MB; load average {os.getloadavg()[0]:.2f}")
    print("| command | wall s | peak RSS MB |")
    print("|---|---:|---:|")
    for name, command in commands.items():
        elapsed, rss, status = _run([*cli, *command, "--store", store])
        mark = "" if status == 0 else f" (exit {status})"
        print(f"| `{name}`{mark} | {elapsed:.1f} | {rss:.0f} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
