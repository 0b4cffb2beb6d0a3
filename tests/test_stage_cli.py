"""``convert --lookups / --redact / --redact-key-env``, as real processes of the CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs.cli import main
from onepassword_ecs.stages import REDACT_KEY_ENV, Redactor, parse_rules

REPO = Path(__file__).resolve().parents[1]
STAGES = REPO / "fixtures" / "stages"
LOOKUPS = STAGES / "lookups"
KEY = "cli-test-key-0123456789abcdef-not-secret"


def _cli(
    *args: str | Path, env: dict[str, str] | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if k != REDACT_KEY_ENV}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", "convert", "--quiet", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=environment,
        timeout=120,
        check=False,
    )


def _in_process(
    *args: str, capsys: pytest.CaptureFixture[str], stdin: bytes = b""
) -> tuple[int, bytes, str]:
    """Usage errors need no process of their own: ``main`` in this one (faster)."""
    out = io.BytesIO()
    try:
        status = main(["convert", "--quiet", *args], stdin=io.BytesIO(stdin), stdout=out)
    except SystemExit as exc:  # argparse refuses the arguments
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, out.getvalue(), captured.err


def _records(*names: str) -> bytes:
    lines = [orjson.dumps(orjson.loads((STAGES / name).read_bytes())) for name in names]
    return b"\n".join(lines) + b"\n"


def _documents(output: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in output.splitlines()]


def test_lookups_name_what_the_api_only_identified() -> None:
    stdin = _records("enrich/join_gm_uuids_only.json", "enrich/fill_item_usage.json")
    result = _cli("--lookups", LOOKUPS / "op-user-list.json", "--lookups", LOOKUPS, stdin=stdin)
    assert result.returncode == 0, result.stderr
    join, fill = _documents(result.stdout)
    assert join["message"] == "Alice Kowalski added Bob Tanaka to group Administrators as a member"
    assert fill["onepassword"]["item"]["title"] == "Social media (marketing account)"


def test_a_lookup_file_with_secrets_stops_the_run_before_any_output() -> None:
    stdin = _records("enrich/fill_item_usage.json")
    result = _cli("--lookups", STAGES / "refused" / "op-item-get.json", stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"op-item-get.json" in result.stderr and b"never secrets" in result.stderr
    assert b"fixture-not-a-real-password" not in result.stderr


def test_hash_refuses_to_run_without_its_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REDACT_KEY_ENV, raising=False)
    stdin = _records("redact-hash/create_invite.json")
    status, out, err = _in_process("--redact", "people=hash", capsys=capsys, stdin=stdin)
    assert status == 2
    assert REDACT_KEY_ENV in err
    assert out == b""


def test_hash_with_the_named_key_matches_the_library_and_never_shows_the_key() -> None:
    stdin = _records("redact-hash/signin_ip_blocked.json")
    result = _cli(
        "--redact",
        "people=hash",
        "--redact",
        "addresses=mask",
        "--redact-key-env",
        "TEAM_PSEUDONYM_KEY",
        env={"TEAM_PSEUDONYM_KEY": KEY},
        stdin=stdin,
    )
    assert result.returncode == 0, result.stderr
    (document,) = _documents(result.stdout)
    library = Redactor(parse_rules(["people=hash"]), key=KEY.encode())
    assert document["user"]["email"] == library.pseudonym("alice.kowalski@acme.example")
    assert document["client"]["address"] == "198.51.*.*"
    assert KEY.encode() not in result.stdout + result.stderr
    assert b"Alice" not in result.stdout and b"198.51.100.143" not in result.stdout


def test_the_key_is_not_accepted_as_a_command_line_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ("--redact", "people=hash", "--redact-key-env", KEY + "=/+")
    status, _, err = _in_process(*args, capsys=capsys)
    assert status == 2
    assert KEY not in err
    assert "NAME of an environment variable" in err


def test_a_named_variable_that_is_unset_is_not_echoed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("Q7ZX9KEYLIKE0123456789ABCDEF", raising=False)
    args = ("--redact", "people=hash", "--redact-key-env", "Q7ZX9KEYLIKE0123456789ABCDEF")
    status, _, err = _in_process(*args, capsys=capsys)
    assert status == 2
    assert "Q7ZX9KEYLIKE" not in err and "--redact-key-env" in err


def test_unknown_field_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _in_process("--redact", "user.shoe_size=hash", capsys=capsys)
    assert status == 2
    assert "unknown field" in err


def test_rejected_records_input_is_withheld_when_redacting(tmp_path: Path) -> None:
    errors = tmp_path / "errors.ndjson"
    bad = orjson.dumps(
        {
            "uuid": "X",
            "timestamp": "carol.ndiaye@acme.example",
            "category": "success",
            "target_user": {"name": "Carol N'Diaye", "email": "carol.ndiaye@acme.example"},
        }
    )
    stdin = _records("redact-drop/signin_ip_blocked.json") + bad + b"\n"
    result = _cli("--redact", "people=drop", "--errors", errors, stdin=stdin)
    assert result.returncode == 1
    (line,) = errors.read_bytes().splitlines()
    entry = orjson.loads(line)
    assert entry["reason"] == "bad_timestamp" and entry["line"] == 2
    assert entry["input_withheld"] is True and "input" not in entry
    assert b"carol" not in line.lower()
    assert b"Alice" not in result.stdout


def test_without_redaction_the_input_is_still_reported(tmp_path: Path) -> None:
    errors = tmp_path / "errors.ndjson"
    stdin = b'{"uuid": "X", "timestamp": "soon", "category": "success"}\n'
    result = _cli("--lookups", LOOKUPS, "--errors", errors, stdin=stdin)
    assert result.returncode == 1
    assert "input" in orjson.loads(errors.read_bytes())


@pytest.mark.parametrize("workers", ["2"])
def test_stages_run_in_worker_processes_with_the_same_bytes(workers: str) -> None:
    names = [
        f"{folder}/{path.name}"
        for folder in ("enrich", "redact-hash")
        for path in sorted((STAGES / folder).glob("*.json"))
        if not path.name.endswith(".expected.json")
    ]
    stdin = _records(*names) * 140  # two chunks of 2,000 lines: both workers get one
    options = ["--lookups", LOOKUPS, "--redact", "people=hash", "--keep-original"]
    env = {REDACT_KEY_ENV: KEY}
    one = _cli(*options, env=env, stdin=stdin)
    many = _cli(*options, "--workers", workers, env=env, stdin=stdin)
    assert one.returncode == many.returncode == 0, many.stderr
    assert one.stdout == many.stdout
    assert b"Bob Tanaka" not in many.stdout and b"Administrators" in many.stdout


@pytest.mark.parametrize("mode", ["hash", "mask", "drop"])
def test_a_name_with_a_bidi_mark_is_redacted_in_message_and_the_store(
    mode: str, tmp_path: Path
) -> None:
    """Issue 21, item 1, as reported: ``Dana\\u200f Levi`` through ``convert --store``."""
    record = orjson.loads((STAGES / "redact-hash" / "signin_ip_blocked.json").read_bytes())
    record["target_user"]["name"] = "Dana\u200f Levi"
    store = tmp_path / "events.db"
    options = ["--redact", f"people={mode}", "--keep-original", "--store", store, "-o", "-"]
    result = _cli(*options, env={REDACT_KEY_ENV: KEY}, stdin=orjson.dumps(record) + b"\n")
    assert result.returncode == 0, result.stderr
    document = orjson.loads(result.stdout)
    assert "Dana" not in document["message"] and "Levi" not in document["message"]
    assert b"Dana" not in result.stdout and b"Levi" not in result.stdout
    assert b"Dana" not in store.read_bytes() and b"Levi" not in store.read_bytes()
