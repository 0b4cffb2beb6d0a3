#!/usr/bin/env python3
"""What the indicators stage costs per record with 100,000 indicators loaded.

The budget (issue 24, as the lookups stage was held to): the library's ratio with the
stage must stay at or above 0.90 of the ratio without, that is plain cost / cost with
the stage >= 0.90. Measured as instructions under valgrind (``--callgrind N``: exact,
whatever the machine's load) and, by default, as in-process CPU time (best of
``--rounds``, rounds interleaved), on the seeded corpus of ``scripts/bench.py``.

The feed is a CSV of ``--indicators`` entries: 60 % single IPv4 addresses, 10 % IPv4
ranges (/22 to /30), 10 % IPv6 ranges and addresses, 10 % domains, 10 % emails, all made
up, plus a few of the corpus's own addresses so some records do match (a match costs
more than a miss: it builds the enrichment). The script also reports how long the feed
takes to load and how much memory the loaded tables hold (tracemalloc). Usage::

    python scripts/bench_indicators.py                      # CPU time, 50,000 records
    python scripts/bench_indicators.py --callgrind 5000     # instructions per record
    python scripts/bench_indicators.py --quick              # smoke test, not a result
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
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import Corpus
from onepassword_ecs import normalize
from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.stages import IndicatorMatcher, load_indicators

SEED = 20260217
BUDGET = 0.90
WARMUP = 1_000


def write_feed(path: Path, count: int, corpus_lines: list[bytes], seed: int) -> int:
    """A CSV feed of ``count`` made-up indicators plus up to 20 of the corpus's addresses."""
    rng = random.Random(seed)
    rows: list[str] = []
    seen: set[str] = set()
    for line in corpus_lines:
        try:
            ip = normalize(line).get("source", {}).get("ip")
        except NormalizationError:
            continue
        if ip and ip not in seen and len(seen) < 20:
            seen.add(ip)
            rows.append(f"{ip},ip,corpus")
    while len(rows) < count:
        pick = rng.random()
        if pick < 0.6:
            rows.append(
                f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}."
                f"{rng.randrange(1, 255)},ipv4-addr,made-up"
            )
        elif pick < 0.7:
            length = rng.randrange(22, 31)
            value = rng.getrandbits(32) >> (32 - length) << (32 - length)
            address = ".".join(str(value >> s & 255) for s in (24, 16, 8, 0))
            rows.append(f"{address}/{length},ipv4-addr,made-up")
        elif pick < 0.8:
            rows.append(
                f"2001:db8:{rng.randrange(65536):x}:{rng.randrange(65536):x}::/64,ipv6-addr,made-up"
            )
        elif pick < 0.9:
            rows.append(f"host{rng.randrange(10**9)}.bad{rng.randrange(1000)}.example,domain,x")
        else:
            rows.append(f"user{rng.randrange(10**9)}@phish{rng.randrange(1000)}.example,email,x")
    path.write_text("value,type,source\n" + "\n".join(rows[:count]) + "\n", encoding="utf-8")
    return min(count, len(rows))


def load_average() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def callgrind_count(mode: str, corpus: Path, feed: Path, work: Path) -> int:
    probe = Path(__file__).resolve().parent / "_callgrind_indicators_probe.py"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work / mode}.out"]
    command += [sys.executable, str(probe), mode, str(corpus), str(feed), str(WARMUP)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the callgrind {mode} run failed: {done.stderr[-2000:]}")
    for line in done.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    raise RuntimeError(f"no instruction count in callgrind's output for {mode}")


def run_callgrind(args: argparse.Namespace) -> dict[str, Any]:
    lines = list(Corpus(args.seed).lines(args.callgrind + WARMUP))
    figures: dict[str, Any] = {"records": args.callgrind, "load_before": load_average()}
    with tempfile.TemporaryDirectory(prefix="bench-indicators-") as tmp:
        work = Path(tmp)
        feed = work / "feed.csv"
        figures["indicators"] = write_feed(feed, args.indicators, lines, args.seed)
        source = work / "corpus.ndjson"
        source.write_bytes(b"\n".join(lines) + b"\n")
        # one at a time: the machine is shared
        counts = {
            m: callgrind_count(m, source, feed, work) for m in ("baseline", "plain", "matched")
        }
    base = counts["baseline"]
    plain = (counts["plain"] - base) / args.callgrind
    matched = (counts["matched"] - base) / args.callgrind
    figures |= {"plain": plain, "matched": matched, "ratio": plain / matched}
    figures["load_after"] = load_average()
    return figures


def run_cpu(args: argparse.Namespace) -> dict[str, Any]:
    lines = list(Corpus(args.seed).lines(args.records))
    figures: dict[str, Any] = {"records": len(lines), "load_before": load_average()}
    with tempfile.TemporaryDirectory(prefix="bench-indicators-") as tmp:
        feed = Path(tmp) / "feed.csv"
        figures["indicators"] = write_feed(feed, args.indicators, lines, args.seed)
        start = time.process_time()
        load_indicators([feed])
        figures["load_cpu_seconds"] = time.process_time() - start
        tracemalloc.start()
        tables = load_indicators([feed])
        figures["tables_mb"] = tracemalloc.get_traced_memory()[0] / 1e6
        tracemalloc.stop()
        del tables
        matcher = IndicatorMatcher([feed])
        documents_matched = 0
        for line in lines[:WARMUP]:
            matcher(normalize(line))
        dumps = orjson.dumps
        best = {"plain": float("inf"), "matched": float("inf")}
        for _ in range(args.rounds):
            for mode in ("plain", "matched"):
                start = time.process_time()
                for line in lines:
                    try:
                        document = normalize(line)
                    except NormalizationError:
                        continue
                    if mode == "matched":
                        document = matcher(document)
                    dumps(document)
                best[mode] = min(best[mode], time.process_time() - start)
        for line in lines:
            try:
                documents_matched += "threat" in matcher(normalize(line))
            except NormalizationError:
                continue
    figures["documents_matched"] = documents_matched
    figures |= {
        "plain_us": best["plain"] / len(lines) * 1e6,
        "matched_us": best["matched"] / len(lines) * 1e6,
        "ratio": best["plain"] / best["matched"],
        "load_after": load_average(),
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--indicators", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--callgrind", type=int, metavar="N", help="instructions over N records")
    parser.add_argument("--quick", action="store_true", help="a few seconds; not a result")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.records, args.indicators, args.rounds = 2_000, 5_000, 1
    figures = run_callgrind(args) if args.callgrind else run_cpu(args)
    if args.json:
        print(orjson.dumps(figures).decode())
    else:
        verdict = "met" if figures["ratio"] >= BUDGET else "NOT met"
        for key, value in figures.items():
            print(f"{key:>18}: {value:,.3f}" if isinstance(value, float) else f"{key:>18}: {value}")
        print(f"plain / with the stage: {figures['ratio']:.3f} (budget >= {BUDGET}: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
