"""``scripts/bench_stages.py --quick`` runs and reports every figure (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_stages.py"


def test_bench_stages_quick_reports_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", "--cli-rounds", "0"],
        capture_output=True,
        timeout=300,
        check=True,
    )
    figures = orjson.loads(result.stdout)
    assert set(figures["ratios"]) == {"plain", "enriched", "redacted", "both"}
    assert figures["lookup_entries"]["items"] == 5000
    assert 0 < figures["enriched_share"] <= 1
    assert figures["enriched_over_plain"] > 0
