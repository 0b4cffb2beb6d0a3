"""Golden cases: discovery, field-level diffs, error expectations, --update, ``check``."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import normalize
from onepassword_ecs.cli import main
from onepassword_ecs.golden._cases import (
    MISSING,
    FieldDiff,
    GoldenCase,
    check_case,
    default_fixtures_dir,
    diff_documents,
    discover_cases,
    expected_bytes,
    format_diff,
    update_case,
)

SIGNIN: dict[str, Any] = {
    "uuid": "SIGNIN1",
    "session_uuid": "SESSION1",
    "timestamp": "2024-05-01T10:00:00Z",
    "category": "credentials_failed",
    "type": "password_secret_bad",
    "country": "FR",
    "target_user": {"uuid": "USER1", "name": "Alice Example", "email": "alice@acme.example"},
    "client": {"app_name": "1Password for Mac", "ip_address": "192.0.2.10"},
}
NO_TIMESTAMP = {k: v for k, v in SIGNIN.items() if k != "timestamp"}
REPO = Path(__file__).resolve().parents[1]


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")
    return path


@pytest.fixture
def cases_dir(tmp_path: Path) -> Path:
    """A small fixtures tree: two good cases, one rejected case, one bad/ input."""
    root = tmp_path / "fixtures"
    write_json(root / "signin_attempts" / "failed.json", SIGNIN)
    write_json(root / "signin_attempts" / "other.json", {**SIGNIN, "uuid": "SIGNIN2"})
    write_json(root / "rejected" / "no_timestamp.json", NO_TIMESTAMP)
    write_json(root / "signin_attempts" / "bad" / "broken.json", {"not": "a case"})
    (root / "bad").mkdir()
    (root / "bad" / "garbage.json").write_bytes(b"{{{")
    for case in discover_cases([root]):
        update_case(case)
    return root


def by_name(root: Path) -> dict[str, GoldenCase]:
    return {case.name: case for case in discover_cases([root])}


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.StringIO()
    status = main(argv, stdout=out, stderr=err)
    return status, out.getvalue().decode("utf-8"), err.getvalue()


# --- discovery -----------------------------------------------------------------------


def test_discovery_skips_bad_folders_and_expected_files(cases_dir: Path) -> None:
    cases = discover_cases([cases_dir])
    assert [c.name for c in cases] == [
        "rejected/no_timestamp",
        "signin_attempts/failed",
        "signin_attempts/other",
    ]
    assert cases[1].expected_path == cases_dir / "signin_attempts" / "failed.expected.json"
    assert all(c.has_expected for c in cases)


def test_discovery_accepts_case_files_and_deduplicates(cases_dir: Path) -> None:
    raw = cases_dir / "signin_attempts" / "failed.json"
    expected = cases_dir / "signin_attempts" / "failed.expected.json"
    cases = discover_cases([raw, expected, cases_dir / "signin_attempts"])
    assert sorted(c.raw_path.resolve() for c in cases) == sorted(
        [raw.resolve(), (cases_dir / "signin_attempts" / "other.json").resolve()]
    )


def test_default_fixtures_dir_is_the_repository_folder() -> None:
    assert default_fixtures_dir() == REPO / "fixtures"


# --- checking ------------------------------------------------------------------------


def test_fresh_expectations_pass(cases_dir: Path) -> None:
    results = [check_case(case) for case in discover_cases([cases_dir])]
    assert all(result.ok for result in results)
    assert all(format_diff(result) == "" for result in results)


def test_expected_file_holds_the_canonical_document(cases_dir: Path) -> None:
    case = by_name(cases_dir)["signin_attempts/failed"]
    text = case.expected_path.read_bytes()
    assert text == expected_bytes(normalize(SIGNIN))
    assert text.endswith(b"}\n") and b'\n  "' in text


def test_rejected_record_is_stored_as_an_error_expectation(cases_dir: Path) -> None:
    case = by_name(cases_dir)["rejected/no_timestamp"]
    assert orjson.loads(case.expected_path.read_bytes()) == {
        "error": {"path": "$.timestamp", "reason": "missing_timestamp"}
    }


def test_error_expectation_with_reason_only_passes(cases_dir: Path) -> None:
    case = by_name(cases_dir)["rejected/no_timestamp"]
    write_json(case.expected_path, {"error": {"reason": "missing_timestamp"}})
    assert check_case(case).ok


def test_wrong_error_reason_fails(cases_dir: Path) -> None:
    case = by_name(cases_dir)["rejected/no_timestamp"]
    write_json(case.expected_path, {"error": {"reason": "bad_timestamp"}})
    result = check_case(case)
    assert not result.ok
    assert result.diffs == [FieldDiff("error.reason", "bad_timestamp", "missing_timestamp")]


def test_document_expected_but_record_rejected(cases_dir: Path) -> None:
    case = by_name(cases_dir)["signin_attempts/failed"]
    case.raw_path.write_bytes(orjson.dumps(NO_TIMESTAMP))
    result = check_case(case)
    assert not result.ok
    assert result.problem is not None and "missing_timestamp" in result.problem
    assert "missing_timestamp" in format_diff(result)


def test_rejection_expected_but_document_produced(cases_dir: Path) -> None:
    case = by_name(cases_dir)["rejected/no_timestamp"]
    case.raw_path.write_bytes(orjson.dumps(SIGNIN))
    result = check_case(case)
    assert not result.ok
    assert result.diffs == [FieldDiff("error.reason", "missing_timestamp", MISSING)]


def test_missing_expected_file_fails_with_a_hint(cases_dir: Path) -> None:
    case = by_name(cases_dir)["signin_attempts/other"]
    case.expected_path.unlink()
    result = check_case(case)
    assert not result.ok
    assert "--update" in format_diff(result)


def test_tampered_expected_file_gives_a_field_level_diff(cases_dir: Path) -> None:
    case = by_name(cases_dir)["signin_attempts/failed"]
    expected = orjson.loads(case.expected_path.read_bytes())
    expected["event"]["id"] = "SOMETHING-ELSE"
    expected["event"]["invented"] = {"deep": True}
    actual_ip = expected["source"].pop("ip")
    write_json(case.expected_path, expected)
    result = check_case(case)
    assert {(d.path, d.kind) for d in result.diffs} == {
        ("event.id", "changed"),
        ("event.invented.deep", "missing"),
        ("source.ip", "unexpected"),
    }
    report = format_diff(result)
    assert 'event.id: expected "SOMETHING-ELSE", got "SIGNIN1"' in report
    assert "event.invented.deep: expected true, got <missing>" in report
    assert f'source.ip: expected <missing>, got "{actual_ip}"' in report
    assert "signin_attempts/failed" in report.splitlines()[0]


def test_diff_is_type_strict_and_compares_arrays_whole() -> None:
    assert diff_documents({"a": 1}, {"a": 1.0}) == [FieldDiff("a", 1, 1.0)]
    assert diff_documents({"a": True}, {"a": 1}) == [FieldDiff("a", True, 1)]
    assert diff_documents({"a": [1, 2]}, {"a": [2, 1]}) == [FieldDiff("a", [1, 2], [2, 1])]
    assert diff_documents({"a": {}}, {}) == [FieldDiff("a", {}, MISSING)]
    assert diff_documents({"a": None}, {}) == [FieldDiff("a", None, MISSING)]
    assert diff_documents({"a": {"b": [1]}}, {"a": {"b": [1]}}) == []


# --- updating ------------------------------------------------------------------------


def test_update_is_a_no_op_for_passing_cases_even_if_formatted_differently(
    cases_dir: Path,
) -> None:
    case = by_name(cases_dir)["signin_attempts/failed"]
    compact = orjson.dumps(normalize(SIGNIN))
    case.expected_path.write_bytes(compact)
    assert update_case(case) is False
    assert case.expected_path.read_bytes() == compact


def test_update_rewrites_a_failing_case_canonically(cases_dir: Path) -> None:
    case = by_name(cases_dir)["signin_attempts/failed"]
    write_json(case.expected_path, {"stale": True})
    assert update_case(case) is True
    assert case.expected_path.read_bytes() == expected_bytes(normalize(SIGNIN))
    assert check_case(case).ok


# --- the check subcommand ------------------------------------------------------------


def test_check_command_passes_then_fails_on_tampering_then_update_fixes(
    cases_dir: Path,
) -> None:
    assert run_cli(["check", str(cases_dir)])[:2] == (0, "3 passed, 0 failed\n")

    case = by_name(cases_dir)["signin_attempts/other"]
    expected = orjson.loads(case.expected_path.read_bytes())
    expected["user"]["email"] = "mallory@acme.example"
    write_json(case.expected_path, expected)
    status, out, _ = run_cli(["check", str(cases_dir)])
    assert status == 1
    assert 'user.email: expected "mallory@acme.example", got "alice@acme.example"' in out
    assert out.endswith("2 passed, 1 failed\n")

    (cases_dir / "signin_attempts" / "new.json").write_bytes(orjson.dumps(SIGNIN))
    status, out, _ = run_cli(["check", "--update", str(cases_dir)])
    assert status == 0
    assert "created signin_attempts/new" in out
    assert "updated signin_attempts/other" in out
    assert "1 created, 1 updated, 2 unchanged" in out
    assert "git diff" in out
    assert run_cli(["check", str(cases_dir)])[:2] == (0, "4 passed, 0 failed\n")
    status, out, _ = run_cli(["check", "--update", str(cases_dir)])
    assert (status, out) == (0, "0 created, 0 updated, 4 unchanged\n")


def test_check_command_usage_errors(tmp_path: Path) -> None:
    assert run_cli(["check", str(tmp_path / "absent")])[0] == 2
    assert run_cli(["check", str(tmp_path)])[0] == 2  # no cases at all


def test_regenerate_script_updates_the_given_folder(cases_dir: Path) -> None:
    case = by_name(cases_dir)["signin_attempts/other"]
    case.expected_path.unlink()
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "regenerate_fixtures.py"), str(cases_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "created signin_attempts/other" in done.stdout
    assert "git diff" in done.stdout + done.stderr
    assert check_case(case).ok
