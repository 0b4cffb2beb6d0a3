"""``onepassword-ecs collect`` against the stand-in Events API (tests/events_api_stub.py).

Every test talks to a real HTTP server on 127.0.0.1 and keeps its state in a real
SQLite file; the CLI runs in-process here, and as a subprocess in test_collect_crash.py.
Polling, backoff and rate windows are shrunk by options so the suite stays fast.
"""

from __future__ import annotations

import gzip
import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from collect_helpers import (
    FEATURES,
    collect_args,
    feed,
    ids,
    make_events,
    new_token,
    read_ndjson,
    run_cli,
    start_stub,
)
from events_api_stub import StubEventsApi


def page_requests(api: StubEventsApi) -> list[str]:
    return [r.path for r in api.requests if r.method == "POST"]


def test_once_delivers_every_stream_exactly_once(api: StubEventsApi, tmp_path: Path) -> None:
    expected = feed(api, 23)
    api.add("itemusages", [{"uuid": "BADTIME", "timestamp": "yesterday", "action": "reveal"}])
    out, errors = tmp_path / "out.ndjson", tmp_path / "errors.ndjson"
    status, _, stderr = run_cli(
        collect_args(
            api, tmp_path, "--once", "--page-size", "5", "-o", str(out), "--errors", str(errors)
        )
    )
    assert status == 0, stderr
    documents = read_ndjson(out)
    assert ids(documents) == {uuid: 1 for uuid in expected}
    datasets = {doc["event"]["dataset"] for doc in documents}
    assert datasets == {
        "1password.audit_events",
        "1password.item_usages",
        "1password.signin_attempts",
    }
    rejected = read_ndjson(errors)
    assert [(e["stream"], e["reason"]) for e in rejected] == [("item_usages", "bad_timestamp")]
    assert rejected[0]["cursor"]  # the cursor that fetched the page, to find it again
    first = next(r for r in api.requests if r.method == "POST")
    assert first.path.startswith("/api/v2/")
    assert set(first.body) == {"limit", "start_time"} and first.body["limit"] == 5


def test_first_run_resets_from_since_then_continues_from_the_cursor(
    api: StubEventsApi, tmp_path: Path
) -> None:
    feed(api, 3)
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    before = datetime.now(UTC)
    status, _, stderr = run_cli(
        collect_args(
            api,
            tmp_path,
            "--once",
            "--since",
            "90m",
            "--until",
            until,
            "-o",
            str(tmp_path / "o.ndjson"),
        )
    )
    assert status == 0, stderr
    resets = [r.body for r in api.requests if r.method == "POST" and "cursor" not in r.body]
    assert len(resets) == 3 and all(b["limit"] == 1000 and "end_time" in b for b in resets)
    start = datetime.fromisoformat(resets[0]["start_time"])
    assert abs((before - timedelta(minutes=90)) - start) < timedelta(seconds=30)
    api.requests.clear()
    seen = len(api.requests)
    status, _, _ = run_cli(collect_args(api, tmp_path, "--once", "-o", str(tmp_path / "o.ndjson")))
    later = [r.body for r in api.requests[seen:] if r.method == "POST"]
    assert status == 0 and later and all(set(body) == {"cursor"} for body in later)


def test_since_older_than_retention_is_clamped_with_a_warning(
    api: StubEventsApi, tmp_path: Path
) -> None:
    status, _, stderr = run_cli(
        collect_args(
            api,
            tmp_path,
            "--once",
            "--since",
            "2020-01-01T00:00:00Z",
            "-o",
            str(tmp_path / "o.ndjson"),
        )
    )
    assert status == 0
    assert "120 days" in stderr
    start = datetime.fromisoformat(
        next(r.body for r in api.requests if r.method == "POST")["start_time"]
    )
    assert datetime.now(UTC) - start < timedelta(days=120, minutes=1)


def test_late_events_are_picked_up_by_the_next_run(api: StubEventsApi, tmp_path: Path) -> None:
    first = feed(api, 10, prefix="A", minutes_ago=20)
    out = tmp_path / "out.ndjson"
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    # Ingested now, but an hour older than what was already delivered: a timestamp
    # watermark would skip them; the cursor does not.
    late = make_events("itemusages", 4, prefix="LATE", minutes_ago=80)
    api.add("itemusages", late)
    newer = feed(api, 2, prefix="B", minutes_ago=5)
    status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))
    assert status == 0, stderr
    assert ids(read_ndjson(out)) == {u: 1 for u in first | newer | {e["uuid"] for e in late}}


def test_empty_pages_with_has_more_do_not_end_the_cycle(api: StubEventsApi, tmp_path: Path) -> None:
    expected = feed(api, 12)
    api.set(empty_pages=6)
    out = tmp_path / "out.ndjson"
    status, _, stderr = run_cli(
        collect_args(api, tmp_path, "--once", "--page-size", "4", "-o", str(out))
    )
    assert status == 0, stderr
    assert ids(read_ndjson(out)) == {u: 1 for u in expected}
    assert api.state.empty_pages == 0  # every injected empty page was served and followed


def test_endless_empty_pages_do_not_keep_once_running(api: StubEventsApi, tmp_path: Path) -> None:
    expected = feed(api, 2)
    api.set(empty_pages=1000)
    out = tmp_path / "out.ndjson"
    args = collect_args(api, tmp_path, "--once", "--pages-per-cycle", "3", "-o", str(out))
    assert run_cli(args)[0] == 0  # the first (reset) pages delivered, then only empty ones
    first_run = len(api.requests)
    assert run_cli(args)[0] == 0
    assert len(api.requests) - first_run == 1 + 3 * 3  # one capped cycle per stream
    api.set(empty_pages=0)
    assert run_cli(args)[0] == 0
    assert ids(read_ndjson(out)) == {u: 1 for u in expected}


def test_same_cursor_on_an_empty_page_ends_the_cycle(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 2)
    out = tmp_path / "out.ndjson"
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    before = len(api.requests)
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    # introspection + one cursor request per stream, each answered with its own cursor
    later = api.requests[before:]
    posts = [r for r in later if r.method == "POST"]
    assert len(posts) == 3 and len(later) == 4


def test_transient_failures_are_retried_and_retry_after_is_honoured(
    api: StubEventsApi, tmp_path: Path
) -> None:
    expected = feed(api, 6)
    api.fail_next(429, retry_after="1", endpoint="auditevents")
    api.fail_next(429, endpoint="auditevents")
    api.fail_next(500, count=2)
    api.fail_next(503)
    out = tmp_path / "out.ndjson"
    status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))
    assert status == 0, stderr
    assert ids(read_ndjson(out)) == {u: 1 for u in expected}
    posts = [r for r in api.requests if r.path.endswith("auditevents")]
    first_429 = next(i for i, r in enumerate(posts) if r.status == 429)
    assert posts[first_429 + 1].at - posts[first_429].at >= 0.95  # waited Retry-After: 1
    assert sum(r.status >= 500 for r in api.requests) == 3


def test_timeouts_are_retried(api: StubEventsApi, tmp_path: Path) -> None:
    expected = feed(api, 3)
    api.fail_next(500, stall=1.5, endpoint="itemusages")
    out = tmp_path / "out.ndjson"
    status, _, stderr = run_cli(
        collect_args(api, tmp_path, "--once", "--timeout", "0.3s", "-o", str(out))
    )
    assert status == 0, stderr
    assert "timed out" in stderr
    assert ids(read_ndjson(out)) == {u: 1 for u in expected}


def test_connection_errors_are_retried_then_the_run_fails(tmp_path: Path, token: str) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    status, _, stderr = run_cli(
        [
            "collect",
            "--url",
            f"http://127.0.0.1:{port}",
            "--state",
            str(tmp_path / "s"),
            "--once",
            "--retries",
            "3",
            "--backoff-base",
            "0.05s",
            "--backoff-max",
            "0.1s",
        ]
    )
    assert status == 1
    assert stderr.count('"event":"retry"') == 3 and "ConnectError" in stderr
    assert time.monotonic() - started < 20


def test_retry_after_as_an_http_date() -> None:
    from email.utils import formatdate

    from onepassword_ecs.collect import parse_retry_after

    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_exhausted_retries_stop_the_stream_and_exit_1(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 3)
    api.fail_next(500, count=50, endpoint="itemusages")
    out = tmp_path / "out.ndjson"
    status, _, stderr = run_cli(
        collect_args(api, tmp_path, "--once", "--retries", "2", "-o", str(out))
    )
    assert status == 1
    assert "retries exhausted" in stderr
    assert sum(r.path.endswith("itemusages") for r in api.requests) == 3
    datasets = {d["event"]["dataset"] for d in read_ndjson(out)}
    assert datasets == {"1password.audit_events", "1password.signin_attempts"}


def test_bad_cursor_stops_by_default_and_resets_without_duplicates(
    api: StubEventsApi, tmp_path: Path
) -> None:
    first = feed(api, 8, prefix="A", minutes_ago=20)
    out = tmp_path / "out.ndjson"
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    api.forget_cursors()
    second = feed(api, 3, prefix="B", minutes_ago=5)
    status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))
    assert status == 1
    assert "--on-bad-cursor reset" in stderr
    status, _, stderr = run_cli(
        collect_args(
            api,
            tmp_path,
            "--once",
            "--on-bad-cursor",
            "reset",
            "--reset-overlap",
            "30m",
            "-o",
            str(out),
        )
    )
    assert status == 0, stderr
    assert "cursor_reset" in stderr
    # The reset re-fetched the overlap (the first batch); uuids already delivered are skipped.
    assert ids(read_ndjson(out)) == {u: 1 for u in first | second}


def test_a_stream_the_token_does_not_cover_is_a_warning(tmp_path: Path, token: str) -> None:
    api = start_stub(token, features=("auditevents",))
    try:
        expected = {e["uuid"] for e in make_events("auditevents", 4, prefix="A")}
        api.add("auditevents", make_events("auditevents", 4, prefix="A"))
        api.add("itemusages", make_events("itemusages", 4, prefix="A"))
        out = tmp_path / "out.ndjson"
        status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))
        assert status == 0, stderr
        assert stderr.count("stream_not_covered") == 2
        assert set(ids(read_ndjson(out))) == expected
        assert all(r.path.endswith(("auditevents", "introspect")) for r in api.requests)
        report = run_cli(["collect", "--status", "--state", str(tmp_path / "state.sqlite3")])
        assert report[0] == 0 and "not covered" in report[1].decode()
    finally:
        api.stop()


def test_401_mid_run_stops_that_stream_only(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 4)
    api.fail_next(401, endpoint="signinattempts")
    out = tmp_path / "out.ndjson"
    status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))
    assert status == 1
    assert "HTTP 401" in stderr
    assert sum(r.path.endswith("signinattempts") for r in api.requests) == 1  # not retried
    datasets = {d["event"]["dataset"] for d in read_ndjson(out)}
    assert datasets == {"1password.audit_events", "1password.item_usages"}


def test_v1_endpoints_and_v1_introspection(token: str, tmp_path: Path) -> None:
    api = start_stub(token, introspect_v2=False)
    try:
        feed(api, 2)
        out = tmp_path / "out.ndjson"
        status, _, stderr = run_cli(
            collect_args(api, tmp_path, "--once", "--api-version", "v1", "-o", str(out))
        )
        assert status == 0, stderr
        paths = [r.path for r in api.requests]
        assert paths[:2] == ["/api/v2/auth/introspect", "/api/auth/introspect"]
        assert all(p.startswith("/api/v1/") for p in paths[2:])
        documents = read_ndjson(out)
        assert len(documents) == 6
        assert all("account_uuid" not in d.get("onepassword", {}) for d in documents)
    finally:
        api.stop()


def test_documents_are_the_ones_convert_writes(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 2)
    out = tmp_path / "out.ndjson"
    assert (
        run_cli(collect_args(api, tmp_path, "--once", "--namespace", "prod", "-o", str(out)))[0]
        == 0
    )
    collected = read_ndjson(out)
    assert {d["data_stream"]["namespace"] for d in collected} == {"prod"}
    pages = tmp_path / "pages.ndjson"
    pages.write_bytes(
        b"".join(orjson.dumps(r) + b"\n" for e in FEATURES for r in api.state.events[e])
    )
    converted = tmp_path / "converted.ndjson"
    status, _, _ = run_cli(
        ["convert", str(pages), "-o", str(converted), "--namespace", "prod", "-q"]
    )
    assert status == 0
    by_id = {d["event"]["id"]: d for d in read_ndjson(converted)}
    assert all(by_id[d["event"]["id"]] == d for d in collected) and len(by_id) == len(collected)
    bare = tmp_path / "bare.ndjson"
    args = collect_args(api, tmp_path / "second", "--once", "--no-data-stream", "-o", str(bare))
    assert run_cli(args)[0] == 0
    assert all("data_stream" not in d for d in read_ndjson(bare))


def test_v2_keeps_the_msp_fields(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 1)
    out = tmp_path / "out.ndjson"
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    documents = read_ndjson(out)
    assert all(d["onepassword"]["account_uuid"] == "MSPACCOUNTCCCCCCCCCCCCCCCC" for d in documents)
    audit = next(d for d in documents if d["event"]["dataset"] == "1password.audit_events")
    assert audit["onepassword"]["actor_type"] == "external_user"


def test_the_rate_limit_is_never_exceeded_across_runs(token: str, tmp_path: Path) -> None:
    api = start_stub(token, rate_limit=(6, 1.0))
    try:
        expected = feed(api, 5)
        out = tmp_path / "out.ndjson"
        base = collect_args(api, tmp_path, "--once", "--page-size", "1", "-o", str(out))
        base[base.index("2000/1s")] = "6/1s"
        first = run_cli(base)
        more = feed(api, 2, prefix="B")
        second = run_cli(base)  # back to back: starts with the first run's requests counted
        assert first[0] == 0 and second[0] == 0, first[2] + second[2]
        assert len(api.requests) == 23  # 1 + 3 * 5 pages, then 1 + 3 * 2
        assert api.state.rate_limited == 0
        assert api.max_in_window(1.0) <= 6
        assert ids(read_ndjson(out)) == {u: 1 for u in expected | more}
    finally:
        api.stop()


def test_pages_per_cycle_lets_every_stream_take_turns(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 12)
    out = tmp_path / "out.ndjson"
    assert (
        run_cli(
            collect_args(
                api,
                tmp_path,
                "--once",
                "--page-size",
                "2",
                "--pages-per-cycle",
                "2",
                "-o",
                str(out),
            )
        )[0]
        == 0
    )
    order = [p.rsplit("/", 1)[-1] for p in page_requests(api)]
    assert order[:6] == ["auditevents"] * 2 + ["itemusages"] * 2 + ["signinattempts"] * 2
    assert len(read_ndjson(out)) == 36


def test_gzip_output_appends_members_across_runs(api: StubEventsApi, tmp_path: Path) -> None:
    first = feed(api, 5, prefix="A")
    out = tmp_path / "out.ndjson.gz"
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    second = feed(api, 5, prefix="B")
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    lines = gzip.decompress(out.read_bytes()).splitlines()
    assert ids([orjson.loads(x) for x in lines]) == {u: 1 for u in first | second}


def test_standard_output_with_dash(api: StubEventsApi, tmp_path: Path) -> None:
    expected = feed(api, 3)
    status, stdout, _ = run_cli(collect_args(api, tmp_path, "--once", "-o", "-"))
    assert status == 0
    assert ids([orjson.loads(x) for x in stdout.splitlines()]) == {u: 1 for u in expected}


def _stored_ids(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {event_id: 1 for (event_id,) in db.execute("SELECT event_id FROM events")}


def test_no_destination_writes_to_the_default_store_and_says_where(
    api: StubEventsApi, tmp_path: Path
) -> None:
    expected = feed(api, 3)
    status, stdout, stderr = run_cli(collect_args(api, tmp_path, "--once"))
    store = Path(os.environ["XDG_DATA_HOME"]) / "onepassword-ecs" / "events.db"
    assert status == 0
    assert stdout == b""
    assert f"writing to the event store {store}" in stderr
    assert _stored_ids(store) == {u: 1 for u in expected}


def test_store_and_file_together_each_hold_every_event_once_across_runs(
    api: StubEventsApi, tmp_path: Path
) -> None:
    first = feed(api, 4, prefix="A")
    out, store = tmp_path / "out.ndjson", tmp_path / "events.db"
    args = collect_args(api, tmp_path, "--once", "-o", str(out), "--store", str(store))
    assert run_cli(args)[0] == 0
    second = feed(api, 2, prefix="B")
    assert run_cli(args)[0] == 0
    everything = {u: 1 for u in first | second}
    assert ids(read_ndjson(out)) == everything
    assert _stored_ids(store) == everything


def test_a_store_that_cannot_be_opened_is_a_usage_error_before_polling(
    api: StubEventsApi, tmp_path: Path
) -> None:
    feed(api, 2)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "--store", str(junk)))
    assert status == 2
    assert "not a usable store" in stderr
    assert page_requests(api) == []


def test_status_flags_a_silent_stream(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 2, prefix="A")
    out = tmp_path / "out.ndjson"
    state = str(tmp_path / "state.sqlite3")
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    with sqlite3.connect(state) as db:  # as if that run had been two hours ago
        db.execute(
            "UPDATE streams SET last_delivery = last_delivery - 7200, "
            "created = created - 7200, last_poll = last_poll - 7200"
        )
    # Audit events and item usages deliver again: late events, timestamped 100 minutes
    # ago. Silence counts from the delivery, so they are not silent; sign-ins are.
    for endpoint in ("auditevents", "itemusages"):
        api.add(endpoint, make_events(endpoint, 1, prefix="B", minutes_ago=100))
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    status, report, _ = run_cli(["collect", "--status", "--state", state, "--silence-alert", "1h"])
    text = report.decode()
    assert status == 1
    rows = {line.split()[1]: line for line in text.splitlines()[1:] if "default" in line}
    assert "SILENT" in rows["signin_attempts"]
    assert "SILENT" not in rows["audit_events"] and "SILENT" not in rows["item_usages"]
    assert run_cli(["collect", "--status", "--state", state])[0] == 0  # 24 h: all fine


def test_cycle_log_lines_carry_the_health_figures(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 2)
    args = [
        a for a in collect_args(api, tmp_path, "--once", "-o", str(tmp_path / "o")) if a != "-q"
    ]
    status, _, stderr = run_cli(args)
    assert status == 0
    cycles = [orjson.loads(x) for x in stderr.splitlines() if '"event":"cycle"' in x]
    assert {c["stream"] for c in cycles} == {"audit_events", "item_usages", "signin_attempts"}
    assert all(
        {
            "last_poll",
            "last_event_time",
            "delivered",
            "cursor_age_seconds",
            "consecutive_failures",
            "silent",
        }
        <= set(c)
        for c in cycles
    )


def test_several_accounts_one_failing_does_not_stop_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good_token, bad_token = new_token(), new_token()
    good = start_stub(good_token, account_uuid="ACCOUNTGOOD")
    bad = start_stub(new_token(), account_uuid="ACCOUNTBAD")  # rejects bad_token: 401
    try:
        expected = feed(good, 3)
        feed(bad, 3)
        (tmp_path / "good.token").write_text(good_token + "\n")
        monkeypatch.setenv("BAD_TOKEN", bad_token)
        config = tmp_path / "accounts.toml"
        config.write_text(
            f'[[account]]\nname = "good"\nurl = "{good.url}"\n'
            f'token_file = "{tmp_path / "good.token"}"\n\n'
            f'[[account]]\nname = "bad"\nurl = "{bad.url}"\ntoken_env = "BAD_TOKEN"\n'
        )
        out = tmp_path / "out.ndjson"
        status, _, stderr = run_cli(
            [
                "collect",
                "--config",
                str(config),
                "--state",
                str(tmp_path / "s.sqlite3"),
                "--once",
                "-o",
                str(out),
                "-q",
                "--backoff-base",
                "0.01s",
            ]
        )
        assert status == 1
        assert "bad:" in stderr and "401" in stderr
        assert ids(read_ndjson(out)) == {u: 1 for u in expected}
    finally:
        good.stop()
        bad.stop()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "http://events.example.com"], "refusing plain HTTP"),
        (["--url", "ftp://127.0.0.1"], "not an http(s) URL"),
        (["--token", "ops_secret_value"], "--token is not accepted"),
        (["--token=ops_secret_value"], "--token is not accepted"),
        (["--since", "yesterday"], "expected an RFC 3339 time"),
        (["--rate-limit", "600"], "not a rate limit"),
        (["--streams", "logins"], "unknown stream"),
        (["--ca-bundle", "/nonexistent/ca.pem"], "no such file"),
        (["--ca-bundle", __file__], "not PEM certificates"),
        (["--page-size", "5000"], "at most 1000"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, tmp_path: Path, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["collect", "--once", "--state", str(tmp_path / "s.sqlite3")]
    if "--url" not in argv:
        base += ["--url", "http://127.0.0.1:9"]
    status, _, stderr = run_cli(base + argv)
    stderr += capsys.readouterr().err  # argparse writes its own errors to sys.stderr
    assert status == 2
    assert message in stderr
    assert "token file" not in stderr  # --token is not an abbreviation of --token-file
    assert "ops_secret_value" not in stderr  # a value that may be a secret is never echoed


def test_no_token_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENTS_API_TOKEN", raising=False)
    status, _, stderr = run_cli(
        ["collect", "--once", "--url", "http://127.0.0.1:9", "--state", str(tmp_path / "s")]
    )
    assert status == 2 and "EVENTS_API_TOKEN" in stderr


def test_urls_from_regions_and_token_audience() -> None:
    import base64

    from onepassword_ecs.collect import Secret, check_url, resolve_base_url, url_from_token

    def jwt(claims: dict[str, object]) -> Secret:
        body = base64.urlsafe_b64encode(orjson.dumps(claims)).decode().rstrip("=")
        return Secret(f"eyJhbGciOiJFUzI1NiJ9.{body}.c2lnbmF0dXJl")

    assert url_from_token(jwt({"aud": ["events.1password.eu"]})) == "https://events.1password.eu"
    assert url_from_token(jwt({"aud": ["com.1password.streamingservice"]})) is None
    assert url_from_token(Secret("not-a-jwt")) is None
    assert resolve_base_url(None, "1password.ca", Secret("x")) == "https://events.1password.ca"
    assert check_url("http://[::1]:8080/") == "http://[::1]:8080"
    assert check_url("http://localhost:1") == "http://localhost:1"


def test_state_keys_cursors_by_account_uuid(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 1)
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(tmp_path / "o")))[0] == 0
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        rows = db.execute("SELECT account, stream, api_version, cursor FROM streams").fetchall()
    assert {(r[0], r[1], r[2]) for r in rows} == {
        ("ACCOUNTAAAAAAAAAAAAAAAAAAA", s, "v2")
        for s in ("audit_events", "item_usages", "signin_attempts")
    }
    assert all(r[3] for r in rows)


def test_bytes_past_the_committed_length_are_cut_on_start(
    api: StubEventsApi, tmp_path: Path
) -> None:
    """What a kill between the file's flush and the cursor commit leaves behind."""
    first = feed(api, 4, prefix="A")
    out = tmp_path / "out.ndjson"
    out.write_bytes(b'{"kept": "a line that was there before the collector"}\n')
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    committed = out.stat().st_size
    with out.open("ab") as handle:
        handle.write(b'{"event": {"id": "UNCOMMITTED"}}\n{"half a li')
    # What the collector records before it writes past the committed length.
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        db.execute("UPDATE outputs SET pending=?", (out.stat().st_size + 100,))
    second = feed(api, 2, prefix="B")
    status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))
    assert status == 0
    assert "cut 44 bytes" in stderr
    lines = out.read_bytes().splitlines()
    assert orjson.loads(lines[0]) == {"kept": "a line that was there before the collector"}
    assert ids([orjson.loads(x) for x in lines[1:]]) == {u: 1 for u in first | second}
    assert out.stat().st_size > committed


def test_bytes_someone_else_appended_are_refused_not_cut(
    api: StubEventsApi, tmp_path: Path
) -> None:
    """Issue 21 item 21: the collector cuts only what it wrote itself."""
    feed(api, 4, prefix="A")
    out = tmp_path / "out.ndjson"
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))[0] == 0
    committed = out.stat().st_size
    with out.open("ab") as handle:  # another program appends between runs
        handle.write(b'{"someone": "else"}\n')
    before = out.read_bytes()
    feed(api, 2, prefix="B")
    status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))
    assert status == 2
    assert "did not write" in stderr and f"truncate -s {committed}" in stderr
    assert out.read_bytes() == before  # nothing cut, nothing appended
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        assert db.execute("SELECT length FROM outputs").fetchone() == (committed,)


def test_a_second_collector_on_the_same_state_is_refused(
    api: StubEventsApi, tmp_path: Path
) -> None:
    import fcntl

    with open(tmp_path / "state.sqlite3.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        status, _, stderr = run_cli(collect_args(api, tmp_path, "--once"))
    assert status == 2 and "another collector is running" in stderr


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_https_with_a_custom_ca_bundle(
    token: str, tmp_path: Path, certificate: tuple[str, str]
) -> None:
    api = StubEventsApi({token: frozenset(FEATURES)}, tls=certificate).start()
    try:
        expected = feed(api, 2)
        out = tmp_path / "out.ndjson"
        status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "-o", str(out)))
        assert status == 1
        assert "TLS certificate is not trusted" in stderr and "--ca-bundle" in stderr
        assert api.requests == []  # refused at the handshake, and not retried
        status, _, stderr = run_cli(
            collect_args(api, tmp_path, "--once", "--ca-bundle", certificate[0], "-o", str(out))
        )
        assert status == 0, stderr
        assert ids(read_ndjson(out)) == {u: 1 for u in expected}
    finally:
        api.stop()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[account]]\nname = "a"\nurl = "https://x.example"\ntoken = "ops_x"\n', "unknown keys"),
        ('[[account]]\nurl = "https://x.example"\n', "a name is required"),
        (
            '[[account]]\nname = "a"\nregion = "1password.com"\n'
            '[[account]]\nname = "a"\nregion = "1password.com"\n',
            "used twice",
        ),
        ('[[account]]\nname = "a"\nurl = "http://10.0.0.1"\n', "refusing plain HTTP"),
        ('[[account]]\nname = "a"\nregion = "1password.com"\nstreams = "all"\n', "list of names"),
        ("account = 1\n", "no [[account]] table"),
        ("[[account\n", "not valid TOML"),
    ],
)
def test_config_file_mistakes_are_usage_errors(
    text: str, message: str, tmp_path: Path, token: str
) -> None:
    config = tmp_path / "accounts.toml"
    config.write_text(text)
    status, _, stderr = run_cli(
        ["collect", "--once", "--config", str(config), "--state", str(tmp_path / "s")]
    )
    assert status == 2
    assert message in stderr
    assert token not in stderr


def test_secret_and_event_time_helpers() -> None:
    from onepassword_ecs.collect import AccountConfig, Secret
    from onepassword_ecs.collect._source import event_time

    account = AccountConfig(name="a", base_url="https://x", token=Secret("ops_hidden"))
    assert "ops_hidden" not in repr(account) and "ops_hidden" not in str(Secret("ops_hidden"))
    assert event_time({"timestamp": "2024-05-01T12:00:00.123456789+02:00"}) == (
        "2024-05-01T10:00:00.123456+00:00"
    )
    assert event_time({"timestamp": "2024-05-01T12:00:00"}) is None  # no offset
    assert event_time({"timestamp": 5}) is None


def test_status_without_a_state_database_is_a_usage_error(tmp_path: Path) -> None:
    status, _, stderr = run_cli(["collect", "--status", "--state", str(tmp_path / "none")])
    assert status == 2 and "no state database" in stderr


def test_default_state_is_created_under_xdg_state_home(
    api: StubEventsApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed(api, 1)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    args = collect_args(api, tmp_path, "--once", "-o", str(tmp_path / "o.ndjson"))
    at = args.index("--state")
    del args[at : at + 2]
    assert run_cli(args)[0] == 0
    state = tmp_path / "xdg" / "onepassword-ecs" / "collector.sqlite3"
    assert state.is_file() and state.stat().st_mode & 0o777 == 0o600
    assert run_cli(["collect", "--status"])[0] == 0


def test_rate_limits_above_the_api_are_warned_about() -> None:
    from onepassword_ecs.collect import DEFAULT_RATE_LIMITS, RateLimit, rate_limit_warnings

    assert rate_limit_warnings(DEFAULT_RATE_LIMITS) == []
    assert rate_limit_warnings([RateLimit(5, 1.0)]) == []  # 300 a minute, 18,000 an hour
    assert rate_limit_warnings([RateLimit(10, 0.5), RateLimit(600, 60)]) != []  # 36,000/h
    (warning,) = rate_limit_warnings([RateLimit(20, 1.0), RateLimit(30_000, 3600)])
    assert "1200 requests in 60s" in warning


@pytest.mark.parametrize("value", ["ops_abc def", "ops_abc\u00e9", "ops_a\x07b"])
def test_a_malformed_token_is_refused_without_being_quoted(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTS_API_TOKEN", value)
    status, _, stderr = run_cli(
        ["collect", "--once", "--url", "http://127.0.0.1:9", "--state", str(tmp_path / "s")]
    )
    assert status == 2 and "a bearer token has none" in stderr
    assert "ops_a" not in stderr


def test_a_sink_that_cannot_write_fails_the_run_without_moving_the_cursor(
    api: StubEventsApi, tmp_path: Path
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    feed(api, 2)
    status, _, stderr = run_cli(collect_args(api, tmp_path, "--once", "-o", "/dev/full"))
    assert status == 1
    assert "cannot deliver" in stderr and "internal error" not in stderr
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM streams WHERE cursor IS NOT NULL").fetchone() == (
            0,
        )


def test_the_guide_accounts_file_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from onepassword_ecs.collect import AccountDefaults, load_accounts_file

    guide = (Path(__file__).parent.parent / "docs" / "collector.md").read_text(encoding="utf-8")
    section = guide.split("## Setting it up", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```toml\n(.*?)```", section, re.S)
    token_file = tmp_path / "acme.token"
    token_file.write_text(new_token())
    config = tmp_path / "accounts.toml"
    config.write_text(block.replace("/etc/onepassword-ecs/acme.token", str(token_file)))
    monkeypatch.setenv("ACME_EU_EVENTS_TOKEN", new_token())
    accounts = load_accounts_file(
        str(config),
        environ=dict(os.environ),
        now=datetime.now(UTC),
        defaults=AccountDefaults(),
        warnings=[],
    )
    assert [(a.name, a.base_url) for a in accounts] == [
        ("acme", "https://events.1password.com"),
        ("acme-eu", "https://events.1password.eu"),
    ]
    assert [s.value for s in accounts[1].streams] == ["audit_events", "signin_attempts"]


def test_an_oversized_answer_is_refused_not_buffered(
    api: StubEventsApi, tmp_path: Path, token: str
) -> None:
    from onepassword_ecs._errors import EventsApiError
    from onepassword_ecs.collect import Secret, Stopper, Tunables
    from onepassword_ecs.collect._budget import RateBudget
    from onepassword_ecs.collect._client import EventsClient
    from onepassword_ecs.collect._retry import RetryPolicy
    from onepassword_ecs.collect._state import StateDb

    tunables = Tunables(max_response_bytes=10_000)
    state = StateDb(tmp_path / "state.sqlite3")
    stopper = Stopper()
    client = EventsClient(
        api.url,
        Secret(token),
        tunables=tunables,
        budget=RateBudget(state, "a", tunables.rate_limits, stopper),
        retry=RetryPolicy(tunables, stopper),
    )
    try:
        assert client.introspect().account_uuid == "ACCOUNTAAAAAAAAAAAAAAAAAAA"
        api.fail_next(200, body=b"[" + b"0," * 50_000 + b"0]")
        with pytest.raises(EventsApiError, match="larger than 10000 bytes"):
            client.page("v2", "auditevents", {"limit": 10})
    finally:
        client.close()
        state.close()


def test_accounts_are_polled_concurrently_with_their_own_cursors(tmp_path: Path) -> None:
    tokens = [new_token(), new_token()]
    stubs = [
        start_stub(tokens[0], account_uuid="ACCOUNTONE", delay=0.03),
        start_stub(tokens[1], account_uuid="ACCOUNTTWO", delay=0.03),
    ]
    try:
        expected = feed(stubs[0], 9, prefix="ONE") | feed(stubs[1], 9, prefix="TWO")
        lines = []
        for number, (stub, token) in enumerate(zip(stubs, tokens, strict=True)):
            token_file = tmp_path / f"{number}.token"
            token_file.write_text(token)
            lines.append(
                f'[[account]]\nname = "n{number}"\nurl = "{stub.url}"\n'
                f'token_file = "{token_file}"\n'
            )
        config = tmp_path / "accounts.toml"
        config.write_text("\n".join(lines))
        out = tmp_path / "out.ndjson"
        status, _, stderr = run_cli(
            [
                "collect",
                "--config",
                str(config),
                "--state",
                str(tmp_path / "s.sqlite3"),
                "--once",
                "--page-size",
                "2",
                "-q",
                "-o",
                str(out),
            ]
        )
        assert status == 0, stderr
        assert ids(read_ndjson(out)) == {u: 1 for u in expected}
        spans = [(s.requests[0].at, s.requests[-1].at) for s in stubs]
        assert max(start for start, _ in spans) < min(end for _, end in spans)  # overlapping
        with sqlite3.connect(tmp_path / "s.sqlite3") as db:
            accounts = {row[0] for row in db.execute("SELECT account FROM streams")}
        assert accounts == {"ACCOUNTONE", "ACCOUNTTWO"}
    finally:
        for stub in stubs:
            stub.stop()


def test_the_cli_starts_without_loading_the_http_client() -> None:
    """httpx (and whatever it pulls in) loads only when a collector runs."""
    import subprocess
    import sys

    probe = (
        "import sys, onepassword_ecs.cli\n"
        "print(sorted({'httpx', 'httpcore', 'rich'} & {m.split('.')[0] for m in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_stages_apply_to_collected_documents(
    api: StubEventsApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--redact and --lookups work on collect as on convert: no raw email leaves."""
    monkeypatch.setenv("ONEPASSWORD_ECS_REDACT_KEY", "collect-stage-test-key-0123456789")
    expected = feed(api, 3)
    out = tmp_path / "out.ndjson"
    lookups = Path(__file__).resolve().parent.parent / "fixtures" / "stages" / "lookups"
    args = collect_args(
        api, tmp_path, "--once", "-o", str(out), "--lookups", str(lookups),
        "--redact", "people=hash",
    )  # fmt: skip
    status, _, stderr = run_cli(args)
    assert status == 0, stderr
    data = out.read_bytes()
    assert ids(read_ndjson(out)) == {u: 1 for u in expected}
    for raw in (b"alice@acme.example", b"bob@acme.example", b"collect-stage-test-key"):
        assert raw not in data
    assert b"collect-stage-test-key" not in (tmp_path / "state.sqlite3").read_bytes()


def test_a_redaction_without_its_key_is_a_usage_error_before_polling(
    api: StubEventsApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONEPASSWORD_ECS_REDACT_KEY", raising=False)
    feed(api, 1)
    args = collect_args(api, tmp_path, "--once", "-o", "-", "--redact", "people=hash")
    status, _, stderr = run_cli(args)
    assert status == 2
    assert "ONEPASSWORD_ECS_REDACT_KEY" in stderr
    assert page_requests(api) == []
