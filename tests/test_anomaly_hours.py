"""``investigate anomalies``: usual hours are the hours actually seen, never a min-max span."""

from __future__ import annotations

import io
import re
from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st

from onepassword_ecs.cli import main
from onepassword_ecs.investigate._anomalies import _hour_span

WINDOW = ["--since", "2026-10-24", "--until", "2026-10-31"]


def _hours_in(summary: str) -> set[int]:
    """Every hour a summary such as ``22h-01h, 08h, 14h-18h`` covers."""
    covered: set[int] = set()
    for part in summary.split(", "):
        first, _, last = part.partition("-")
        start = int(first.removesuffix("h"))
        end = int(last.removesuffix("h")) if last else start
        hour = start
        covered.add(hour)
        while hour != end:
            hour = (hour + 1) % 24
            covered.add(hour)
    return covered


def test_runs_of_hours() -> None:
    assert _hour_span({8, 9, 10, 11, 12, 14, 15, 16, 17, 18}) == "08h-12h, 14h-18h"
    assert _hour_span({0, 9}) == "00h, 09h"  # not "00h-09h": 09h would be inside
    assert _hour_span({22, 23, 0, 1, 7}) == "07h, 22h-01h"
    assert _hour_span({5}) == "05h"
    assert _hour_span(set()) == "never"
    assert _hour_span(set(range(24))) == "at every hour"


@given(st.sets(st.integers(0, 23), min_size=1, max_size=23))
def test_the_summary_covers_exactly_the_hours_seen(hours: set[int]) -> None:
    assert _hours_in(_hour_span(hours)) == hours


def test_findings_never_summarize_a_flagged_hour_as_usual(activity_store: Path) -> None:
    out = io.BytesIO()
    argv = ["investigate", "anomalies", "--store", str(activity_store), *WINDOW]
    code = main([*argv, "--limit", "500", "--json"], stdout=out, stderr=io.StringIO())
    assert code == 0
    findings = [f for f in orjson.loads(out.getvalue())["findings"] if f["kind"] == "unusual_hours"]
    assert findings, "the activity store has people active at odd hours"
    for finding in findings:
        flagged = {int(h.removesuffix("h")) for h in finding["evidence"]["hours"]}
        baseline = {int(h.removesuffix("h")) for h in finding["evidence"]["baseline_hours"]}
        summary = re.search(r"usually (.+)$", finding["summary"])
        assert summary, finding["summary"]
        covered = _hours_in(summary.group(1)) if baseline else set()
        assert covered == baseline
        assert not covered & flagged, finding["summary"]
