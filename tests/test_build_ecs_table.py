"""scripts/build_ecs_table.py, exercised on small synthetic flat files.

The real source is not in the repository, so these tests use tiny stand-ins and the
offline ``--check`` (pins, canonical form, the table's own digest); regenerating the
committed table from the real file is ``--check --source ecs_flat.yml``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("yaml")  # dev extra, like the script itself

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "build_ecs_table.py"

FLAT = """\
'@timestamp':
  description: 'Date/time when the event originated.'
  flat_name: '@timestamp'
  normalize: []
  required: true
  type: date
event.category:
  allowed_values:
  - description: Auth.
    expected_event_types: [start, end, info]
    name: authentication
  - description: Files.
    expected_event_types: [access]
    name: file
  description: Category.
  ignore_above: 1024
  normalize: [array]
  type: keyword
event.original:
  description: Raw.
  doc_values: false
  index: false
  normalize: []
  type: keyword
user.name:
  description: Name.
  ignore_above: 1024
  multi_fields:
  - flat_name: user.name.text
    name: text
    type: match_only_text
  normalize: []
  type: keyword
"""


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_ecs_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_keeps_types_and_drops_prose_and_defaults(script: ModuleType) -> None:
    table = script.build_table(FLAT.encode(), "abc", "def")
    assert table["ecs_version"] == "9.4.0"
    assert (table["source_sha256"], table["source_commit"]) == ("abc", "def")
    assert table["expected_event_types"] == {
        "authentication": ["start", "end", "info"],
        "file": ["access"],
    }
    assert table["fields"] == {
        "@timestamp": {"type": "date", "required": True},
        "event.category": {
            "type": "keyword",
            "array": True,
            "allowed": ["authentication", "file"],
            "ignore_above": 1024,
        },
        "event.original": {"type": "keyword", "index": False, "doc_values": False},
        "user.name": {
            "type": "keyword",
            "ignore_above": 1024,
            "multi_fields": [{"name": "text", "type": "match_only_text"}],
        },
    }


def test_build_rejects_a_type_it_does_not_know(script: ModuleType) -> None:
    with pytest.raises(script.BuildError, match=r"x\.y: unsupported type 'semantic_text'"):
        script.build_table(FLAT.encode() + b"x.y:\n  type: semantic_text\n", "a", "b")


def test_render_is_sorted_one_field_per_line(script: ModuleType) -> None:
    text = script.render(script.build_table(FLAT.encode(), "abc", "def"))
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    field_lines = [line for line in lines if line.startswith(('"@timestamp"', '"event.', '"user.'))]
    assert field_lines == sorted(field_lines) and len(field_lines) == 4
    assert json.loads(text)["fields"]["@timestamp"] == {"required": True, "type": "date"}


def test_committed_table_is_in_canonical_form(script: ModuleType) -> None:
    committed = resources.files("onepassword_ecs.ecs").joinpath("_ecs_fields.json").read_text()
    assert script.render(json.loads(committed)) == committed


def _run(script: ModuleType, *args: Any) -> int:
    result: int = script.main([str(arg) for arg in args])
    return result


def test_sha_mismatch_fails_unless_allowed(
    script: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "ecs_flat.yml"
    source.write_text(FLAT)
    output = tmp_path / "table.json"

    assert _run(script, "--source", source, "--output", output) == 1
    assert "pinned" in capsys.readouterr().err
    assert not output.exists()

    assert _run(script, "--source", source, "--output", output, "--allow-other") == 0
    assert "WARNING" in capsys.readouterr().err
    table = json.loads(output.read_text())
    assert table["source_sha256"] == hashlib.sha256(FLAT.encode()).hexdigest()
    assert table["source_commit"] == "unknown"


def test_check_mode_compares_without_writing(script: ModuleType, tmp_path: Path) -> None:
    source = tmp_path / "ecs_flat.yml"
    source.write_text(FLAT)
    output = tmp_path / "table.json"
    assert _run(script, "--source", source, "--output", output, "--allow-other") == 0
    assert _run(script, "--source", source, "--output", output, "--allow-other", "--check") == 0

    stale = output.read_text().replace('"date"', '"keyword"')
    output.write_text(stale)
    assert _run(script, "--source", source, "--output", output, "--allow-other", "--check") == 1
    assert output.read_text() == stale


# --- --check on a fresh clone: no source file anywhere --------------------------------


def _fresh_clone(tmp_path: Path, table: str | None = None) -> Path:
    """The script and the committed table, alone in a folder tree (no ../shared)."""
    repo = tmp_path / "clone"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / SCRIPT.name).write_bytes(SCRIPT.read_bytes())
    target = repo / "parser" / "onepassword_ecs" / "ecs" / "_ecs_fields.json"
    target.parent.mkdir(parents=True)
    committed = resources.files("onepassword_ecs.ecs").joinpath("_ecs_fields.json").read_text()
    target.write_text(committed if table is None else table)
    return repo


def _run_script(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(repo / "scripts" / SCRIPT.name), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_works_on_a_fresh_clone_without_the_source(tmp_path: Path) -> None:
    done = _run_script(_fresh_clone(tmp_path), "--check")
    assert done.returncode == 0, done.stderr
    assert "Not regenerated: no --source given" in done.stdout
    assert "curl -fsSLo ecs_flat.yml https://raw.githubusercontent.com/elastic/ecs/" in done.stdout


def test_offline_check_catches_a_hand_edited_table(script: ModuleType, tmp_path: Path) -> None:
    committed = resources.files("onepassword_ecs.ecs").joinpath("_ecs_fields.json").read_text()
    # Canonical and with the right pins, but one type changed by hand.
    edited = script.render(json.loads(committed.replace('"ip"', '"keyword"', 1)))
    done = _run_script(_fresh_clone(tmp_path, edited), "--check")
    assert done.returncode == 1
    assert "TABLE_SHA256" in done.stderr


@pytest.mark.parametrize(
    ("key", "value"),
    [("source_sha256", "0" * 64), ("source_commit", "unknown"), ("ecs_version", "9.3.0")],
)
def test_offline_check_catches_a_table_from_another_source(
    script: ModuleType, key: str, value: str
) -> None:
    committed = resources.files("onepassword_ecs.ecs").joinpath("_ecs_fields.json").read_text()
    table = json.loads(committed)
    table[key] = value
    problems = script.offline_problems(script.render(table))
    assert any(problem.startswith(f"{key} is {value!r}") for problem in problems)


def test_offline_check_catches_a_non_canonical_table(script: ModuleType) -> None:
    committed = resources.files("onepassword_ecs.ecs").joinpath("_ecs_fields.json").read_text()
    assert script.offline_problems(committed) == []
    problems = script.offline_problems(json.dumps(json.loads(committed), indent=1))
    assert any("canonical form" in problem for problem in problems)


def test_writing_without_a_source_says_where_to_get_it(tmp_path: Path) -> None:
    repo = _fresh_clone(tmp_path)
    before = (repo / "parser" / "onepassword_ecs" / "ecs" / "_ecs_fields.json").read_text()
    done = _run_script(repo, "--output", str(tmp_path / "out.json"))
    assert done.returncode == 2
    assert "--source ecs_flat.yml is required" in done.stderr
    assert not (tmp_path / "out.json").exists()
    assert (repo / "parser" / "onepassword_ecs" / "ecs" / "_ecs_fields.json").read_text() == before


# --- no document sends users to a folder outside the repository ------------------------

REPO = SCRIPT.parent.parent
_OUTSIDE = re.compile(r"\.\./shared|\bshared/(?:ecs|peers|reference)\b")


def test_no_doc_or_script_points_outside_the_repository() -> None:
    texts = [REPO / "README.md", *REPO.glob("docs/**/*.md"), *REPO.glob("scripts/*.py")]
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in texts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _OUTSIDE.search(line)
    ]
    assert not found, "\n".join(found)
