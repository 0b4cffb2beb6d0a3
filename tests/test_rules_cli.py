"""``rules list`` (table and ``--json``), the export layout, and threshold ids checked."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from onepassword_ecs._errors import DetectionError
from onepassword_ecs.cli import main
from onepassword_ecs.detect import (
    TARGETS,
    UNSUPPORTED_FILE,
    context_from_mapping,
    describe_rules,
    export_files,
    export_rule,
    load_context,
    load_rules,
    write_export,
)


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.StringIO()
    code = main(list(args), stdin=io.BytesIO(b""), stdout=out, stderr=err)
    return code, out.getvalue().decode(), err.getvalue()


def _listing(*args: str) -> dict[str, Any]:
    code, out, err = _run("rules", "list", "--json", *args)
    assert code == 0, err
    assert out.count("\n") == 1  # compact: one line, one object
    document = json.loads(out)
    assert isinstance(document, dict)
    return document


def test_json_listing_describes_every_rule() -> None:
    listed = _listing()
    rules = {rule["name"]: rule for rule in listed["rules"]}
    assert listed["count"] == len(load_rules()) == len(rules)
    assert listed["running"] == sum(1 for rule in rules.values() if rule["runs"])
    assert listed["context"] == "(defaults)"
    admin = rules["admin_action_by_non_admin"]
    assert admin["runs"] is False and admin["waits_for"] == ["admins"]
    assert "provisioning_actors" in admin["optional_lists"]
    assert set(admin["unsupported"]) == set(TARGETS) and admin["exports"] == []
    after = rules["vault_export_after_activation"]
    assert after["kind"] == "correlation" and after["thresholds"] == ["window"]
    assert after["exports"] == []
    assert "ordered" in after["unsupported"]["splunk"]
    other = rules["vault_permission_changed_by_other"]
    assert other["runs"] is True and other["optional_lists"] == ["privileged_vaults"]
    # field references (the target user is not the actor): ES|QL and Spark SQL only
    assert other["exports"] == ["elasticsearch-esql", "spark"]
    assert "FieldRef" in other["unsupported"]["splunk"]
    assert rules["admin_activity_off_hours"]["settings"] == ["working_hours"]
    assert rules["brute_force_user"]["thresholds"] == ["window", "count"]
    for rule in rules.values():  # every target is either exported or has a reason
        assert set(rule["exports"]) | set(rule["unsupported"]) == set(TARGETS)
        assert not set(rule["exports"]) & set(rule["unsupported"])


def test_the_cli_prints_what_the_library_describes() -> None:
    assert _listing() == describe_rules(load_rules(), load_context(None))


def test_json_listing_follows_the_context(tmp_path: Path) -> None:
    context = tmp_path / "ctx.toml"
    context.write_text('admins = ["alice.kowalski@acme.example"]\n', encoding="utf-8")
    rules = {r["name"]: r for r in _listing("--context", str(context))["rules"]}
    assert rules["admin_action_by_non_admin"]["runs"] is True
    assert "splunk" in rules["admin_action_by_non_admin"]["exports"]


def test_table_shows_new_rules_and_what_they_use() -> None:
    code, out, err = _run("rules", "list")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    assert "admins, privileged_groups?" in rows["admin_action_by_non_admin"]
    assert "provisioning_actors?" in rows["admin_activity_off_hours"]
    assert "[window]" in rows["vault_export_after_activation"]
    assert "privileged_vaults?" in rows["vault_permission_changed_by_other"]


def test_export_layout_lives_in_the_detect_room(tmp_path: Path) -> None:
    context = context_from_mapping({})
    rules = load_rules()
    conversions = [export_rule(rule, "splunk", context) for rule in rules]
    files = export_files("splunk", conversions)
    listed = write_export(tmp_path / "splunk", "splunk", conversions)
    assert listed == tmp_path / "splunk" / UNSUPPORTED_FILE
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "splunk").iterdir()}
    assert on_disk == files
    exported = {name.removesuffix(".spl") for name in files if name.endswith(".spl")}
    unsupported = {line.split(":")[0] for line in files[UNSUPPORTED_FILE].splitlines()}
    assert exported | unsupported == {rule.name for rule in rules}
    assert not exported & unsupported
    kibana = export_files("kibana", [export_rule(rule, "kibana", context) for rule in rules])
    assert set(kibana) == {"rules.ndjson", UNSUPPORTED_FILE}


def test_export_command_writes_the_same_layout(tmp_path: Path) -> None:
    code, _out, err = _run("rules", "export", "--target", "splunk", "-o", str(tmp_path))
    assert code == 0, err
    context = context_from_mapping({})
    expected = export_files("splunk", [export_rule(r, "splunk", context) for r in load_rules()])
    got = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "splunk").iterdir()}
    assert got == expected


def test_unknown_rule_id_under_thresholds_is_refused(tmp_path: Path) -> None:
    context = tmp_path / "ctx.toml"
    context.write_text("[thresholds.brute_force_usr]\ncount = 3\n", encoding="utf-8")
    with pytest.raises(DetectionError, match=r"thresholds\.brute_force_usr.*brute_force_user"):
        load_context(context)
    code, _out, err = _run("rules", "list", "--context", str(context))
    assert code == 2 and "brute_force_usr" in err
    code, _out, err = _run("detect", "--context", str(context), str(tmp_path / "none.ndjson"))
    assert code == 2 and "no rule has this id" in err
    known = tmp_path / "known.toml"
    known.write_text("[thresholds.brute_force_user]\ncount = 3\n", encoding="utf-8")
    assert load_context(known).threshold("brute_force_user", "count") == 3


def test_thresholds_for_a_rule_of_another_folder_need_its_name() -> None:
    data = {"thresholds": {"my_rule": {"window": "1h"}}}
    with pytest.raises(DetectionError, match="my_rule"):
        context_from_mapping(data)
    assert context_from_mapping(data, rule_names={"my_rule"}).threshold("my_rule", "window")
