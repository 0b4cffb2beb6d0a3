"""Golden cases of the stages: raw records, lookup files and rules → reviewed documents.

Each folder of ``fixtures/stages/`` with a ``stages.toml`` is one configuration
(``lookups``, ``keep_original``, a ``[redact]`` table); each ``<case>.json`` in it is a
raw record and ``<case>.expected.json`` the document normalize and the stages make.
``hash`` uses the fixed test key below, so pseudonyms are stable.

To rewrite the expectations after a deliberate change (then read ``git diff``)::

    STAGES_UPDATE=1 python -m pytest tests/test_stage_golden.py
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import normalize, validate
from onepassword_ecs.golden._cases import diff_documents, expected_bytes
from onepassword_ecs.stages import (
    MODES,
    Enricher,
    Redactor,
    load_lookups,
    lookup_files,
    rules_from_config,
)
from onepassword_ecs.stream import Stage, apply_stages

STAGES = Path(__file__).resolve().parents[1] / "fixtures" / "stages"
TEST_KEY = b"stage-fixtures-test-key-not-a-secret"
FOLDERS = sorted(path.parent for path in STAGES.glob("*/stages.toml"))
CASES = [
    raw
    for folder in FOLDERS
    for raw in sorted(folder.glob("*.json"))
    if not raw.name.endswith(".expected.json")
]
UPDATE = os.environ.get("STAGES_UPDATE") == "1"


def _config(folder: Path) -> dict[str, Any]:
    with (folder / "stages.toml").open("rb") as handle:
        return tomllib.load(handle)


def _stages(folder: Path) -> tuple[list[Stage], bool]:
    config = _config(folder)
    stages: list[Stage] = []
    if config.get("lookups"):
        stages.append(Enricher([folder / path for path in config["lookups"]]))
    if config.get("redact"):
        stages.append(Redactor(rules_from_config(config["redact"]), key=TEST_KEY))
    return stages, bool(config.get("keep_original", False))


def _run(raw: Path) -> dict[str, Any]:
    stages, keep_original = _stages(raw.parent)
    return apply_stages(normalize(raw.read_bytes(), keep_original=keep_original), stages)


@pytest.mark.parametrize("raw", CASES, ids=lambda raw: f"{raw.parent.name}/{raw.stem}")
def test_stage_case(raw: Path) -> None:
    """normalize + the folder's stages equal the reviewed expectation, and validate."""
    document = _run(raw)
    expected_path = raw.with_name(raw.stem + ".expected.json")
    if UPDATE:
        expected_path.write_bytes(expected_bytes(document))
    assert expected_path.is_file(), f"no expectation; run with STAGES_UPDATE=1 ({raw})"
    diffs = diff_documents(orjson.loads(expected_path.read_bytes()), document)
    assert not diffs, "\n".join(f"{d.path}: {d.expected!r} -> {d.got!r}" for d in diffs)
    assert validate(document) == []


def test_every_mode_has_a_folder() -> None:
    modes = {mode for folder in FOLDERS for mode in _config(folder).get("redact", {}).values()}
    assert modes == set(MODES)


@pytest.mark.parametrize("lookup", lookup_files([STAGES / "lookups"]), ids=lambda path: path.name)
def test_every_lookup_file_names_something_in_a_case(lookup: Path) -> None:
    """Each export shape (and the CSV) is what fills at least one enrichment case:
    with that file alone, some case gains an enriched field."""
    alone = Enricher([lookup])
    assert len(load_lookups([lookup])) > 0
    changed = [
        raw.name
        for raw in CASES
        if raw.parent.name == "enrich"
        and alone(normalize(raw.read_bytes())) != normalize(raw.read_bytes())
    ]
    assert changed, f"{lookup.name} names nothing the enrichment cases use"


def test_enriched_message_names_the_group_and_the_member() -> None:
    """The example of the issue, read from the reviewed expectation."""
    expected = STAGES / "enrich" / "join_gm_uuids_only.expected.json"
    document = orjson.loads(expected.read_bytes())
    assert document["message"] == (
        "Alice Kowalski added Bob Tanaka to group Administrators as a member"
    )
    assert document["user"]["target"]["group"]["name"] == "Administrators"
    assert "user.target.group.name" in document["onepassword"]["enrichment"]["fields"]
