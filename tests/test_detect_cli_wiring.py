"""``detect`` wired to the rules round two: ``--indicators`` on files, and thresholds
for the rules of a custom ``--rules`` folder."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from onepassword_ecs.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "events.ndjson"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue().decode(), err.getvalue()


def _rules(alerts: str) -> list[str]:
    return sorted(json.loads(line)["rule"]["id"] for line in alerts.splitlines())


def test_detect_matches_indicators_on_files(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("value,type,source\n198.51.100.0/24,ipv4-addr,test-feed\n")
    status, out, err = run("detect", str(EXAMPLE), "--indicators", str(feed), "-o", "-")
    assert status == 3, err
    assert "signin_from_known_bad_address" in _rules(out)
    status, out, err = run("detect", str(EXAMPLE), "-o", "-")  # without the feed: not raised
    assert "signin_from_known_bad_address" not in _rules(out)


def test_detect_indicators_with_the_store_is_a_usage_error(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("value,type,source\n198.51.100.143,ipv4-addr,test-feed\n")
    status, _, err = run("detect", "--store", str(tmp_path / "s.db"), "--indicators", str(feed))
    assert status == 2 and "convert/collect --indicators" in err


def test_thresholds_may_name_a_rule_of_a_custom_folder(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(ROOT / "rules" / "brute_force_user.yml", folder / "my_brute_force.yml")
    text = (folder / "my_brute_force.yml").read_text()
    (folder / "my_brute_force.yml").write_text(text.replace("brute_force_user", "my_brute_force"))
    context = tmp_path / "context.toml"
    context.write_text("[thresholds.my_brute_force]\ncount = 3\n")
    status, _, err = run(
        "detect", str(EXAMPLE), "--rules", str(folder), "--context", str(context), "-o", "-"
    )
    assert status in (0, 1, 3), err
    assert "no rule has this id" not in err
    context.write_text("[thresholds.not_a_rule_here]\ncount = 3\n")
    status, _, err = run(
        "detect", str(EXAMPLE), "--rules", str(folder), "--context", str(context), "-o", "-"
    )
    assert status == 2 and "no rule has this id" in err
