"""What a big lookup file costs in memory, per process (issue 21, item 22).

Writes a ``uuid,kind,name`` CSV of ``--rows`` rows (default 1,000,000: about 78 MB, as
in the issue) and loads it in a fresh process the way the enrichment stage does
(:class:`onepassword_ecs.stages.Enricher`), then reports, in MB:

* the file's size;
* ``held``: resident memory after loading, minus the process's before loading (what
  every ``--workers`` process keeps while it runs);
* ``peak``: the highest resident memory during the load (``VmHWM``, reset just
  before it), minus the same baseline.

Run it under ``nice -n 10`` on a shared machine; the figures are memory, not time, so
the machine's load does not move them::

    nice -n 10 python scripts/bench_lookup_memory.py [--rows N] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
FIRST = ["Alice", "Bob", "Chen", "Dana", "Eun-ji", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
LAST = ["Kowalski", "Tanaka", "Levi", "Park", "Haddad", "Okafor", "Novak", "Silva", "Berg"]
KINDS = ["item"] * 80 + ["vault"] * 8 + ["user"] * 10 + ["group"] * 2

_PROBE = r"""
import gc, json, resource, sys
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()
def high_water_mark():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0
from onepassword_ecs.stages import Enricher
gc.collect()
before = rss()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak so far (imports, compiling) is not the load's: start it here
enricher = Enricher([sys.argv[1]])
lookups = enricher.source.current()
peak = high_water_mark() - before
gc.collect()
held = rss() - before
print(json.dumps({"entries": len(lookups), "held": held, "peak": peak}))
"""


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """``rows`` lines of ``uuid,kind,name``: 26-letter uuids, names of people and things."""
    chooser = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write("uuid,kind,name\n")
        for number in range(rows):
            uuid = "".join(chooser.choices(ALPHABET, k=26))
            kind = chooser.choice(KINDS)
            if kind == "user":
                name = f"{chooser.choice(FIRST)} {chooser.choice(LAST)}"
                if number % 2:
                    name = name.lower().replace(" ", ".") + f"{number}@corp.example"
            else:
                owner, team = chooser.choice(FIRST), chooser.choice(LAST)
                name = f"{kind.title()} {number} of {owner} {team} - production login"
            out.write(f"{uuid},{kind},{name}\n")


def measure(path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    found = json.loads(done.stdout)
    megabyte = 1_000_000
    return {
        "rows": found["entries"],
        "file_mb": round(path.stat().st_size / megabyte, 1),
        "held_mb": round(found["held"] / megabyte, 1),
        "peak_mb": round(found["peak"] / megabyte, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lookup-memory-") as folder:
        path = Path(folder) / "lookups.csv"
        write_csv(path, args.rows)
        figures = measure(path)
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{figures['rows']:,} entries, file {figures['file_mb']} MB: held "
            f"{figures['held_mb']} MB, peak {figures['peak_mb']} MB "
            f"({figures['held_mb'] / figures['file_mb']:.2f}x / "
            f"{figures['peak_mb'] / figures['file_mb']:.2f}x the file)"
        )


if __name__ == "__main__":
    main()
