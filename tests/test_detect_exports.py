"""Exports are golden files: a backend upgrade that changes a query shows up as a diff.

``UPDATE_GOLDEN=1 python -m pytest tests/test_detect_exports.py`` rewrites them; read
``git diff tests/golden_exports`` before committing.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import yaml

from onepassword_ecs.cli import main
from onepassword_ecs.detect import builtin_rules_dir, load_rules
from onepassword_ecs.detect._engine import rule_fields

GOLDEN = Path(__file__).parent / "golden_exports"
CONTEXT = GOLDEN / "context.toml"


def _export(folder: Path) -> None:
    err = io.StringIO()
    code = main(
        ["rules", "export", "--target", "all", "--context", str(CONTEXT), "-o", str(folder)],
        stdout=io.BytesIO(),
        stderr=err,
    )
    assert code == 0, err.getvalue()


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "context.toml"
    }


def test_exports_match_golden_files(tmp_path: Path) -> None:
    _export(tmp_path)
    if os.environ.get("UPDATE_GOLDEN"):
        for target in tmp_path.iterdir():
            shutil.rmtree(GOLDEN / target.name, ignore_errors=True)
            shutil.copytree(target, GOLDEN / target.name)
    produced, golden = _tree(tmp_path), _tree(GOLDEN)
    assert sorted(produced) == sorted(golden)
    for name, text in produced.items():
        assert text == golden[name], f"{name} differs from its golden file"


def test_every_rule_is_exported_or_listed_for_every_target() -> None:
    rules = {rule.name for rule in load_rules()}
    for target in (p for p in GOLDEN.iterdir() if p.is_dir()):
        unsupported = {
            line.split(":", 1)[0]
            for line in (target / "unsupported.txt").read_text(encoding="utf-8").splitlines()
        }
        if target.name == "kibana":
            lines = (target / "rules.ndjson").read_text(encoding="utf-8").splitlines()
            names = {
                r.name
                for r in load_rules()
                if str(r.uuid) in {json.loads(x)["rule_id"] for x in lines}
            }
        else:
            names = {p.name.split(".")[0] for p in target.iterdir() if p.name != "unsupported.txt"}
        assert names | unsupported == rules, target.name
        assert not names & unsupported, target.name


def test_sentinel_pipeline_maps_every_field_the_rules_read() -> None:
    """Unmapped, Kusto compares two constant strings and silently never matches."""
    pipeline = yaml.safe_load(
        (builtin_rules_dir() / "pipelines" / "sentinel.yml").read_text(encoding="utf-8")
    )
    mapping = pipeline["transformations"][0]["mapping"]
    used: set[str] = set()
    for rule in load_rules():
        if rule.kind != "history":
            used |= rule_fields(rule)
    assert used <= set(mapping)
    assert all("." not in column for column in mapping.values())
    for query in (GOLDEN / "sentinel").glob("*.kql"):
        text = query.read_text(encoding="utf-8")
        assert text.startswith("OnePasswordEcs_CL\n| where ")
        assert not re.search(r"'[a-z_]+\.[a-z_.]+'", text), f"{query.name}: a dotted name is quoted"


def test_unsupported_rules_are_never_emitted_for_fixed_bucket_targets() -> None:
    for target in ("elasticsearch-esql", "splunk"):
        listed = (GOLDEN / target / "unsupported.txt").read_text(encoding="utf-8")
        for correlation in ("brute_force_user", "password_spray", "brute_force_then_success"):
            assert f"{correlation}: cannot express" in listed
