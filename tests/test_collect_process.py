"""The collector as a real process: ``kill -9`` at random points, SIGTERM, and secrets.

Exactly-once to a file is checked the hard way: the collector is started as a
subprocess against the stand-in API and killed with SIGKILL at random moments, again
and again, with faults and late events mixed in; when a run finally completes, the
file must hold every event exactly once, every line whole.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from collect_helpers import (
    FAST,
    FEATURES,
    ids,
    make_events,
    new_token,
    read_ndjson,
    spawn,
    start_stub,
)
from events_api_stub import StubEventsApi


@pytest.fixture
def token() -> str:
    return new_token()


@pytest.fixture
def api(token: str) -> Iterator[StubEventsApi]:
    stub = start_stub(token)
    yield stub
    stub.stop()


def _argv(api: StubEventsApi, tmp: Path, output: Path, *extra: str) -> list[str]:
    return [
        "collect",
        "--url",
        api.url,
        "--state",
        str(tmp / "state.sqlite3"),
        *FAST,
        "-o",
        str(output),
        "--errors",
        str(tmp / "errors.ndjson"),
        *extra,
    ]


def _kill_until_done(
    api: StubEventsApi, tmp: Path, output: Path, token: str, kills: int, seed: int
) -> tuple[int, set[str]]:
    """Start, SIGKILL at a random moment, repeat ``kills`` times, then run to the end."""
    chance = random.Random(seed)
    expected: set[str] = set()

    def add(prefix: str, count: int, minutes_ago: float) -> None:
        for endpoint in FEATURES:
            events = make_events(endpoint, count, prefix=prefix, minutes_ago=minutes_ago)
            api.add(endpoint, events)
            expected.update(e["uuid"] for e in events)

    add("K0", 60, 40)
    done = 0
    landed_mid_run = 0
    round_number = 0
    while True:
        round_number += 1
        if chance.random() < 0.4:  # late events, ingested now with old timestamps
            add(f"L{round_number}", chance.randint(1, 8), 90)
        if chance.random() < 0.5 and not api.state.faults:  # a kill may leave some unserved
            api.fail_next(chance.choice([500, 503, 429]), count=chance.randint(1, 3))
        size_at_start = output.stat().st_size if output.exists() else 0
        process = spawn(_argv(api, tmp, output, "--once", "--page-size", "3"), token)
        if done < kills:
            if chance.random() < 0.75:  # mostly while pages are being delivered
                deadline = time.monotonic() + 20
                while (
                    process.poll() is None
                    and time.monotonic() < deadline
                    and (not output.exists() or output.stat().st_size <= size_at_start)
                ):
                    time.sleep(0.01)
                time.sleep(chance.uniform(0.0, 0.3))
            else:  # or anywhere from start-up on
                time.sleep(chance.uniform(0.0, 1.5))
            if process.poll() is None:
                size_at_kill = output.stat().st_size if output.exists() else 0
                process.send_signal(signal.SIGKILL)
                process.communicate(timeout=10)
                done += 1
                landed_mid_run += size_at_kill > size_at_start
                continue
        _, stderr = process.communicate(timeout=120)
        if process.returncode == 0 and done >= kills:
            return landed_mid_run, expected
        assert process.returncode == 0, stderr.decode()
        # Finished before the kill: give it more to do next round.
        add(f"M{round_number}", 30, 20)


def _check_exactly_once(output: Path, expected: set[str]) -> None:
    raw = output.read_bytes()
    assert raw.endswith(b"\n")
    documents = [orjson.loads(line) for line in raw.splitlines()]  # every line whole
    counts = ids(documents)
    duplicated = {u: n for u, n in counts.items() if n > 1}
    assert duplicated == {}
    assert set(counts) == expected


def test_kill_9_a_few_times_leaves_every_event_exactly_once(
    api: StubEventsApi, tmp_path: Path, token: str
) -> None:
    output = tmp_path / "out.ndjson"
    landed, expected = _kill_until_done(api, tmp_path, output, token, kills=3, seed=11)
    _check_exactly_once(output, expected)
    assert landed >= 1  # at least one kill hit a run that had written something


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_many_times_leaves_every_event_exactly_once(
    api: StubEventsApi, tmp_path: Path, token: str, seed: int
) -> None:
    output = tmp_path / "out.ndjson.gz" if seed == 2 else tmp_path / "out.ndjson"
    landed, expected = _kill_until_done(api, tmp_path, output, token, kills=25, seed=seed)
    if output.suffix == ".gz":
        assert ids(read_ndjson(output)) == {u: 1 for u in expected}
    else:
        _check_exactly_once(output, expected)
    assert landed >= 10


def test_sigterm_finishes_the_page_commits_and_exits_0(
    api: StubEventsApi, tmp_path: Path, token: str
) -> None:
    for endpoint in FEATURES:
        api.add(endpoint, make_events(endpoint, 200, prefix="T"))
    api.set(delay=0.01)
    output = tmp_path / "out.ndjson"
    process = spawn(_argv(api, tmp_path, output, "--follow", "--page-size", "2"), token)
    deadline = time.monotonic() + 30
    while (not output.exists() or output.stat().st_size == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr.decode()
    documents = read_ndjson(output)
    assert documents and max(ids(documents).values()) == 1
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        (committed,) = db.execute("SELECT length FROM outputs").fetchone()
    assert committed == output.stat().st_size  # nothing written past the last commit


def test_the_token_appears_in_no_artefact(api: StubEventsApi, tmp_path: Path, token: str) -> None:
    for endpoint in FEATURES:
        api.add(endpoint, make_events(endpoint, 5, prefix="S"))
    api.add("itemusages", [{"uuid": "BAD", "timestamp": "nope"}])
    # A server (or proxy) that echoes the token back in its error bodies.
    echo = orjson.dumps({"status": 500, "message": f"bad bearer {token}"})
    api.fail_next(500, count=3, endpoint="signinattempts", body=echo)
    token_file = tmp_path / "secret" / "token"
    token_file.parent.mkdir()
    token_file.write_text(token + "\n")
    output = tmp_path / "out.ndjson"
    argv = [
        a
        for a in _argv(
            api, tmp_path, output, "--once", "--retries", "2", "--token-file", str(token_file)
        )
        if a != "-q"
    ]
    process = spawn(argv, None)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1  # sign-ins exhausted their retries
    assert b"bad bearer ***" in stderr  # the echoed body was reported, scrubbed
    report = spawn(["collect", "--status", "--state", str(tmp_path / "state.sqlite3")], None)
    report_out, report_err = report.communicate(timeout=30)
    secret = token.encode()
    artefacts = {
        "stdout": stdout,
        "stderr": stderr,
        "status": report_out + report_err,
        "output": output.read_bytes(),
        "errors": (tmp_path / "errors.ndjson").read_bytes(),
    }
    for path in tmp_path.glob("state.sqlite3*"):
        artefacts[path.name] = path.read_bytes()
    assert artefacts["output"] and artefacts["errors"] and artefacts["state.sqlite3"]
    assert [name for name, data in artefacts.items() if secret in data] == []
    # The check can fail: the token is really there to be found when it leaks.
    assert secret in token_file.read_bytes()


def test_follow_keeps_a_failing_stream_and_recovers_on_a_later_cycle(
    api: StubEventsApi, tmp_path: Path, token: str
) -> None:
    expected: set[str] = set()
    for endpoint in FEATURES:
        events = make_events(endpoint, 4, prefix="F")
        api.add(endpoint, events)
        expected.update(e["uuid"] for e in events)
    api.fail_next(500, count=2, endpoint="auditevents")
    output = tmp_path / "out.ndjson"
    argv = [a for a in _argv(api, tmp_path, output, "--follow", "--retries", "1") if a != "-q"]
    process = spawn(argv, token)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if output.exists() and len(read_ndjson(output)) == len(expected):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr.decode()
    assert b'"event":"poll_failed"' in stderr and b'"stream":"audit_events"' in stderr
    assert ids(read_ndjson(output)) == {u: 1 for u in expected}


def test_follow_survives_an_unreachable_api_at_start(
    api: StubEventsApi, tmp_path: Path, token: str
) -> None:
    for endpoint in FEATURES:
        api.add(endpoint, make_events(endpoint, 2, prefix="U"))
    api.fail_next(503, count=4)  # introspection exhausts two attempts, twice
    output = tmp_path / "out.ndjson"
    argv = [a for a in _argv(api, tmp_path, output, "--follow", "--retries", "1") if a != "-q"]
    process = spawn(argv, token)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (output.exists() and len(read_ndjson(output)) == 6):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr.decode()
    assert stderr.count(b'"event":"introspect_failed"') == 2
    assert len(read_ndjson(output)) == 6
