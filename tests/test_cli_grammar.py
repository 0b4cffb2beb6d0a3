"""Every subcommand speaks one grammar: times, spans, errors that leak nothing, Ctrl-C.

Run through the real command line (``main`` in-process, or a subprocess where a signal
is involved) against a real store built by ``scripts/activity.py``.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from onepassword_ecs.cli import main
from onepassword_ecs.cli._main import scrub_usage_error


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue().decode(), err.getvalue()


def window_commands(store: Path, tmp_path: Path) -> dict[str, list[str]]:
    """Commands that take --since/--until (and --baseline), by name."""
    return {
        "investigate anomalies": ["investigate", "anomalies", "--store", str(store)],
        "investigate user": ["investigate", "user", "Nadia Okafor", "--store", str(store)],
        "report": ["report", "--store", str(store), "-o", str(tmp_path / "r.html")],
    }


GOOD_SINCE = ["2026-10-24", "2026-10-24T00:00:00Z", "2026-10-24T02:00:00+02:00", "60d", "9w"]
BAD_TIMES = {
    "9999-12-31": "after 2261",
    "yesterday": "expected an RFC 3339 time",
    "2026-10-24T08:00:00": "no UTC offset",
    "0d": "longer than zero",
}


@pytest.mark.parametrize("form", GOOD_SINCE)
@pytest.mark.parametrize("command", ["investigate anomalies", "investigate user", "report"])
def test_every_time_form_is_accepted(
    activity_store: Path, tmp_path: Path, command: str, form: str
) -> None:
    argv = window_commands(activity_store, tmp_path)[command]
    extra = ["--json"] if command.startswith("investigate") else []
    status, _, err = run(*argv, "--since", form, *extra)
    assert status == 0, err


@pytest.mark.parametrize(("value", "says"), sorted(BAD_TIMES.items()))
@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("command", ["investigate anomalies", "investigate user", "report"])
def test_every_bad_time_is_a_usage_error(
    activity_store: Path, tmp_path: Path, command: str, option: str, value: str, says: str
) -> None:
    argv = window_commands(activity_store, tmp_path)[command]
    status, _, err = run(*argv, option, value)
    assert status == 2, err
    assert says in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["investigate anomalies", "investigate user", "report"])
def test_a_future_since_and_an_inverted_window_are_refused(
    activity_store: Path, tmp_path: Path, command: str
) -> None:
    argv = window_commands(activity_store, tmp_path)[command]
    status, _, err = run(*argv, "--since", "2200-01-01")
    assert status == 2 and "in the future" in err
    status, _, err = run(*argv, "--since", "2026-10-20", "--until", "2026-10-10")
    assert status == 2 and "is not after --since" in err


@pytest.mark.parametrize("baseline", ["0d", "-3d", "999999d", "forever"])
def test_a_bad_baseline_is_a_usage_error(activity_store: Path, baseline: str) -> None:
    status, _, err = run(
        "investigate", "anomalies", "--store", str(activity_store), f"--baseline={baseline}"
    )
    assert status == 2 and "Traceback" not in err and baseline.lstrip("-") in err


@pytest.mark.parametrize(
    ("question", "subject"),
    [("vault", "NOSUCHVAULTAAAAAAAAAAAAAAAA"), ("item", "nosuchitem"), ("ip", "203.0.113.254")],
)
def test_an_unknown_subject_is_not_found_exit_2(
    activity_store: Path, question: str, subject: str
) -> None:
    status, out, err = run("investigate", question, subject, "--store", str(activity_store))
    assert status == 2, out + err
    assert "appears in no stored event" in err and "investigate" in err


def test_a_known_subject_quiet_in_the_window_is_an_answer(
    activity_store: Path, activity: object
) -> None:
    spray_ip = activity.PLANTED.spray_ip  # type: ignore[attr-defined]
    status, out, err = run(
        "investigate",
        "ip",
        spray_ip,
        "--store",
        str(activity_store),
        "--until",
        "2000-01-02",
        "--since",
        "2000-01-01",
        "--json",
    )
    assert status == 0, err
    assert '"total":0' in out.replace(" ", "")


@pytest.mark.parametrize(
    "argv",
    [
        ["collect", "--token", "s3cr3t-VALUE"],
        ["collect", "--token=s3cr3t-VALUE"],
        ["convert", "--elasticsearch", "user:s3cr3t-VALUE@host"],
        ["convert", "--opensearch", "https://user:s3cr3t-VALUE@host"],
        ["detect", "--wat", "s3cr3t-VALUE"],
    ],
)
def test_a_usage_error_never_repeats_a_value(argv: list[str]) -> None:
    # A subprocess: argparse writes its errors to the process's own standard error.
    done = subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "s3cr3t-VALUE" not in done.stdout + done.stderr
    assert "error:" in done.stderr


def test_the_scrubber_keeps_option_names_and_counts_values() -> None:
    said = scrub_usage_error("unrecognized arguments: --token abc --x=y z")
    assert said == "unrecognized arguments: --token --x (and 3 values, not repeated)"
    untouched = "argument --namespace: the namespace 'a b' may not contain ' '"
    assert scrub_usage_error(untouched) == untouched


def test_ctrl_c_in_a_waiting_command_exits_130_without_a_traceback(
    activity_store: Path,
) -> None:
    """The MCP server waits on standard input; Ctrl-C there was a traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "onepassword_ecs", "mcp", "--store", str(activity_store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(hello).encode() + b"\n")
        process.stdin.flush()
        answer = process.stdout.readline()  # the server is in its read loop now
        assert b'"id":1' in answer.replace(b" ", b""), answer
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert b"Traceback" not in err


def test_check_json_is_one_compact_object(tmp_path: Path) -> None:
    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "signin_attempts"
    case = sorted(p for p in fixtures.glob("*.json") if not p.name.endswith(".expected.json"))[0]
    expected = case.with_name(case.stem + ".expected.json")
    (tmp_path / case.name).write_bytes(case.read_bytes())
    broken = json.loads(expected.read_text())
    broken["message"] = "not what the mapper writes"
    (tmp_path / expected.name).write_text(json.dumps(broken))
    status, out, _ = run("check", str(tmp_path), "--json")
    assert status == 1
    assert out.count("\n") == 1 and out.startswith("{")  # one line, compact
    summary = json.loads(out)
    assert summary["passed"] == 0 and summary["failed"] == 1
    assert summary["failures"][0]["fields"] == ["message"]
