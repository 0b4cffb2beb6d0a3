"""Smoke test for scripts/bench.py: it runs end to end and prints its verdict lines.

The benchmark is a script nobody runs in CI otherwise, so without this it would rot
silently when the CLI or the mappers change shape. It asserts nothing about speed:
timings on a shared CI machine are noise, and a timed test would fail at random.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"


def test_bench_quick_runs_and_prints_the_ratios(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--large-mb", "0", "--tmp", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard only, far above the few seconds it takes
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("library / floor") for line in lines), result.stdout
    assert any(line.startswith("CLI / copier") for line in lines), result.stdout
    assert "rejected records" not in result.stdout, result.stdout
