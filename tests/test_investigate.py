"""``onepassword-ecs investigate``: each question surfaces its planted incident.

The store is scripts/activity.py's month of 300 people (built once per session, see
conftest.py), with a stolen account, a self-granted vault access and a password spray
planted in it. The commands run in-process through ``main`` (stdout captured) except
one real subprocess; answers are read from ``--json`` where the test checks facts and
from the plain text where it checks what a person sees.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from onepassword_ecs._errors import InvestigationError
from onepassword_ecs.cli import main
from onepassword_ecs.investigate import (
    Investigation,
    parse_duration,
    parse_time,
    resolve_window,
)

# The generated month is October 2026; the last week holds the three incidents.
WINDOW = ["--since", "2026-10-24", "--until", "2026-10-31"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue().decode(), err.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    status, out, err = run(*argv, "--json")
    assert status == 0, err
    result: dict[str, Any] = orjson.loads(out)
    return result


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- investigate user ---------------------------------------------------------------------


def test_user_timeline_marks_the_stolen_sign_in_and_the_export(
    activity_store: Path, activity: ModuleType
) -> None:
    planted = activity.PLANTED
    result = run_json(
        "investigate",
        "user",
        planted.victim_email,
        "--store",
        str(activity_store),
        *WINDOW,
        "--limit",
        "500",
    )
    highlights = result["highlights"]
    assert highlights[0].startswith(f"new country: {planted.attacker_country}")
    assert any(line.startswith(f"new address: {planted.attacker_ip}") for line in highlights)
    events = result["timeline"]["events"]
    assert result["timeline"]["total"] == len(events)  # nothing cut at --limit 500
    stolen = [e for e in events if e["ip"] == planted.attacker_ip]
    assert stolen, "the attacker's events are in the timeline"
    assert all(f"new country {planted.attacker_country}" in e["flags"] for e in stolen)
    success = [e for e in stolen if e["kind"] == "sign-in" and e["outcome"] == "success"]
    assert len(success) == 1
    exports = [e for e in stolen if e["action"] == "export"]
    assert {e["kind"] for e in exports} == {"audit", "item"}
    assert all("export" in e["flags"] for e in exports)
    # Her ordinary days carry no new-country mark: only the attacker's events do.
    ordinary = [e for e in events if e["ip"] != planted.attacker_ip]
    assert ordinary and not any(f.startswith("new country") for e in ordinary for f in e["flags"])
    # The profile compares with the baseline: CA is usual, RO is new.
    countries = {row["value"]: row for row in result["profile"]["countries"]}
    assert countries["RO"]["new"] and countries["RO"]["baseline"] == 0
    assert not countries["CA"]["new"] and countries["CA"]["baseline"] > 20
    # Timeline in time order.
    times = [e["ts_ns"] for e in events]
    assert times == sorted(times)


def test_user_is_found_by_uuid_email_or_name(activity_store: Path, activity: ModuleType) -> None:
    planted = activity.PLANTED
    by_email = run_json(
        "investigate", "user", planted.victim_email.upper(), "--store", str(activity_store), *WINDOW
    )
    (user_id,) = by_email["person"]["ids"]
    by_name = run_json(
        "investigate", "user", planted.victim_name.lower(), "--store", str(activity_store), *WINDOW
    )
    by_uuid = run_json("investigate", "user", user_id, "--store", str(activity_store), *WINDOW)
    assert by_name["person"]["ids"] == by_uuid["person"]["ids"] == [user_id]
    assert by_uuid["person"]["email"] == planted.victim_email


def test_unknown_person_is_a_clear_error(activity_store: Path) -> None:
    status, out, err = run(
        "investigate", "user", "nobody@nowhere.example", "--store", str(activity_store)
    )
    assert status == 2 and out == ""
    assert "nobody called 'nobody@nowhere.example'" in err


def test_user_plain_output_is_readable_without_a_terminal(
    activity_store: Path, activity: ModuleType
) -> None:
    status, out, _ = run(
        "investigate",
        "user",
        activity.PLANTED.victim_email,
        "--store",
        str(activity_store),
        *WINDOW,
    )
    assert status == 0
    assert "\x1b[" not in out  # no colors when not a terminal
    assert not set("┃━│─┏") & set(out)  # no box drawing either
    assert f"! new country: {activity.PLANTED.attacker_country}" in out
    line = next(
        line
        for line in out.splitlines()
        if activity.PLANTED.attacker_ip in line and "export" in line
    )
    assert "new country RO" in line


# --- investigate vault / item / ip --------------------------------------------------------


def test_vault_report_puts_the_self_grant_and_the_export_first(
    activity_store: Path, activity: ModuleType
) -> None:
    planted = activity.PLANTED
    result = run_json(
        "investigate", "vault", planted.finance_vault, "--store", str(activity_store), *WINDOW
    )
    notable = result["notable"]["events"]
    assert notable[0]["flags"] == ["self-grant"]
    assert notable[0]["user"] == notable[0]["target"] == planted.insider_email
    assert {e["user"] for e in notable[:3] if "export" in e["flags"]} == {planted.victim_email}
    top = [person["user"] for person in result["people"][:3]]
    assert planted.victim_email in top and planted.insider_email in top
    victim = next(p for p in result["people"] if p["user"] == planted.victim_email)
    assert victim["actions"]["item:reveal"] >= 12
    assert victim["countries"]["RO"] >= 12
    # Every listed event really is in that vault.
    assert all(e["vault"] == planted.finance_vault for e in result["timeline"]["events"])


def test_item_report_lists_who_exported_it(activity_store: Path, activity: ModuleType) -> None:
    planted = activity.PLANTED
    with Investigation.open(activity_store) as investigation:
        exported = next(
            e.item
            for e in investigation.ip_events(planted.attacker_ip, None, None)
            if e.kind == "item" and e.action == "export"
        )
    assert exported
    result = run_json("investigate", "item", exported, "--store", str(activity_store), *WINDOW)
    assert result["people"][0]["user"] == planted.victim_email
    assert result["people"][0]["actions"].get("item:export") == 1
    assert all(e["item"] == exported for e in result["timeline"]["events"])


def test_ip_report_shows_the_spray(activity_store: Path, activity: ModuleType) -> None:
    planted = activity.PLANTED
    result = run_json(
        "investigate", "ip", planted.spray_ip, "--store", str(activity_store), *WINDOW
    )
    assert len(result["people"]) == planted.spray_targets
    assert result["timeline"]["total"] == planted.spray_targets
    assert result["notable"]["total"] == planted.spray_targets  # every one a failure
    assert {e["outcome"] for e in result["timeline"]["events"]} == {"failure"}
    assert result["timeline"]["truncated"]  # 60 events, default --limit 50
    assert len(result["timeline"]["events"]) == 50


def test_ip_that_is_not_an_address_is_refused(activity_store: Path) -> None:
    status, _, err = run("investigate", "ip", "not-an-ip", "--store", str(activity_store))
    assert status == 2 and "not an IP address" in err


def test_ip_as_a_real_subprocess(activity_store: Path, activity: ModuleType) -> None:
    before = digest(activity_store)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "onepassword_ecs",
            "investigate",
            "ip",
            activity.PLANTED.spray_ip,
            "--store",
            str(activity_store),
            *WINDOW,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"{activity.PLANTED.spray_targets} events by {activity.PLANTED.spray_targets} people"
        in (result.stdout)
    )
    assert digest(activity_store) == before  # read-only


# --- investigate anomalies ----------------------------------------------------------------


def test_anomalies_rank_the_three_incidents_first(
    activity_store: Path, activity: ModuleType
) -> None:
    planted = activity.PLANTED
    result = run_json("investigate", "anomalies", "--store", str(activity_store), *WINDOW)
    findings = result["findings"]
    top = [(f["kind"], f["subject"]["label"]) for f in findings[:3]]
    assert ("password_spray", planted.spray_ip) in top
    assert ("self_granted_access", planted.insider_email) in top
    assert ("new_country", planted.victim_email) in top
    scores = [f["score"] for f in findings]
    assert scores == sorted(scores, reverse=True)
    # The stolen account's other traces are there too, below the incidents.
    kinds = {f["kind"] for f in findings if f["subject"]["label"] == planted.victim_email}
    assert {"new_country", "first_export", "new_address"} <= kinds
    # Each finding carries its evidence: counts and the events themselves.
    stolen = next(
        f
        for f in findings
        if f["kind"] == "new_country" and f["subject"]["label"] == planted.victim_email
    )
    assert stolen["evidence"]["new_to_everyone"] is True
    assert stolen["evidence"]["baseline_values"] == ["CA"]
    assert stolen["events"] and all(e["country"] == "RO" for e in stolen["events"])
    spray = next(f for f in findings if f["kind"] == "password_spray")
    assert spray["evidence"]["people"] == planted.spray_targets
    assert all(e["ip"] == planted.spray_ip for e in spray["events"])


def test_spray_victims_are_not_reported_as_travelling(
    activity_store: Path, activity: ModuleType
) -> None:
    """Failed sign-ins from the spray's country are the attacker's, not the people's."""
    result = run_json(
        "investigate", "anomalies", "--store", str(activity_store), *WINDOW, "--limit", "500"
    )
    assert not [
        f
        for f in result["findings"]
        if f["kind"] == "new_country" and f["evidence"]["country"] == "NL"
    ]


def test_anomalies_without_a_baseline_find_no_new_values(activity_store: Path) -> None:
    result = run_json(
        "investigate",
        "anomalies",
        "--store",
        str(activity_store),
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-08",
        "--limit",
        "500",
    )
    assert not [f for f in result["findings"] if f["kind"].startswith("new_")]


def test_anomalies_plain_table(activity_store: Path, activity: ModuleType) -> None:
    status, out, _ = run(
        "investigate", "anomalies", "--store", str(activity_store), *WINDOW, "--limit", "3"
    )
    assert status == 0
    assert "3 findings, highest score first" in out
    assert f"#1 password_spray {activity.PLANTED.spray_ip}: evidence" in out


# --- windows, time zones, alerts ----------------------------------------------------------


def test_time_and_duration_parsing() -> None:
    assert parse_time("2026-10-24") == parse_time("2026-10-24T02:00:00+02:00")
    assert parse_duration("2w").days == 14
    for bad in ("yesterday", "2026-13-01", "2026-10-24T08:00:00"):
        with pytest.raises(InvestigationError):
            parse_time(bad)
    assert parse_duration("30").total_seconds() == 30  # plain seconds, as in every command
    for bad in ("0d", "-1d", "d", "1y", "999999d"):
        with pytest.raises(InvestigationError):
            parse_duration(bad)
    window = resolve_window(None, None, newest_ns=10**18)
    assert window.until == 10**18 + 1 and window.days == 7


def test_window_errors_are_usage_errors(activity_store: Path) -> None:
    status, _, err = run(
        "investigate",
        "anomalies",
        "--store",
        str(activity_store),
        "--since",
        "2026-10-30",
        "--until",
        "2026-10-01",
    )
    assert status == 2 and "is not after --since" in err
    status, _, err = run(
        "investigate", "anomalies", "--store", str(activity_store), "--baseline", "forever"
    )
    assert status == 2 and "expected a number with a unit" in err
    status, _, err = run("investigate", "anomalies", "--store", "/nonexistent/store.db")
    assert status == 2 and "no such store" in err


def test_hours_follow_the_context_time_zone(
    activity_store: Path, activity: ModuleType, tmp_path: Path
) -> None:
    context = tmp_path / "context.toml"
    context.write_text('[working_hours]\ntimezone = "Asia/Tokyo"\n', encoding="utf-8")
    argv = (
        "investigate",
        "user",
        activity.PLANTED.victim_email,
        "--store",
        str(activity_store),
        *WINDOW,
    )
    utc = run_json(*argv)
    tokyo = run_json(*argv, "--context", str(context))
    assert tokyo["time_zone"] == "Asia/Tokyo"
    new_utc = {r["value"] for r in utc["profile"]["hours"] if r["new"]}
    new_tokyo = {r["value"] for r in tokyo["profile"]["hours"] if r["new"]}
    assert "01h" in new_utc and "10h" in new_tokyo  # the attack: 01:12 UTC is 10:12 in Tokyo
    assert new_tokyo == {f"{(int(hour[:2]) + 9) % 24:02d}h" for hour in new_utc}
    status, _, err = run(*argv, "--timezone", "Mars/Olympus")
    assert status == 2 and "unknown time zone" in err


def test_alerts_table_is_shown_when_present(
    activity_store: Path, activity: ModuleType, tmp_path: Path
) -> None:
    """The detection engine's ``alerts`` table (store schema 2): its rows join the timeline."""
    copy = tmp_path / "with-alerts.db"
    shutil.copy(activity_store, copy)
    argv = ("investigate", "user", activity.PLANTED.victim_email, "--store", str(copy), *WINDOW)
    assert run_json(*argv)["alerts"] == []  # the table is there, empty
    user_id = run_json(*argv)["person"]["ids"][0]
    with sqlite3.connect(copy) as db:
        stamp = parse_time("2026-10-28T01:30:00Z")
        db.execute(
            "INSERT INTO alerts (rule_id, group_key, first_event_id, ts_ns, document) "
            "VALUES ('vault_exported', ?, 'EV1', ?, ?)",
            (
                orjson.dumps({"user.id": user_id}).decode(),
                stamp,
                orjson.dumps({"rule": {"id": "vault_exported"}}),
            ),
        )
        db.execute(
            "INSERT INTO alerts (rule_id, group_key, first_event_id, ts_ns, document) "
            "VALUES ('other', '{\"user.id\": \"SOMEONEELSE\"}', 'EV2', ?, '{}')",
            (stamp,),
        )
    alerts = run_json(*argv)["alerts"]
    assert [a["rule_id"] for a in alerts] == ["vault_exported"]
    assert alerts[0]["document"] == {"rule": {"id": "vault_exported"}}


def test_normalize_and_the_cli_start_without_the_investigation_libraries() -> None:
    """rich, matplotlib and mcp load only when an investigation runs."""
    probe = (
        "import sys, onepassword_ecs, onepassword_ecs.cli\n"
        "from onepassword_ecs import normalize\n"
        "heavy = {'rich', 'matplotlib', 'mcp', 'numpy'} & {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_terminal_output_is_styled(activity_store: Path, activity: ModuleType) -> None:
    """On a terminal the same tables come with colors and rules (rich)."""
    from onepassword_ecs.investigate import find_anomalies, render_anomalies

    with Investigation.open(activity_store) as investigation:
        window = resolve_window(parse_time("2026-10-24"), parse_time("2026-10-31"), newest_ns=None)
        findings = find_anomalies(investigation, window, zone=UTC, limit=3)
    styled = render_anomalies(findings, window, terminal=True, width=140)
    plain = render_anomalies(findings, window, terminal=False)
    assert "\x1b[" in styled and "━" in styled
    assert "\x1b[" not in plain
    assert activity.PLANTED.spray_ip in styled and activity.PLANTED.spray_ip in plain


def test_a_person_without_baseline_is_not_marked(
    activity_store: Path, activity: ModuleType
) -> None:
    """The first week of the store has nothing before it: nothing can be "new"."""
    result = run_json(
        "investigate",
        "user",
        activity.PLANTED.victim_email,
        "--store",
        str(activity_store),
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-08",
    )
    assert result["events"]["baseline"] == 0 and result["events"]["window"] > 0
    assert result["highlights"] == ["no baseline activity to compare with"]
    assert not any(row["new"] for rows in result["profile"].values() for row in rows)
    assert not any(f.startswith("new ") for e in result["timeline"]["events"] for f in e["flags"])


def test_views_never_carry_the_raw_record(tmp_path: Path, activity: ModuleType) -> None:
    """A store written with --keep-original holds event.original; answers leave it out."""
    from onepassword_ecs import normalize
    from onepassword_ecs.sinks import EventStore
    from onepassword_ecs.stream import Batch

    record = next(r for r in activity.generate(users=220, days=1) if "target_user" in r)
    record["marker_only_in_the_raw_record"] = "RAW-ONLY-7f3a"
    document = normalize(record, keep_original=True)
    assert "RAW-ONLY-7f3a" in document["event"]["original"]
    store = tmp_path / "original.db"
    with EventStore.open(store) as writer:
        writer.write(Batch.of([orjson.dumps(document, option=orjson.OPT_SORT_KEYS)]))
        writer.flush()
    address = record["client"]["ip_address"]
    result = run_json("investigate", "ip", address, "--store", str(store), "--since", "2026-01-01")
    assert result["timeline"]["total"] == 1
    assert b"RAW-ONLY-7f3a" not in orjson.dumps(result)
