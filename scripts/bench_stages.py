#!/usr/bin/env python3
"""What the stages cost per record: enrichment with 100,000 items loaded, and redaction.

The issue's budget: with lookups loaded, the library's benchmark ratio (the JSON floor's
time over the conversion's time, as in ``scripts/bench.py``) must stay within 10 % of
the ratio without. So this script times, on the same seeded corpus and in the same
process, best of ``--rounds`` (rounds interleaved, so a burst of load hits every
variant alike):

* the floor: ``orjson.dumps(orjson.loads(line))``;
* plain: ``orjson.dumps(normalize(line))``;
* enriched: ``orjson.dumps(enricher(normalize(line)))`` with lookup files holding the
  corpus's users, groups and vaults and ``--items`` items (the corpus's 4,000 and
  made-up others), in the shapes ``op ... list --format json`` prints;
* redacted: ``people=hash`` and ``addresses=hash``; and both stages together (on the
  first ``--redact-records`` lines: redaction costs far more than the rest).

It also reports how long the lookup files take to load and how much memory the loaded
tables hold (tracemalloc). Usage::

    python scripts/bench_stages.py                 # 100,000 records, 100,000 items, best of 5
    python scripts/bench_stages.py --quick         # smoke test, a few seconds; not a result
    python scripts/bench_stages.py --json          # the figures as JSON
    python scripts/bench_stages.py --callgrind 5000  # instructions per record (valgrind)

Wall times on a shared machine move with its load; ``--callgrind N`` instead counts the
instructions one record costs plain and enriched under valgrind (exact and repeatable,
see ``_callgrind_stages_probe.py``), so the budget can be checked whatever the load.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import Corpus
from onepassword_ecs import normalize
from onepassword_ecs.stages import Enricher, Redactor, load_lookups, parse_rules

SEED = 20260217
BUDGET = 0.90  # enriched ratio / plain ratio must stay at or above this
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_TITLES = ("AWS root", "GitHub", "Wi-Fi", "Bank portal", "VPN", "Jira", "Stripe", "Slack")


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def write_lookups(folder: Path, corpus: Corpus, items: int, seed: int) -> dict[str, int]:
    """The ``op ... list --format json`` exports a corpus's account would give."""
    rng = random.Random(seed)
    users = [
        {"id": p["uuid"].lower(), "name": p["name"], "email": p["email"], "type": "MEMBER",
         "state": "ACTIVE"}
        for p in corpus.users
    ]  # fmt: skip
    groups = [
        {"id": uuid, "name": f"Group {n}", "description": "", "state": "ACTIVE",
         "created_at": "2024-01-01T00:00:00Z"}
        for n, uuid in enumerate(corpus.groups)
    ]  # fmt: skip
    vaults = [
        {"id": uuid, "name": f"Vault {n}", "content_version": n + 1,
         "created_at": "2024-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z", "items": 5}
        for n, uuid in enumerate(corpus.vaults)
    ]  # fmt: skip
    ids = list(corpus.items)
    while len(ids) < items:
        ids.append("".join(rng.choice(_ALPHABET) for _ in range(26)))
    entries = []
    for n, uuid in enumerate(ids[:items]):
        vault = corpus.vaults[n % len(corpus.vaults)]
        entries.append(
            {"id": uuid, "title": f"{rng.choice(_TITLES)} {n}", "version": 1 + n % 9,
             "vault": {"id": vault, "name": f"Vault {corpus.vaults.index(vault)}"},
             "category": "LOGIN", "last_edited_by": corpus.users[n % len(corpus.users)]["uuid"],
             "created_at": "2024-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"}
        )  # fmt: skip
    for name, rows in (
        ("users.json", users),
        ("groups.json", groups),
        ("vaults.json", vaults),
        ("items.json", entries),
    ):
        (folder / name).write_bytes(orjson.dumps(rows))
    counts = {"users": users, "groups": groups, "vaults": vaults, "items": entries}
    return {kind: len(rows) for kind, rows in counts.items()}


def timed(lines: list[bytes], convert: Callable[[bytes], Any]) -> float:
    dumps = orjson.dumps
    start = time.perf_counter()
    for line in lines:
        dumps(convert(line))
    return time.perf_counter() - start


def time_cli(source: Path, work: Path, rounds: int, lookups: Path | None) -> float:
    """Best wall time of ``convert SOURCE -o OUT --quiet`` (with ``--lookups`` or not)."""
    command = [sys.executable, "-m", "onepassword_ecs", "convert", str(source)]
    command += ["-o", str(work / "out.ndjson"), "--errors", str(work / "errors.ndjson")]
    command += ["--quiet"] + (["--lookups", str(lookups)] if lookups else [])
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(command, check=True)
        best = min(best, time.perf_counter() - start)
    return best


CALLGRIND_MODES = ("baseline", "plain", "enriched")
CALLGRIND_WARMUP = 1_000


def callgrind_count(mode: str, corpus: Path, lookups: Path, work: Path) -> int:
    """Instructions one ``_callgrind_stages_probe.py`` run executes under callgrind.

    ``PYTHONHASHSEED=0`` fixes string hashes, so dict probes (and the count) repeat
    exactly from run to run.
    """
    probe = Path(__file__).resolve().parent / "_callgrind_stages_probe.py"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work / mode}.out"]
    command += [sys.executable, str(probe), mode, str(corpus), str(lookups)]
    command.append(str(CALLGRIND_WARMUP))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the callgrind {mode} run failed: {done.stderr[-2000:]}")
    for line in done.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    raise RuntimeError(f"no instruction count in callgrind's output for {mode}")


def run_callgrind(args: argparse.Namespace) -> dict[str, Any]:
    """Instructions per record, plain and enriched: (mode - baseline) / records."""
    corpus = Corpus(args.seed)
    lines = list(corpus.lines(args.callgrind + CALLGRIND_WARMUP))
    figures: dict[str, Any] = {"records": args.callgrind, "warmup": CALLGRIND_WARMUP}
    with tempfile.TemporaryDirectory(prefix="bench-stages-callgrind-") as tmp:
        work = Path(tmp)
        lookups = work / "lookups"
        lookups.mkdir()
        figures["lookup_entries"] = write_lookups(lookups, corpus, args.items, args.seed)
        source = work / "corpus.ndjson"
        source.write_bytes(b"\n".join(lines) + b"\n")
        # Two at a time: the counts do not depend on the load, only the waiting does.
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = {
                mode: pool.submit(callgrind_count, mode, source, lookups, work)
                for mode in CALLGRIND_MODES
            }
            counts = {mode: done.result() for mode, done in runs.items()}
    base = counts["baseline"]
    per_record = {mode: (counts[mode] - base) / args.callgrind for mode in CALLGRIND_MODES[1:]}
    figures["instructions_per_record"] = per_record
    figures["enrichment_instructions"] = per_record["enriched"] - per_record["plain"]
    figures["enriched_over_plain"] = per_record["plain"] / per_record["enriched"]
    return figures


def render_callgrind(f: dict[str, Any]) -> str:
    per_record = f["instructions_per_record"]
    entries = ", ".join(f"{count:,} {kind}" for kind, count in f["lookup_entries"].items())
    verdict = "met" if f["enriched_over_plain"] >= BUDGET else "NOT met"
    return "\n".join(
        [
            f"callgrind: {f['records']:,} records after {f['warmup']:,} warm-up; "
            f"lookups: {entries}",
            f"  plain     {per_record['plain']:>10,.0f} instructions per record",
            f"  enriched  {per_record['enriched']:>10,.0f} instructions per record",
            f"  enrichment adds {f['enrichment_instructions']:,.0f} instructions per record; "
            f"plain / enriched: {f['enriched_over_plain']:.3f} "
            f"(budget >= {BUDGET:.2f}: {verdict})",
        ]
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    corpus = Corpus(args.seed)
    lines = list(corpus.lines(args.records))
    figures: dict[str, Any] = {"records": len(lines), "load_before": load_average()}
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        folder = Path(tmp)
        figures["lookup_entries"] = write_lookups(folder, corpus, args.items, args.seed)
        figures["lookup_file_mb"] = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        start = time.perf_counter()
        load_lookups([folder])
        figures["load_seconds"] = time.perf_counter() - start
        # What the loaded tables hold (tracemalloc: RSS would also count the parsed
        # JSON's freed memory, which the allocator keeps for reuse).
        tracemalloc.start()
        tables = load_lookups([folder])
        figures["tables_mb"] = tracemalloc.get_traced_memory()[0] / 1e6
        tracemalloc.stop()
        del tables
        enricher = Enricher([folder])
        redactor = Redactor(
            parse_rules(["people=hash", "addresses=hash"]), key=b"bench-key-0123456789abcdef"
        )
        loads = orjson.loads
        variants: dict[str, Callable[[bytes], Any]] = {
            "floor": loads,
            "plain": normalize,
            "enriched": lambda line: enricher(normalize(line)),
            "redacted": lambda line: redactor(normalize(line)),
            "both": lambda line: redactor(enricher(normalize(line))),
        }
        for convert in variants.values():  # untimed: tables, caches, lookups loaded
            timed(lines[:2000], convert)
        # Redaction is ten times dearer than the rest: timed on the first
        # --redact-records lines only; every variant's time is per record.
        sample = lines[: args.redact_records]
        best = dict.fromkeys(variants, float("inf"))
        for _ in range(args.rounds):
            for name, convert in variants.items():
                part = sample if name in ("redacted", "both") else lines
                best[name] = min(best[name], timed(part, convert) / len(part))
        enriched = sum(1 for line in lines[:5000] if enricher(normalize(line)) != normalize(line))
        if args.cli_rounds:
            # End to end: the CLI's own per-record costs (reading, chunks, writing) are
            # part of what a user waits for; lookups load once per run (in the figure).
            source = folder / "records.ndjson"
            source.write_bytes(b"\n".join(lines) + b"\n")
            work = folder / "work"
            work.mkdir()
            plain_cli = enriched_cli = float("inf")
            for _ in range(args.cli_rounds):
                plain_cli = min(plain_cli, time_cli(source, work, 1, None))
                enriched_cli = min(enriched_cli, time_cli(source, work, 1, folder))
            figures["cli_seconds"] = {"plain": plain_cli, "enriched": enriched_cli}
    figures["enriched_share"] = enriched / min(len(lines), 5000)
    figures["seconds"] = best
    figures["ratios"] = {name: best["floor"] / best[name] for name in best if name != "floor"}
    figures["microseconds_per_record"] = {name: best[name] * 1e6 for name in best}
    figures["redact_records"] = min(len(lines), args.redact_records)
    figures["enriched_over_plain"] = figures["ratios"]["enriched"] / figures["ratios"]["plain"]
    if "cli_seconds" in figures:
        cli = figures["cli_seconds"]
        figures["cli_enriched_over_plain"] = cli["plain"] / cli["enriched"]
        # The one-off load (measured in-process above, same files) taken out: what each
        # record costs once the tables are in memory, as in a long-running collector.
        per_record = cli["enriched"] - figures["load_seconds"]
        figures["cli_enriched_over_plain_loaded"] = cli["plain"] / per_record
    figures["load_after"] = load_average()
    return figures


def render(f: dict[str, Any]) -> str:
    us = f["microseconds_per_record"]
    ratios = f["ratios"]
    entries = ", ".join(f"{count:,} {kind}" for kind, count in f["lookup_entries"].items())
    rows = [
        f"records: {f['records']:,} (seeded corpus), lookups: {entries} "
        f"({f['lookup_file_mb']:.1f} MB of JSON)",
        f"lookups load: {f['load_seconds']:.2f} s, tables hold {f['tables_mb']:.1f} MB",
        f"documents enriched: {f['enriched_share']:.0%}; redaction timed on the first "
        f"{f['redact_records']:,} records",
        f"{'variant':<10} {'us/record':>10} {'ratio':>7}",
        f"{'floor':<10} {us['floor']:>10.2f} {'':>7}",
    ]
    for name in ("plain", "enriched", "redacted", "both"):
        rows.append(f"{name:<10} {us[name]:>10.2f} {ratios[name]:>7.3f}")
    verdict = "met" if f["enriched_over_plain"] >= BUDGET else "NOT met"
    rows.append(
        f"enriched ratio / plain ratio: {f['enriched_over_plain']:.3f} "
        f"(budget >= {BUDGET:.2f}: {verdict})"
    )
    if "cli_seconds" in f:
        cli = f["cli_seconds"]
        rows.append(
            f"CLI convert, one process: {cli['plain']:.2f} s plain, {cli['enriched']:.2f} s "
            f"with --lookups (loading included): {f['cli_enriched_over_plain']:.3f} of the speed; "
            f"{f['cli_enriched_over_plain_loaded']:.3f} without the one-off load"
        )
    rows.append(f"load average (1 min) before {f['load_before']}, after {f['load_after']}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redact-records", type=int, default=20_000)
    parser.add_argument("--cli-rounds", type=int, default=3, help="0 skips the CLI runs")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--callgrind",
        type=int,
        metavar="N",
        help="count instructions per record over N records under valgrind instead of timing",
    )
    args = parser.parse_args(argv)
    if args.callgrind:
        figures = run_callgrind(args)
        print(orjson.dumps(figures).decode() if args.json else render_callgrind(figures))
        return 0
    if args.quick:
        args.records, args.items, args.rounds, args.redact_records = 3000, 5000, 1, 1000
        args.cli_rounds = min(args.cli_rounds, 1)
    figures = run(args)
    print(orjson.dumps(figures).decode() if args.json else render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
