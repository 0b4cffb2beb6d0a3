"""``collect --retention`` keeps the store bounded, and ``collect --status --json``.

A store with a retention prunes after its first commit, then at most hourly, and when
it is closed; so one ``collect --once`` ends with nothing older than the retention.

Against the stand-in Events API on 127.0.0.1: half the events are three days old, half
thirty minutes; with ``--retention 2d`` the store keeps only the recent half, every
event was still delivered (the cursor moved past all of them), and the alerts table is
untouched by the prune.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collect_helpers import FEATURES, make_events, new_token, run_cli, start_stub
from onepassword_ecs.sinks import EventStore


def test_retention_prunes_what_aged_out_and_status_json_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = new_token()
    monkeypatch.setenv("EVENTS_API_TOKEN", token)
    api = start_stub(token)
    try:
        recent: set[str] = set()
        for endpoint in FEATURES:
            api.add(endpoint, make_events(endpoint, 5, prefix="OLD", minutes_ago=3 * 24 * 60))
            fresh = make_events(endpoint, 5, prefix="NEW", minutes_ago=30)
            api.add(endpoint, fresh)
            recent.update(event["uuid"] for event in fresh)
        store = tmp_path / "events.db"
        state = tmp_path / "state.db"
        argv = ["collect", "--url", api.url, "--state", str(state), "--once", "-q"]
        argv += ["--since", "7d", "--store", str(store), "--retention", "2d"]
        status, _, err = run_cli(argv)
        assert status == 0, err
        with EventStore.open(store, readonly=True) as opened:
            kept = {row[1] for batch in opened.rows([]) for row in batch}
        assert kept == recent

        status, out, err = run_cli(["collect", "--status", "--state", str(state), "--json"])
        assert status == 0, err
        assert out.count(b"\n") == 1
        summary = json.loads(out)
        assert summary["healthy"] is True
        assert sum(stream["delivered"] for stream in summary["streams"]) == 30
        assert {stream["stream"] for stream in summary["streams"]} == {
            "audit_events",
            "item_usages",
            "signin_attempts",
        }
    finally:
        api.stop()


def test_retention_without_a_store_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTS_API_TOKEN", new_token())
    argv = ["collect", "--once", "-o", str(tmp_path / "o.ndjson"), "--retention", "2d"]
    argv += ["--state", str(tmp_path / "state.db"), "--url", "http://127.0.0.1:9"]
    status, _, err = run_cli(argv)
    assert status == 2 and "--retention" in err
    assert not (tmp_path / "state.db").exists()
