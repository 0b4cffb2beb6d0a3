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


def assert_window_refusals(argv: list[str], month: str) -> None:
    """A future --since, and an --until before --since (days 20 and 10 of ``month``)."""
    status, _, err = run(*argv, "--since", "2200-01-01")
    assert status == 2 and "in the future" in err
    status, _, err = run(*argv, "--since", f"{month}-20", "--until", f"{month}-10")
    assert status == 2 and "is not after --since" in err


@pytest.mark.parametrize("command", ["investigate anomalies", "investigate user", "report"])
def test_a_future_since_and_an_inverted_window_are_refused(
    activity_store: Path, tmp_path: Path, command: str
) -> None:
    assert_window_refusals(window_commands(activity_store, tmp_path)[command], "2026-10")


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


# --- the same forms through store, detect and collect ---------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "events.ndjson"


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("grammar") / "events.db"
    status, _, err = run("convert", str(EXAMPLE), "--store", str(store), "-q")
    assert status == 1, err  # the example's one bad record
    return store


def store_commands(store: Path, tmp_path: Path) -> dict[str, list[str]]:
    return {
        "store export": ["store", "export", "--store", str(store), "-o", str(tmp_path / "x")],
        "detect --store": ["detect", "--store", str(store), "-o", str(tmp_path / "a")],
        "detect file": ["detect", str(EXAMPLE), "-o", str(tmp_path / "a")],
    }


@pytest.mark.parametrize("form", ["2024-10-01", "2024-10-01T00:00:00Z", "800d", "200w"])
@pytest.mark.parametrize("command", ["store export", "detect --store", "detect file"])
def test_store_and_detect_take_every_time_form(
    small_store: Path, tmp_path: Path, command: str, form: str
) -> None:
    status, _, err = run(*store_commands(small_store, tmp_path)[command], "--since", form)
    assert status in (0, 1, 3), err  # 3: detect raised its alert
    assert "error" not in err


@pytest.mark.parametrize("value", sorted(BAD_TIMES))
@pytest.mark.parametrize("command", ["store export", "detect --store", "detect file"])
def test_store_and_detect_refuse_every_bad_time(
    small_store: Path, tmp_path: Path, command: str, value: str
) -> None:
    status, _, err = run(*store_commands(small_store, tmp_path)[command], "--until", value)
    assert status == 2
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["store export", "detect --store"])
def test_store_and_detect_refuse_a_future_since_and_an_inverted_window(
    small_store: Path, tmp_path: Path, command: str
) -> None:
    assert_window_refusals(store_commands(small_store, tmp_path)[command], "2024-10")


@pytest.mark.parametrize("interval", ["0", "-1s", "3651d", "soon"])
def test_detect_follow_refuses_a_bad_interval(small_store: Path, interval: str) -> None:
    status, _, _ = run("detect", "--store", str(small_store), "--follow", f"--interval={interval}")
    assert status == 2


def test_detect_follow_takes_a_span_interval(small_store: Path) -> None:
    from onepassword_ecs.cli._main import _parser

    args = _parser().parse_args(
        ["detect", "--store", str(small_store), "--follow", "--interval", "1m"]
    )
    assert args.interval == 60


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--since", "2200-01-01", "in the future"),
        ("--since", "9999999999w", "at most 3650d"),
        ("--since", "9999-12-31", "after 2261"),
        ("--until", "2001-01-01", "is not after --since"),
        ("--timeout", "0", "longer than zero"),
        ("--interval", "0s", "longer than zero"),
        ("--silence-alert", "-5m", "positive"),
    ],
)
def test_collect_refuses_bad_times_and_spans_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str, value: str, says: str
) -> None:
    monkeypatch.setenv("EVENTS_API_TOKEN", "ops_not-a-real-token")
    argv = ["collect", "--once", "--url", "http://127.0.0.1:9", "-o", str(tmp_path / "o")]
    argv += ["--state", str(tmp_path / "state.db"), f"{option}={value}"]
    done = subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "state.db").exists()  # refused before anything was opened


@pytest.mark.parametrize(
    "argv",
    [
        ["collect", "--once", "-o", "out.ndjson", "--config", "bad.toml"],
        ["convert", str(EXAMPLE), "-o", "out.ndjson", "--stage-config", "bad.toml"],
        ["detect", str(EXAMPLE), "-o", "out.ndjson", "--context", "bad.toml"],
    ],
)
def test_a_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path, argv: list[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[[account]]\n")
    argv = [
        str(bad) if a == "bad.toml" else str(tmp_path / a) if a == "out.ndjson" else a for a in argv
    ]
    done = subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and str(bad) in done.stderr


def test_a_context_with_an_infinite_silence_is_refused(tmp_path: Path) -> None:
    context = tmp_path / "context.toml"
    context.write_text("silence_hours = 1e400\n")
    status, _, err = run(
        "detect", str(EXAMPLE), "--context", str(context), "-o", str(tmp_path / "a")
    )
    assert status == 2 and "silence_hours" in err


def test_store_export_and_detect_refuse_to_write_over_the_store(small_store: Path) -> None:
    before = small_store.read_bytes()
    for argv in (
        ["store", "export", "--store", str(small_store), "-o", str(small_store)],
        ["detect", "--store", str(small_store), "-o", str(small_store)],
        ["detect", str(EXAMPLE), "-o", str(EXAMPLE)],
    ):
        status, _, err = run(*argv)
        assert status == 2, (argv, err)
    assert small_store.read_bytes() == before


def test_store_stats_json_is_one_compact_line(small_store: Path) -> None:
    status, out, _ = run("store", "stats", "--store", str(small_store), "--json")
    assert status == 0
    assert out.count("\n") == 1
    assert json.loads(out)["events"] == 3


def test_store_prune_refuses_a_future_cut(small_store: Path) -> None:
    status, _, err = run("store", "prune", "--store", str(small_store), "--before", "2200-01-01")
    assert status == 2 and "in the future" in err


def test_a_not_found_message_quoting_stored_names_is_escaped(tmp_path: Path) -> None:
    """Two people share a name holding an escape sequence; the "matches several people"
    error quotes their stored names, which must reach the terminal escaped."""
    first = json.loads(EXAMPLE.read_text().splitlines()[0])
    hostile = "Eve\x1b[2J\u202eX"
    records = []
    for number in range(2):
        record = json.loads(json.dumps(first))
        record["uuid"] = f"HOSTILE{number:019d}"
        record["target_user"] = {
            "uuid": f"PERSON{number:020d}",
            "name": hostile,
            "email": f"eve{number}@acme.example",
        }
        records.append(json.dumps(record))
    raw = tmp_path / "raw.ndjson"
    raw.write_text("\n".join(records) + "\n")
    store = tmp_path / "hostile.db"
    status, _, err = run("convert", str(raw), "--store", str(store), "-q")
    assert status == 0, err
    status, _, err = run("investigate", "user", hostile, "--store", str(store))
    assert status == 2 and "several people" in err
    assert "\x1b" not in err and "\u202e" not in err
