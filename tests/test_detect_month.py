"""A generated month of activity for 300 people: exactly the planted alerts, no others."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from onepassword_ecs.cli import main

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix[:-1]: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat |= _flat(item, f"{prefix}{key}.")
    return flat


def test_month_of_300_people_raises_the_planted_alerts_only(tmp_path: Path) -> None:
    records, expected = tmp_path / "month.ndjson", tmp_path / "expected.ndjson"
    subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "detect_month.py"),
            "--users",
            "300",
            "--rate",
            "1",
            "--records",
            str(records),
            "--expected",
            str(expected),
        ],
        check=True,
        timeout=120,
    )
    out, err = io.BytesIO(), io.StringIO()
    code = main(
        ["detect", str(records), "--context", str(SCRIPTS / "detect_month.toml")],
        stdout=out,
        stderr=err,
    )
    assert code == 3, err.getvalue()
    alerts = [json.loads(line) for line in out.getvalue().splitlines()]
    got = sorted(
        (a["rule"]["id"], json.dumps(_flat(a["onepassword"]["alert"]["group"]), sort_keys=True))
        for a in alerts
    )
    want = sorted(
        (e["rule"], json.dumps(e["group"], sort_keys=True))
        for e in map(json.loads, expected.read_text(encoding="utf-8").splitlines())
    )
    assert got == want
    assert len({rule for rule, _group in got}) == 17
