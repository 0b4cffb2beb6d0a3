"""``detect`` and ``rules`` as a person runs them: real subprocesses, files, a real store."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import normalize
from onepassword_ecs.cli import main
from onepassword_ecs.sinks import EventStore
from onepassword_ecs.stream import Batch

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"  # the cases live beside the rules


def _cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _main(*args: str) -> _Result:
    """The CLI in this process (no interpreter start-up): same parser, same handlers."""
    out, err = io.BytesIO(), io.StringIO()
    code = main(list(args), stdin=io.BytesIO(b""), stdout=out, stderr=err)
    return _Result(code, out.getvalue().decode(), err.getvalue())


def _records(rule: str, case_index: int) -> list[dict[str, Any]]:
    data = json.loads((RULES_DIR / f"{rule}.cases.json").read_text(encoding="utf-8"))
    return list(data["cases"][case_index]["records"])


def _write_raw(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def _alerts(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_detect_raw_records_exit_3_and_alerts(tmp_path: Path) -> None:
    records = _records("brute_force_user", 0) + _records("user_invited_manually", 0)
    raw = _write_raw(tmp_path / "raw.ndjson", records)
    result = _cli("detect", str(raw), "-o", str(tmp_path / "alerts.ndjson"))
    assert result.returncode == 3, result.stderr
    alerts = _alerts((tmp_path / "alerts.ndjson").read_text(encoding="utf-8"))
    by_rule = {a["rule"]["id"]: a for a in alerts}
    assert {"brute_force_user", "brute_force_ip", "user_invited_manually"} <= set(by_rule)
    brute = by_rule["brute_force_user"]
    assert brute["event"]["kind"] == "alert"
    assert brute["user"]["id"] == "HTYQKKK7SGHLR5G5S3I3KRIRPU"
    assert brute["user"]["email"] == "bob.tanaka@acme.example"
    assert brute["threat"]["technique"]["id"] == ["T1110"]
    assert brute["threat"]["tactic"]["name"] == ["Credential Access"]
    assert brute["onepassword"]["alert"]["event_count"] == 10
    assert brute["event"]["start"] < brute["event"]["end"] == brute["@timestamp"]
    # The peers' mistake: an audit event's address is the session's, at source.ip.
    invite = by_rule["user_invited_manually"]
    assert invite["source"]["ip"] == "198.51.100.23"
    assert "198.51.100.23" in invite["related"]["ip"]
    assert "1 new alerts" not in result.stderr and "alerts by rule" in result.stderr


def test_detect_same_alerts_from_ecs_documents(tmp_path: Path) -> None:
    records = _records("brute_force_user", 0)
    raw = _write_raw(tmp_path / "raw.ndjson", records)
    ecs = tmp_path / "ecs.ndjson"
    ecs.write_bytes(b"".join(orjson.dumps(normalize(r)) + b"\n" for r in records))
    from_raw = _main("detect", str(raw))
    from_ecs = _main("detect", str(ecs))
    assert from_raw.returncode == from_ecs.returncode == 3
    assert from_raw.stdout == from_ecs.stdout


def test_detect_no_alert_exit_0(tmp_path: Path) -> None:
    raw = _write_raw(tmp_path / "raw.ndjson", _records("brute_force_user", 1))  # 60 min 18 s
    result = _main("detect", str(raw))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "0 new alerts" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["detect", "x.ndjson", "--store", "s.db"], "not both"),
        (["detect", "--context", "ctx.toml", "x.ndjson"], "admnis"),
        (["detect", "--since", "yesterday"], "RFC 3339"),
        (["rules", "export", "--target", "qradar"], "unknown export target"),
        (["detect", "--store", "missing.db"], "missing.db"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ctx.toml").write_text('admnis = ["alice@acme.example"]\n', encoding="utf-8")
    (tmp_path / "x.ndjson").write_text("", encoding="utf-8")
    (tmp_path / "missing.db").mkdir()
    result = _main(
        *[str(tmp_path / a) if a.endswith((".ndjson", ".toml", ".db")) else a for a in args]
    )
    assert result.returncode == 2
    assert message in result.stderr + capsys.readouterr().err  # argparse writes to sys.stderr


def _store_with(path: Path, records: list[dict[str, Any]]) -> None:
    lines = b"".join(
        orjson.dumps(normalize(r), option=orjson.OPT_SORT_KEYS) + b"\n" for r in records
    )
    with EventStore.open(path) as store:
        store.write(Batch(lines, len(records)))
        store.flush()


def test_store_runs_emit_each_alert_once(tmp_path: Path) -> None:
    store = tmp_path / "events.db"
    first = _records("brute_force_user", 0)
    _store_with(store, first)
    run1 = _main("detect", "--store", str(store), "--until", "2025-03-11T00:00:00Z")
    assert run1.returncode == 3, run1.stderr
    ids1 = {a["rule"]["id"] for a in _alerts(run1.stdout)}
    assert ids1 == {"brute_force_user", "brute_force_ip"}
    run2 = _main("detect", "--store", str(store), "--until", "2025-03-11T00:00:00Z")
    assert run2.returncode == 0, run2.stderr
    assert run2.stdout == ""
    assert "2 already emitted" in run2.stderr
    # More of the same burst later: the alert keeps its identity (rule, group, first event).
    more = _records("brute_force_user", 4)  # 14 failures from the same first minute on
    for number, record in enumerate(more):
        record["uuid"] = f"MORE{number:022d}"
        record["timestamp"] = f"2025-03-10T11:{20 + number:02d}:00Z"
    _store_with(store, more)
    run3 = _main("detect", "--store", str(store), "--until", "2025-03-11T00:00:00Z")
    assert run3.returncode == 0, run3.stderr + run3.stdout
    with EventStore.open(store, readonly=True) as opened:
        rows = opened.connection.execute("SELECT rule_id, first_event_id FROM alerts").fetchall()
    assert sorted(r[0] for r in rows) == ["brute_force_ip", "brute_force_user"]
    assert {r[1] for r in rows} == {first[0]["uuid"]}


def test_since_limits_alerts_but_keeps_history(tmp_path: Path) -> None:
    records = _records("brute_force_user", 0)  # 10:40 .. 11:16
    raw = _write_raw(tmp_path / "raw.ndjson", records)
    after = _main("detect", str(raw), "--since", "2025-03-10T11:10:00Z")
    assert after.returncode == 3  # the burst ends after --since: judged on all its events
    assert _alerts(after.stdout)[0]["onepassword"]["alert"]["event_count"] == 10
    later = _main("detect", str(raw), "--since", "2025-03-10T12:00:00Z")
    assert later.returncode == 0


def test_rules_list_shows_36_rules_and_matrix(tmp_path: Path) -> None:
    result = _main("rules", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["rule", "kind", "level", "state"]
    rows = {line.split()[0]: line for line in lines[1:37]}
    assert len(rows) == 36
    assert "needs admins" in rows["admin_action_by_non_admin"]
    assert "36 rules, 31 run with this context" in result.stdout
    context = tmp_path / "ctx.toml"
    context.write_text(
        'admins = ["alice.kowalski@acme.example"]\nprivileged_groups = ["g"]\n'
        'privileged_vaults = ["v"]\nsensitive_items = ["i"]\n',
        encoding="utf-8",
    )
    full = _main("rules", "list", "--context", str(context))
    assert "36 rules, 36 run with this context" in full.stdout


def test_export_to_stdout_lists_unsupported() -> None:
    result = _main("rules", "export", "--target", "splunk")
    assert result.returncode == 0, result.stderr
    lines = {line["rule"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert len(lines) == 36
    assert lines["mfa_disabled_account"]["query"].startswith(
        'event.dataset="1password.audit_events"'
    )
    assert "fixed" not in lines["brute_force_user"]["unsupported"]
    assert "sliding-window" in lines["brute_force_user"]["unsupported"]
    assert "history" in lines["signin_new_country"]["unsupported"]


SOCKET_GUARD = """
import socket, os
_REPORT = os.environ["SOCKET_GUARD_REPORT"]
def _refuse(*args, **kwargs):
    with open(_REPORT, "a") as report:
        report.write(repr(args[1:] if args else kwargs) + "\\n")
    raise OSError("network access attempted during an offline test")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


def test_offline_no_network_attempted(tmp_path: Path) -> None:
    """Exports (Kibana's ATT&CK lookup included) and detection never reach for the network."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(SOCKET_GUARD, encoding="utf-8")
    report = tmp_path / "attempts.txt"
    home = tmp_path / "home"  # an empty cache: nothing pySigma downloaded earlier can help
    home.mkdir()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(guard), env.get("PYTHONPATH", "")]),
        SOCKET_GUARD_REPORT=str(report),
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    probe = _cli("-c", "x", env=env)  # the guard must be active in the child
    del probe
    check = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 9))"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode != 0 and report.exists()
    report.unlink()
    export = _cli("rules", "export", "--target", "all", "-o", str(tmp_path / "out"), env=env)
    assert export.returncode == 0, export.stderr
    raw = _write_raw(tmp_path / "raw.ndjson", _records("brute_force_user", 0))
    detect = _cli("detect", str(raw), env=env)
    assert detect.returncode == 3, detect.stderr
    assert not report.exists(), report.read_text()
    kibana = (tmp_path / "out" / "kibana" / "rules.ndjson").read_text(encoding="utf-8")
    first = json.loads(kibana.splitlines()[0])
    assert first["threat"][0]["framework"] == "MITRE ATT&CK"


def _wait_for(path: Path, rule: str, deadline: float) -> list[dict[str, Any]]:
    while time.monotonic() < deadline:
        if path.exists():
            alerts = _alerts(path.read_text(encoding="utf-8"))
            if any(a["rule"]["id"] == rule for a in alerts):
                return alerts
        time.sleep(0.2)
    raise AssertionError(f"no {rule} alert in time")


def test_follow_evaluates_new_events_as_they_are_stored(tmp_path: Path) -> None:
    store, out = tmp_path / "events.db", tmp_path / "alerts.ndjson"
    _store_with(store, _records("brute_force_user", 0))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "onepassword_ecs",
            "detect",
            "--store",
            str(store),
            "--follow",
            "--interval",
            "0.5",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        try:
            _wait_for(out, "brute_force_user", deadline)
        except AssertionError:
            process.send_signal(signal.SIGINT)
            raise AssertionError(process.communicate(timeout=60)) from None
        _store_with(store, _records("mfa_disabled_account", 0))
        alerts = _wait_for(out, "mfa_disabled_account", deadline)
        time.sleep(1.5)  # a few more rounds: nothing may be repeated
    finally:
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 3, stderr
    alerts = _alerts(out.read_text(encoding="utf-8"))
    keys = [(a["rule"]["id"], a["onepassword"]["alert"]["event_ids"][0]) for a in alerts]
    assert len(keys) == len(set(keys))
    assert {"brute_force_user", "brute_force_ip", "mfa_disabled_account"} <= {k[0] for k in keys}


def test_readme_example_raises_the_firewall_alert_only() -> None:
    """The README's `detect docs/examples/events.ndjson`: one alert, the bad record counted."""
    example = Path(__file__).resolve().parent.parent / "docs" / "examples" / "events.ndjson"
    result = _main("detect", str(example))
    assert result.returncode == 3, result.stderr
    alerts = _alerts(result.stdout)
    assert [(a["rule"]["id"], a["user"]["email"]) for a in alerts] == [
        ("signin_blocked_by_firewall", "alice.kowalski@acme.example")
    ]
    assert "3 events, 1 new alerts" in result.stderr
    assert "bad_timestamp 1" in result.stderr


def test_context_names_a_group_by_name_through_lookups(tmp_path: Path) -> None:
    """With --lookups, "Administrators" in the context matches the group's uuid in events.

    The event carries the uuid in upper case, as the Events API prints it; the op export
    has it in lower case. Without the lookups the name matches nothing.
    """
    records = _records("privileged_group_membership", 0)
    records[0]["object_uuid"] = "K5DMGFS5VSKKNTTLSXAXC7UWLK"  # "Administrators" in the export
    raw = _write_raw(tmp_path / "raw.ndjson", records)
    context = tmp_path / "context.toml"
    context.write_text('privileged_groups = ["Administrators"]\n', encoding="utf-8")
    lookups = Path(__file__).resolve().parent.parent / "fixtures" / "stages" / "lookups"

    named = _main("detect", str(raw), "--context", str(context), "--lookups", str(lookups))
    assert named.returncode == 3, named.stderr
    alerts = [orjson.loads(line) for line in named.stdout.splitlines()]
    assert [a["rule"]["id"] for a in alerts] == ["privileged_group_membership"]

    unnamed = _main("detect", str(raw), "--context", str(context))
    assert unnamed.returncode == 0, unnamed.stderr
    assert unnamed.stdout == ""


def test_a_lookup_file_holding_secrets_is_a_usage_error_for_detect(tmp_path: Path) -> None:
    raw = _write_raw(tmp_path / "raw.ndjson", _records("privileged_group_membership", 0))
    secret = tmp_path / "items.json"
    secret.write_text('[{"id": "abc", "title": "x", "fields": [{"value": "hunter2"}]}]')
    result = _main("detect", str(raw), "--lookups", str(secret))
    assert result.returncode == 2
    assert "hunter2" not in result.stderr
