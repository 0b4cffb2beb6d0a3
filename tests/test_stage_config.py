"""Redaction rules from a TOML ``[redact]`` table: ``convert --stage-config`` as a real
process, and ``collect``'s ``--config`` file against the stub Events API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from collect_helpers import FAST, make_events, new_token, read_ndjson, run_cli, start_stub
from events_api_stub import FEATURES
from onepassword_ecs.stages import REDACT_KEY_ENV, Redactor, parse_rules, read_redact_config

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "fixtures" / "stages" / "redact-hash"
KEY = "stage-config-test-key-0123456789-not-secret"
EMAIL = b"eunji.park@acme.example"
NAME = b"Eun-ji Park"


def _convert(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if k != REDACT_KEY_ENV}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", "convert", "--quiet", *map(str, args)],
        capture_output=True,
        env=environment,
        timeout=120,
        check=False,
    )


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "redaction.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _documents(output: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in output.splitlines()]


def test_the_files_rules_are_applied_with_the_key_its_key_env_names(tmp_path: Path) -> None:
    config = _config(
        tmp_path, '[redact]\nkey_env = "TEAM_REDACT_KEY"\npeople = "mask"\n"user.email" = "hash"\n'
    )
    done = _convert(
        RECORDS / "item_usage_ipv6.json", "--stage-config", config, env={"TEAM_REDACT_KEY": KEY}
    )
    assert done.returncode == 0, done.stderr
    assert EMAIL not in done.stdout and NAME not in done.stdout
    assert KEY.encode() not in done.stdout + done.stderr
    (document,) = _documents(done.stdout)
    # people=mask, then "user.email" = "hash" later in the file: later entries win.
    assert document["user"]["name"] == "E*** P***"
    rules = {**parse_rules(["people=mask"]), **parse_rules(["user.email=hash"])}
    assert rules == read_redact_config(config).rules
    expected = Redactor(rules, key=KEY.encode())
    from onepassword_ecs import normalize

    library = expected(normalize((RECORDS / "item_usage_ipv6.json").read_bytes()))
    assert document["user"]["email"] == library["user"]["email"]
    assert document["user"]["email"].startswith("anon-")


def test_redact_options_override_the_file_field_by_field(tmp_path: Path) -> None:
    config = _config(tmp_path, '[redact]\npeople = "hash"\n')
    done = _convert(
        RECORDS / "item_usage_ipv6.json",
        "--stage-config",
        config,
        "--redact",
        "user.email=drop",
        env={REDACT_KEY_ENV: KEY},
    )
    assert done.returncode == 0, done.stderr
    (document,) = _documents(done.stdout)
    assert "email" not in document["user"]  # the command line's drop
    assert document["user"]["name"].startswith("anon-")  # the file's hash
    assert EMAIL not in done.stdout and NAME not in done.stdout


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            '"user.email" = "hsah"\n',
            "[redact] user.email: the mode must be one of hash, mask, drop",
        ),
        ('"user.shoe_size" = "hash"\n', "[redact] user.shoe_size: unknown field"),
        ("people = 3\n", "[redact] people: the mode must be one of"),
        ('key_env = "not a variable name"\n', "[redact] key_env: expected the NAME"),
    ],
)
def test_a_bad_entry_is_a_usage_error_naming_the_file(
    tmp_path: Path, table: str, expected: str
) -> None:
    config = _config(tmp_path, "[redact]\n" + table)
    done = _convert(RECORDS / "item_usage_ipv6.json", "--stage-config", config)
    assert done.returncode == 2
    error = done.stderr.decode()
    assert f"{config}: {expected}" in error
    assert done.stdout == b""
    assert "hsah" not in error and "not a variable name" not in error  # values never echoed


@pytest.mark.parametrize("entry", ["key", "hmac_key", "redact-key", "secret"])
def test_a_key_in_the_file_is_refused_without_echoing_it(tmp_path: Path, entry: str) -> None:
    config = _config(tmp_path, f'[redact]\npeople = "hash"\n{entry} = "{KEY}"\n')
    done = _convert(
        RECORDS / "item_usage_ipv6.json", "--stage-config", config, env={REDACT_KEY_ENV: KEY}
    )
    assert done.returncode == 2
    error = done.stderr.decode()
    assert str(config) in error and "never read from a file" in error and "key_env" in error
    assert KEY not in error and done.stdout == b""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[redaction]\npeople = "hash"\n', "no [redact] table"),
        ("[redact\n", "not valid TOML"),
        ('redact = "people"\n', "redact must be a table"),
    ],
)
def test_a_file_that_is_not_a_redact_config_is_a_usage_error(
    tmp_path: Path, text: str, expected: str
) -> None:
    config = _config(tmp_path, text)
    done = _convert(RECORDS / "item_usage_ipv6.json", "--stage-config", config)
    assert done.returncode == 2
    assert f"{config}: {expected}" in done.stderr.decode()


def test_hash_from_the_file_without_its_key_names_the_variable_not_a_value(tmp_path: Path) -> None:
    config = _config(tmp_path, '[redact]\nkey_env = "TEAM_REDACT_KEY"\npeople = "hash"\n')
    done = _convert(RECORDS / "item_usage_ipv6.json", "--stage-config", config)
    assert done.returncode == 2
    error = done.stderr.decode()
    assert "key_env" in error and str(config) in error and "not set" in error


def test_collects_config_file_redacts_with_its_redact_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One file for the collector: its [[account]]s and the [redact] policy."""
    token = new_token()
    api = start_stub(token)
    try:
        expected = []
        for endpoint in FEATURES:
            events = make_events(endpoint, 2, prefix="C")
            api.add(endpoint, events)
            expected += events
        (tmp_path / "events.token").write_text(token + "\n")
        monkeypatch.setenv("TEAM_REDACT_KEY", KEY)
        config = _config(
            tmp_path,
            f'[[account]]\nname = "main"\nurl = "{api.url}"\n'
            f'token_file = "{tmp_path / "events.token"}"\n\n'
            '[redact]\nkey_env = "TEAM_REDACT_KEY"\npeople = "hash"\n',
        )
        out = tmp_path / "out.ndjson"
        argv = ["collect", "--config", str(config), "--state", str(tmp_path / "s.sqlite3")]
        status, _, stderr = run_cli([*argv, *FAST, "--once", "-o", str(out), "-q"])
        assert status == 0, stderr
        data = out.read_bytes()
        assert len(read_ndjson(out)) == len(expected)
        assert b"@acme.example" not in data and KEY.encode() not in data
        assert b"anon-" in data
    finally:
        api.stop()


def test_the_readme_example_runs_as_shown(tmp_path: Path) -> None:
    """docs/enrichment.md's --stage-config block: the command, run from the clone with
    docs/examples/redaction.toml, prints the document the guide shows."""
    import re
    import shlex

    guide = (REPO / "docs" / "enrichment.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", guide, re.DOTALL)
    (block,) = [block for block in blocks if "--stage-config" in block]
    command_text, shown = block.split("\n$ ", 1)[0], block.strip().splitlines()[-1]
    command_line = command_text.removeprefix("$ ").replace("\\\n", " ").split(" | ")[0]
    argv = shlex.split(command_line)
    assert argv[:2] == ["onepassword-ecs", "convert"]
    argv = [arg if arg != "rejected.ndjson" else str(tmp_path / "rejected.ndjson") for arg in argv]
    done = subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", *argv[1:]],
        capture_output=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # the example's one rejected record
    first = _documents(done.stdout)[0]
    projection = {
        "message": first["message"],
        "user": first["user"],
        "client": first["client"]["address"],
        "city": first["client"].get("geo", {}).get("city_name"),
    }
    assert projection == orjson.loads(shown)
    assert b"alice" not in done.stdout.lower()
