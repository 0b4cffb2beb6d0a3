"""Issue 21 (the collector's items) and ``--shard``: each a regression test.

Every test runs the collector against the stand-in Events API on 127.0.0.1 (in-process,
or as a real subprocess where a signal or a hang is the point) with real files.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from collect_helpers import (
    FAST,
    FEATURES,
    collect_args,
    feed,
    ids,
    make_events,
    new_token,
    read_ndjson,
    run_cli,
    spawn,
)
from events_api_stub import StubEventsApi
from onepassword_ecs._errors import CollectorConfigError


def _snapshot(path: Path) -> tuple[bytes, int] | None:
    return (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) if path.exists() else None


# --- item 2: no file plays two roles --------------------------------------------------


def _link(kind: str, target: Path, link: Path) -> Path:
    if kind == "symlink":
        link.symlink_to(target)
    elif kind == "hardlink":
        os.link(target, link)
    else:
        return target
    return link


@pytest.mark.parametrize("kind", ["same", "symlink", "hardlink"])
@pytest.mark.parametrize(
    ("first", "second"),
    [("-o", "--state"), ("-o", "--store"), ("--state", "--store"), ("--state", "--errors")],
)
def test_one_file_in_two_roles_is_refused_before_anything_is_written(
    api: StubEventsApi, tmp_path: Path, kind: str, first: str, second: str
) -> None:
    feed(api, 3)
    # A state database from an earlier run: the file most worth protecting.
    target = tmp_path / "st.db"
    assert run_cli(collect_args(api, tmp_path, "--once", "--state", str(target), "-o", "-"))[0] == 0
    before = _snapshot(target)
    requests = len(api.requests)
    other = _link(kind, target, tmp_path / "other-name.db")
    roles = {first: str(target), second: str(other)}
    argv = ["collect", "--url", api.url, *FAST, "--once"]
    if "--state" not in roles:
        argv += ["--state", str(tmp_path / "state.sqlite3")]
    for option, value in roles.items():
        argv += [option, value]
    status, stdout, stderr = run_cli(argv)
    assert status == 2, stderr
    assert "name the same file" in stderr
    assert _snapshot(target) == before  # not one byte written, no mode changed
    assert len(api.requests) == requests  # refused before polling
    assert stdout == b""


def test_distinct_files_are_still_accepted(api: StubEventsApi, tmp_path: Path) -> None:
    expected = feed(api, 3)
    out, store = tmp_path / "out.ndjson", tmp_path / "events.db"
    status, _, stderr = run_cli(
        collect_args(api, tmp_path, "--once", "-o", str(out), "--store", str(store))
    )
    assert status == 0, stderr
    assert ids(read_ndjson(out)) == {u: 1 for u in expected}


# --- item 6: --status only reads --------------------------------------------------------


def test_status_opens_the_state_read_only(api: StubEventsApi, tmp_path: Path) -> None:
    feed(api, 2)
    state = tmp_path / "state.sqlite3"
    assert run_cli(collect_args(api, tmp_path, "--once", "-o", "-"))[0] == 0
    state.chmod(0o644)  # readable by the monitoring user
    with sqlite3.connect(state) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _snapshot(state)
    status, stdout, stderr = run_cli(["collect", "--status", "--state", str(state)])
    assert status == 0, stderr
    assert b"audit_events" in stdout
    assert _snapshot(state) == before


def test_status_refuses_a_file_without_the_collectors_tables(tmp_path: Path) -> None:
    store = tmp_path / "events.db"
    with sqlite3.connect(store) as db:  # an event store or any other SQLite file
        db.execute("CREATE TABLE events (id TEXT)")
        db.execute("INSERT INTO events VALUES ('x')")
    store.chmod(0o644)
    before = _snapshot(store)
    status, _, stderr = run_cli(["collect", "--status", "--state", str(store)])
    assert status == 2
    assert "not a collector state database" in stderr
    assert "Traceback" not in stderr
    assert _snapshot(store) == before
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert tables == {"events"}
    assert not Path(f"{store}-wal").exists()


# --- item 7: --timeout bounds the whole request; SIGTERM ends a run at once ------------


def _slow_page(api: StubEventsApi) -> None:
    """The first page answered one byte every 0.2 s: about a minute for the page."""
    body = orjson.dumps(
        {"items": make_events("auditevents", 1, prefix="SLOW"), "cursor": "c", "has_more": False}
    )
    assert len(body) > 250
    api.fail_next(200, endpoint="auditevents", body=body, trickle=0.2)


def test_timeout_bounds_a_body_sent_a_byte_at_a_time(api: StubEventsApi, tmp_path: Path) -> None:
    _slow_page(api)
    argv = collect_args(api, tmp_path, "--once", "-o", "-", "--streams", "audit_events")
    argv += ["--timeout", "1s", "--retries", "0"]
    started = time.monotonic()
    status, _, stderr = run_cli(argv)
    elapsed = time.monotonic() - started
    assert status == 1
    assert "timed out" in stderr and "bounds the whole request" in stderr
    assert elapsed < 6, elapsed


@pytest.mark.parametrize("how", ["trickle", "stall"])
def test_sigterm_ends_a_run_within_seconds_during_a_slow_answer(
    api: StubEventsApi, tmp_path: Path, token: str, how: str
) -> None:
    if how == "trickle":
        _slow_page(api)
    else:  # no answer at all for a minute
        api.fail_next(500, endpoint="auditevents", stall=60)
    output = tmp_path / "out.ndjson"
    argv = collect_args(api, tmp_path, "--follow", "-o", str(output))
    argv[argv.index("--timeout") + 1] = "120s"  # far beyond the test: only the stop ends it
    process = spawn(argv, token)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and api.state.faults:  # until the slow answer began
        time.sleep(0.02)
    time.sleep(0.5)  # well inside the slow answer
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("SIGTERM did not end the run within 20 s")
    assert time.monotonic() - started < 5
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


# --- items 11 and 12: URLs with credentials, values never echoed ------------------------


@pytest.mark.parametrize(
    "url",
    ["http://user:s3cretPW@127.0.0.1:9", "https://s3cretPW@events.1password.com"],
)
def test_credentials_in_the_url_are_refused_without_being_echoed(
    tmp_path: Path, token: str, url: str
) -> None:
    status, _, stderr = run_cli(
        ["collect", "--once", "--url", url, "--state", str(tmp_path / "s.db"), "-o", "-"]
    )
    assert status == 2
    assert "carries credentials" in stderr
    assert "s3cretPW" not in stderr
    assert not (tmp_path / "s.db").exists()


def test_credentials_in_a_config_url_are_refused(tmp_path: Path, token: str) -> None:
    config = tmp_path / "accounts.toml"
    config.write_text('[[account]]\nname = "a"\nurl = "http://me:s3cretPW@127.0.0.1:9"\n')
    status, _, stderr = run_cli(
        ["collect", "--once", "--config", str(config), "--state", str(tmp_path / "s.db")]
    )
    assert status == 2
    assert "carries credentials" in stderr and "s3cretPW" not in stderr


def test_a_url_query_is_refused_without_being_echoed(tmp_path: Path, token: str) -> None:
    status, _, stderr = run_cli(
        ["collect", "--once", "--url", "https://h.example/?key=s3cretPW", "-o", "-"]
    )
    assert status == 2
    assert "no query" in stderr and "s3cretPW" not in stderr


# --- item 14: pages that bring nothing new end --once ----------------------------------


def test_once_ends_when_pages_keep_repeating_delivered_events(
    api: StubEventsApi, tmp_path: Path, token: str
) -> None:
    feed(api, 12)  # more than a page: the first page says has_more
    api.set(replay=True, rate_limit=(100_000, 60.0))  # has_more, a new cursor, the same items
    argv = collect_args(api, tmp_path, "--once", "-o", str(tmp_path / "out.ndjson"))
    argv += ["--page-size", "5", "--rate-limit", "100000/1s", "-q"]
    process = spawn(argv, token)
    try:
        _, stderr = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("--once kept polling pages that bring nothing new")
    assert process.returncode == 1
    assert b"pages in a row" in stderr and b"already delivered" in stderr
    pages = [r for r in api.requests if r.method == "POST"]
    assert len(pages) <= 3 * 205  # about the bound per stream, not the rate budget
    assert len(read_ndjson(tmp_path / "out.ndjson")) == 15  # the first page of each, once


# --- item 15: an --errors file that cannot be written -----------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_errors_to_a_full_device_stop_with_a_message_naming_it(
    api: StubEventsApi, tmp_path: Path
) -> None:
    feed(api, 2)
    api.add("itemusages", [{"uuid": "BADTIME", "timestamp": "yesterday", "action": "reveal"}])
    status, _, stderr = run_cli(
        collect_args(
            api, tmp_path, "--once", "-o", str(tmp_path / "out.ndjson"), "--errors", "/dev/full"
        )
    )
    assert status == 1
    assert "/dev/full" in stderr and "No space left" in stderr
    assert "Traceback" not in stderr and "internal error" not in stderr


# --- --shard K/N ----------------------------------------------------------------------


def test_shards_are_a_stable_hash_of_the_name() -> None:
    from onepassword_ecs.collect import parse_shard, shard_of

    digest = hashlib.sha256(b"acme-corp").digest()
    assert shard_of("acme-corp", 7) == 1 + int.from_bytes(digest[:8], "big") % 7
    names = [f"account-{n}" for n in range(3000)]
    spread = [sum(shard_of(name, 3) == k for name in names) for k in (1, 2, 3)]
    assert all(900 < count < 1100 for count in spread), spread
    assert str(parse_shard("2/3")) == "2/3"
    for bad in ("0/3", "4/3", "1/0", "x", "1/3/5"):
        with pytest.raises(CollectorConfigError, match="--shard"):
            parse_shard(bad)


def _subprocess_env(tokens: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "EVENTS_API_TOKEN"}
    env.update(tokens)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_three_sharded_collectors_collect_every_account_exactly_once(tmp_path: Path) -> None:
    from onepassword_ecs.collect import shard_of

    names = [f"acct-{n:02d}" for n in range(9)]
    holders = {name: shard_of(name, 3) for name in names}
    assert set(holders.values()) == {1, 2, 3}  # every shard holds at least one account
    stubs: list[StubEventsApi] = []
    tokens: dict[str, str] = {}
    expected: dict[str, set[str]] = {}
    lines = []
    try:
        for number, name in enumerate(names):
            secret = new_token()
            stub = StubEventsApi({secret: frozenset(FEATURES)}).start()
            stub.set(account_uuid=f"ACCOUNT{number:019d}")
            stubs.append(stub)
            tokens[f"TOKEN_{number}"] = secret
            expected[name] = set()
            for endpoint in FEATURES:
                events = make_events(endpoint, 4, prefix=name.upper().replace("-", ""))
                stub.add(endpoint, events)
                expected[name].update(e["uuid"] for e in events)
            lines.append(
                f'[[account]]\nname = "{name}"\nurl = "{stub.url}"\ntoken_env = "TOKEN_{number}"\n'
            )
        config = tmp_path / "accounts.toml"
        config.write_text("\n".join(lines))
        processes = []
        for k in (1, 2, 3):
            argv = [
                "-m",
                "onepassword_ecs",
                "collect",
                "--config",
                str(config),
                "--shard",
                f"{k}/3",
                "--state",
                str(tmp_path / f"state-{k}.db"),
                "-o",
                str(tmp_path / f"out-{k}.ndjson"),
                *FAST,
                "--once",
            ]
            processes.append(
                subprocess.Popen(
                    [sys.executable, *argv],
                    env=_subprocess_env(tokens),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr.decode()
        collected: dict[str, int] = {}
        for k in (1, 2, 3):
            got = ids(read_ndjson(tmp_path / f"out-{k}.ndjson"))
            for name in names:
                mine = {u for u in got if u.startswith(name.upper().replace("-", ""))}
                if mine:
                    assert holders[name] == k, (name, k)
                    assert mine == expected[name]
                    collected[name] = collected.get(name, 0) + 1
            assert max(got.values()) == 1
        assert collected == {name: 1 for name in names}  # each by exactly one collector
        # Each stub was asked by one collector only.
        for name, stub in zip(names, stubs, strict=True):
            assert stub.requests, name
        # --status says which shard holds which account, stored and recomputed.
        _, stdout, _ = run_cli(["collect", "--status", "--state", str(tmp_path / "state-2.db")])
        report = stdout.decode()
        mine = [name for name in names if holders[name] == 2]
        for name in mine:
            assert any(
                line.startswith(name) and line.rstrip().endswith("2/3")
                for line in report.splitlines()
            )
        assert not any(name in report for name in names if holders[name] != 2)
        _, stdout, _ = run_cli(
            ["collect", "--status", "--shard", "1/2", "--state", str(tmp_path / "state-2.db")]
        )
        for line in stdout.decode().splitlines()[1:]:
            name = line.split()[0]
            if name in holders:
                assert line.rstrip().endswith(f"{shard_of(name, 2)}/2")
    finally:
        for stub in stubs:
            stub.stop()


def test_shard_without_config_is_a_usage_error(tmp_path: Path, token: str) -> None:
    status, _, stderr = run_cli(
        ["collect", "--once", "--url", "http://127.0.0.1:9", "--shard", "1/2", "-o", "-"]
    )
    assert status == 2 and "--config" in stderr


# --- item 16: a cluster that goes away is reported as what happened --------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("flavor", ["elasticsearch", "opensearch"])
def test_a_cluster_that_is_gone_is_reported_as_such_without_credentials(
    api: StubEventsApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flavor: str
) -> None:
    pytest.importorskip("elasticsearch" if flavor == "elasticsearch" else "opensearchpy")
    feed(api, 2)
    monkeypatch.setenv("ONEPASSWORD_ECS_CLUSTER_PASSWORD", "cluster-s3cret")
    port = _closed_port()  # nothing listens there any more
    argv = collect_args(api, tmp_path, "--once", f"--{flavor}", f"http://127.0.0.1:{port}")
    argv += ["--no-template", "--cluster-retries", "0", "--cluster-user", "elastic"]
    status, _, stderr = run_cli(argv)
    assert status == 1
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert f"127.0.0.1:{port}" in stderr and "Connection refused" in stderr
    assert "cannot deliver" in stderr and "not committed" in stderr
    assert "cluster-s3cret" not in stderr
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:  # no cursor moved
        assert db.execute("SELECT count(*) FROM streams WHERE cursor IS NOT NULL").fetchone() == (
            0,
        )


# --- issue 25 item 2: many accounts share a bounded number of pages in memory -----------


def test_accounts_share_one_page_slot_and_each_gets_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--pages-in-flight 1``: one page in memory at a time, no account starved."""
    stubs: list[StubEventsApi] = []
    expected: set[str] = set()
    lines = []
    try:
        for number in range(4):
            secret = new_token()
            stub = StubEventsApi({secret: frozenset(FEATURES)}).start()
            stub.set(account_uuid=f"SLOT{number:022d}", delay=0.01)
            stubs.append(stub)
            monkeypatch.setenv(f"SLOT_TOKEN_{number}", secret)
            for endpoint in FEATURES:
                events = make_events(endpoint, 7, prefix=f"S{number}X")
                stub.add(endpoint, events)
                expected.update(e["uuid"] for e in events)
            lines.append(
                f'[[account]]\nname = "slot-{number}"\nurl = "{stub.url}"\n'
                f'token_env = "SLOT_TOKEN_{number}"\n'
            )
        config = tmp_path / "accounts.toml"
        config.write_text("\n".join(lines))
        out = tmp_path / "out.ndjson"
        argv = ["collect", "--config", str(config), "--state", str(tmp_path / "s.db"), *FAST]
        argv += ["--once", "-o", str(out), "--page-size", "2", "--pages-in-flight", "1"]
        status, _, stderr = run_cli(argv)
        assert status == 0, stderr
        assert ids(read_ndjson(out)) == {u: 1 for u in expected}
        # Every account was served while the others were: their requests interleave.
        firsts = sorted(min(r.at for r in s.requests) for s in stubs)
        lasts = sorted(max(r.at for r in s.requests) for s in stubs)
        assert firsts[-1] < lasts[0]
    finally:
        for stub in stubs:
            stub.stop()
