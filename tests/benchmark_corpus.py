"""The benchmark's seeded corpus (scripts/_corpus.py) for tests that hold two code paths
to the same output on realistic records."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = 20260217


def corpus_lines(count: int) -> list[bytes]:
    """The first ``count`` lines of the benchmark corpus (the benchmark's own seed)."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from _corpus import Corpus
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return list(Corpus(SEED).lines(count))
