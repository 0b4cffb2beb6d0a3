"""Soak ``collect --config`` with hundreds of accounts against the stand-in Events API.

Why a script and not a test: 200 accounts take a minute or more and the figures
(time, memory, descriptors) depend on the machine; no test asserts them. The figures
go in docs/performance.md ("Collector at 200 accounts").

For each account count asked for (default 50, 100 and 200), it:

1. starts one stand-in Events API per account on 127.0.0.1 (``tests/events_api_stub.py``,
   each with its own token, account uuid and events, and the API's rate limit of 600
   requests a minute, answering 429 beyond it), in this process;
2. writes an accounts file (``[[account]]`` with ``url`` and ``token_env`` each) and runs
   ``onepassword-ecs collect --config FILE --once -o OUT --state STATE -q`` as a child
   process until every account has caught up (``--once`` exits then);
3. samples the child every 50 ms: resident memory (VmRSS, and VmHWM at the end), open
   file descriptors (``/proc/PID/fd``) and how many of them are sockets (connections);
4. checks the output: every account's every event exactly once;
5. reads each stand-in's request log: the most requests in any 60 s and 1 s window per
   account, against the collector's budget (``--rate-limit``, default the API's).

The per-account memory cost is the slope between the smallest and largest run.
Everything is on loopback; every loop is bounded (``--deadline`` per run).

Run: ``python scripts/soak_collect.py`` (50, 100, 200 accounts), or
``--accounts 200 --events 200``; print ``--json`` for the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from collect_helpers import FEATURES, make_events, new_token  # noqa: E402
from events_api_stub import StubEventsApi  # noqa: E402


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descriptors(pid: int) -> tuple[int, int]:
    """(open descriptors, of which sockets) of ``pid``; (0, 0) once it has gone."""
    total = sockets = 0
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0, 0
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        total += 1
        sockets += target.startswith("socket:")
    return total, sockets


def _max_in_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    best = first = 0
    for last, moment in enumerate(times):
        while times[first] <= moment - seconds:
            first += 1
        best = max(best, last - first + 1)
    return best


def soak(
    accounts: int, events: int, page_size: int, rate_limit: str, deadline: float
) -> dict[str, Any]:
    """One run with ``accounts`` accounts; the figures as a dict."""
    work = Path(tempfile.mkdtemp(prefix=f"soak-{accounts}-"))
    stubs: list[StubEventsApi] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOAK_TOKEN_")}
    env.pop("EVENTS_API_TOKEN", None)
    entries = []
    expected: dict[str, int] = {}
    try:
        for number in range(accounts):
            token = new_token()
            stub = StubEventsApi({token: frozenset(FEATURES)}).start()
            stub.set(account_uuid=f"SOAK{number:022d}")
            stubs.append(stub)
            prefix = f"A{number:04d}X"
            for endpoint in FEATURES:
                stub.add(endpoint, make_events(endpoint, events, prefix=prefix, minutes_ago=50))
            expected[prefix] = events * len(FEATURES)
            env[f"SOAK_TOKEN_{number}"] = token
            entries.append(
                f'[[account]]\nname = "account-{number:04d}"\nurl = "{stub.url}"\n'
                f'token_env = "SOAK_TOKEN_{number}"\n'
            )
        config = work / "accounts.toml"
        config.write_text("\n".join(entries))
        output = work / "out.ndjson"
        argv = [
            sys.executable,
            "-m",
            "onepassword_ecs",
            "collect",
            "--config",
            str(config),
            "--once",
            "-o",
            str(output),
            "--state",
            str(work / "state.sqlite3"),
            "--since",
            "1h",
            "--page-size",
            str(page_size),
            "--rate-limit",
            rate_limit,
            "-q",
        ]
        load_before = _loadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak_rss = peak_fds = peak_sockets = samples = 0
        while process.poll() is None:
            if time.monotonic() - started > deadline:
                process.kill()
                process.wait()
                raise SystemExit(f"{accounts} accounts: not caught up within {deadline:g}s")
            peak_rss = max(peak_rss, _status_kb(process.pid, "VmRSS"))
            fds, sockets = _descriptors(process.pid)
            peak_fds, peak_sockets = max(peak_fds, fds), max(peak_sockets, sockets)
            samples += 1
            time.sleep(0.05)
        wall = time.monotonic() - started
        stderr = process.stderr.read().decode() if process.stderr else ""
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if process.returncode != 0:
            raise SystemExit(f"{accounts} accounts: exit {process.returncode}\n{stderr[-2000:]}")
        # Every account's every event, exactly once.
        counts: Counter[str] = Counter()
        seen: Counter[str] = Counter()
        with output.open("rb") as handle:
            for line in handle:
                uuid = json.loads(line)["event"]["id"]
                seen[uuid] += 1
                counts[uuid[:6]] += 1
        duplicates = sum(n - 1 for n in seen.values() if n > 1)
        missing = {p: n - counts.get(p, 0) for p, n in expected.items() if counts.get(p, 0) != n}
        per_minute = [_max_in_window([r.at for r in s.requests], 60.0) for s in stubs]
        per_second = [_max_in_window([r.at for r in s.requests], 1.0) for s in stubs]
        requests = [len(s.requests) for s in stubs]
        return {
            "accounts": accounts,
            "events": sum(expected.values()),
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(
                (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2
            ),
            "peak_rss_mb": round(peak_rss / 1024, 1),
            "peak_fds": peak_fds,
            "peak_sockets": peak_sockets,
            "samples": samples,
            "requests": sum(requests),
            "requests_per_account_max": max(requests),
            "max_per_60s_any_account": max(per_minute),
            "max_per_1s_any_account": max(per_second),
            "rate_limited_429": sum(s.state.rate_limited for s in stubs),
            "duplicates": duplicates,
            "accounts_incomplete": len(missing),
            "load_before": load_before,
            "load_after": _loadavg(),
        }
    finally:
        for stub in stubs:
            stub.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="50,100,200", help="comma-separated counts")
    parser.add_argument("--events", type=int, default=200, help="events per stream and account")
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("--rate-limit", default="600/60s", help="the collector's budget")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds per run at most")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    results = [
        soak(int(n), args.events, args.page_size, args.rate_limit, args.deadline)
        for n in args.accounts.split(",")
    ]
    if args.json:
        print(json.dumps(results, indent=2))
    columns = [
        ("accounts", "accounts"),
        ("events", "events"),
        ("wall_seconds", "wall s"),
        ("cpu_seconds", "CPU s"),
        ("peak_rss_mb", "peak RSS MB"),
        ("peak_fds", "peak fds"),
        ("peak_sockets", "peak sockets"),
        ("requests", "requests"),
        ("max_per_60s_any_account", "max/60s (one account)"),
        ("max_per_1s_any_account", "max/1s"),
        ("rate_limited_429", "429s"),
        ("duplicates", "duplicates"),
        ("accounts_incomplete", "incomplete"),
        ("load_before", "load before"),
    ]
    print("| " + " | ".join(title for _, title in columns) + " |")
    print("|" + "---|" * len(columns))
    for row in results:
        print("| " + " | ".join(str(row[key]) for key, _ in columns) + " |")
    if len(results) > 1:
        low, high = results[0], results[-1]
        slope = (high["peak_rss_mb"] - low["peak_rss_mb"]) / (high["accounts"] - low["accounts"])
        base = low["peak_rss_mb"] - slope * low["accounts"]
        print(f"\nper-account memory: {slope * 1024:.0f} KB (fixed part about {base:.0f} MB)")
    failed = any(r["duplicates"] or r["accounts_incomplete"] for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
