"""Shared pieces of the collector tests: events, the stub fixture's options, CLI runs."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

import records
from events_api_stub import FEATURES, StubEventsApi
from onepassword_ecs.cli import main

BUILDERS = {
    "auditevents": records.audit,
    "itemusages": records.item_usage,
    "signinattempts": records.signin,
}
FAST = [
    "--interval",
    "0.1s",
    "--backoff-base",
    "0.01s",
    "--backoff-max",
    "0.05s",
    "--timeout",
    "5s",
    "--rate-limit",
    "2000/1s",
    "--since",
    "2h",
    "-q",
]


def new_token() -> str:
    """A token-like secret unlikely to appear anywhere by chance."""
    return "ops_" + secrets.token_urlsafe(32)


def make_events(
    endpoint: str, count: int, *, prefix: str, minutes_ago: float = 30.0, v2: bool = True
) -> list[dict[str, Any]]:
    """``count`` records one second apart, starting ``minutes_ago`` before now."""
    start = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    made = []
    for number in range(count):
        when = (start + timedelta(seconds=number)).isoformat().replace("+00:00", "Z")
        record = BUILDERS[endpoint](
            uuid=f"{prefix}{endpoint[:2].upper()}{number:06d}", timestamp=when
        )
        if v2:
            record["account_uuid"] = "MSPACCOUNTCCCCCCCCCCCCCCCC"
            if endpoint == "auditevents":
                record["actor_type"] = "external_user"
        made.append(record)
    return made


def feed(api: StubEventsApi, count: int, prefix: str = "E", **options: Any) -> set[str]:
    """Add ``count`` events to each stream of ``api``; return their uuids."""
    made: set[str] = set()
    for endpoint in FEATURES:
        events = make_events(endpoint, count, prefix=prefix, **options)
        api.add(endpoint, events)
        made.update(e["uuid"] for e in events)
    return made


def start_stub(token: str, features: tuple[str, ...] = FEATURES, **options: Any) -> StubEventsApi:
    return StubEventsApi({token: frozenset(features)}, **options).start()


def run_cli(argv: list[str]) -> tuple[int, bytes, str]:
    """``main`` in-process: (status, stdout, stderr)."""
    out = io.BytesIO()
    err = io.StringIO()
    status = main(argv, stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def collect_args(api: StubEventsApi, tmp: Path, *extra: str) -> list[str]:
    return ["collect", "--url", api.url, "--state", str(tmp / "state.sqlite3"), *FAST, *extra]


def subprocess_env(token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "EVENTS_API_TOKEN"}
    if token is not None:
        env["EVENTS_API_TOKEN"] = token
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(argv: list[str], token: str | None, **options: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "onepassword_ecs", *argv],
        env=subprocess_env(token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **options,
    )


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        import gzip

        data = gzip.decompress(data)
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


def ids(documents: list[dict[str, Any]]) -> Counter[str]:
    return Counter(doc["event"]["id"] for doc in documents)
