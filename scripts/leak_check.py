#!/usr/bin/env python3
"""RSS must stay flat while the native mapper maps a million records.

Why: the native mapper (mapping/_cnative.c) allocates its output buffer, memo entries
and Python objects by hand; a reference or an entry lost per call would grow the
process without bound on a collector that runs for months. Its memos are bounded
(direct-mapped slots that replace their entry), so after a warm-up the resident size
must not grow. The records cycle through the benchmark corpus, and one in ten gets a
person never seen before, so memo entries are made and replaced all along (the
replace-and-free path is what would leak).

Usage: python scripts/leak_check.py [CALLS] [--limit-mb MB]   (exit 1 when RSS grew)
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import Corpus
from onepassword_ecs import normalize, normalize_bytes
from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.mapping import mapper_implementation

SEED = 20260217


def rss_mb() -> float:
    """The current resident set size (not the peak), from /proc."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("calls", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--limit-mb", type=float, default=8.0, help="growth allowed after warm-up")
    options = parser.parse_args()
    print(f"leak check: {options.calls:,} calls, {mapper_implementation()} mapper")
    lines = list(Corpus(SEED).lines(20_000))
    fresh = b'"name":"Leak Check %d"'
    warm = max(options.calls // 10, 1)
    baseline = peak = 0.0
    for number in range(options.calls):
        line = lines[number % len(lines)]
        if number % 10 == 0 and b'"name":"' in line:
            start = line.index(b'"name":"')
            end = line.index(b'"', start + 8)
            line = line[:start] + fresh % number + line[end + 1 :]
        try:
            if number % 4:
                normalize_bytes(line)
            else:
                normalize(line)
        except NormalizationError:
            pass
        if number + 1 == warm:
            baseline = rss_mb()
            print(f"  after {warm:,} calls (warm-up): RSS {baseline:.1f} MB")
        elif number + 1 > warm and (number + 1) % warm == 0:
            peak = max(peak, rss_mb())
            print(f"  after {number + 1:,} calls: RSS {rss_mb():.1f} MB")
    growth = peak - baseline
    print(f"  growth after the warm-up: {growth:+.1f} MB (limit {options.limit_mb} MB)")
    return 0 if growth <= options.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
