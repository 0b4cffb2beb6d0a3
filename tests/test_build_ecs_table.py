"""scripts/build_ecs_table.py, exercised on small synthetic flat files.

The real source lives outside the repository (../shared), so these tests use
tiny stand-ins; checking the committed table against the real file is the
script's own ``--check`` mode.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
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
