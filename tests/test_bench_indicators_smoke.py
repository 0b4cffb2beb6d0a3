"""``scripts/bench_indicators.py --quick`` runs and reports every figure (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_indicators.py"


def test_bench_indicators_quick_reports_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json"],
        capture_output=True,
        timeout=300,
        check=True,
    )
    figures = orjson.loads(result.stdout)
    assert figures["indicators"] == 5000
    assert figures["records"] == 2000
    assert 0 < figures["documents_matched"] < figures["records"]  # some, not all, match
    assert figures["plain_us"] > 0 and figures["matched_us"] > 0 and figures["ratio"] > 0
    assert figures["tables_mb"] > 0 and figures["load_cpu_seconds"] > 0
