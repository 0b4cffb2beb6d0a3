"""``onepassword-ecs report``: a self-contained HTML file that renders in real Chromium.

The figures are checked through ``--json`` against the planted incidents; the HTML is
checked for what "self-contained" promises (no script, no external reference, a table
for every chart); then the page is opened in headless Chromium (tests/chromium.py) and
must load with no failed request and no console error, and draw a non-blank page. A
deliberately broken page goes through the same harness first, so a harness that sees
nothing cannot pass the test.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from chromium import CHROMIUM, load_page
from onepassword_ecs.cli import main
from onepassword_ecs.investigate import ReportData, Section, Window, render_report

# The second half of October, compared with the first half.
WINDOW = ["--since", "2026-10-15", "--until", "2026-10-31", "--baseline", "14d"]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install -y chromium; .ci/run does this)",
)


def run(*argv: str) -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def sections(*argv: str) -> dict[str, dict[str, Any]]:
    status, out, err = run("report", *argv, "--json")
    assert status == 0, err
    return {s["key"]: s for s in orjson.loads(out)["sections"]}


@pytest.fixture(scope="module")
def report_file(activity_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("report") / "report.html"
    status, _, err = run("report", "--store", str(activity_store), *WINDOW, "-o", str(target))
    assert status == 0, err
    assert f"report written to {target}" in err
    return target


class _Page(HTMLParser):
    """Tags, their attributes, and the order of figures and tables per section."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.sections: dict[str, list[str]] = {}
        self._section: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "section":
            self._section = dict(attrs)["id"]
            self.sections[self._section or ""] = []
        elif tag in {"figure", "table"} and self._section:
            self.sections[self._section].append(tag)


def test_report_figures_show_the_incidents(activity_store: Path, activity: ModuleType) -> None:
    planted = activity.PLANTED
    found = sections("--store", str(activity_store), *WINDOW)
    assert found["failures_by_address"]["rows"][0] == [planted.spray_ip, planted.spray_targets]
    countries = {row[0] for row in found["signin_countries"]["rows"]}
    assert {planted.attacker_country, "NL", "CA"} <= countries
    anomalies = [(row[1], row[2]) for row in found["anomalies"]["rows"][:3]]
    assert ("password_spray", planted.spray_ip) in anomalies
    assert ("self_granted_access", planted.insider_email) in anomalies
    assert ("new_country", planted.victim_email) in anomalies
    by_action = dict(map(tuple, found["items_by_action"]["rows"]))
    assert by_action["export"] == 1
    days = {row[0] for row in found["signins_over_time"]["rows"]}
    assert len(days) == 16  # every day of the window has sign-ins
    assert found["alerts"]["rows"] == []  # the store's alerts table (schema 2) is empty


def test_report_for_a_vault_and_for_a_person(activity_store: Path, activity: ModuleType) -> None:
    planted = activity.PLANTED
    vault = sections("--store", str(activity_store), *WINDOW, "--vault", planted.finance_vault)
    assert [row[0] for row in vault["items_by_vault"]["rows"]] == [planted.finance_vault]
    who = {row[2] for row in vault["anomalies"]["rows"]}
    assert {planted.victim_email, planted.insider_email} <= who
    assert planted.spray_ip not in who  # an address is not a person who used the vault
    person = sections("--store", str(activity_store), *WINDOW, "--user", planted.victim_email)
    assert {row[2] for row in person["anomalies"]["rows"]} == {planted.victim_email}
    assert person["failures_by_address"]["rows"][0][0] == planted.attacker_ip


def test_report_is_self_contained(report_file: Path) -> None:
    text = report_file.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)
    assert re.findall(r"url\((?!#)", text) == [] and "@import" not in text  # url(#clip) only
    assert "default-src 'none'" in text
    # Every chart is followed by its table.
    charted = {key: order for key, order in page.sections.items() if "figure" in order}
    assert len(charted) >= 7
    assert all(order == ["figure", "table"] for order in charted.values())


def test_report_escapes_what_it_shows() -> None:
    window = Window(since=0, until=86400 * 10**9, baseline_since=0)
    payload = '<script>alert("x")</script>'
    data = ReportData(payload, window, {"sign-ins": 1})
    data.sections.append(Section("anomalies", "Anomalies", ["who"], [[payload]]))
    text = render_report(data, store_name=payload)
    assert "<script" not in text
    assert "&lt;script&gt;" in text


def test_report_refuses_an_unwritable_place_before_working(activity_store: Path) -> None:
    status, _, err = run("report", "--store", str(activity_store), "-o", "/nonexistent/r.html")
    assert status == 2 and "cannot write /nonexistent/r.html: no folder /nonexistent" in err


@needs_chromium
def test_the_harness_sees_failed_requests_and_console_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title></head>'
        '<body><h1>broken</h1><img src="missing.png">'
        '<script>console.error("from the page")</script></body></html>',
        encoding="utf-8",
    )
    load = load_page(broken, width=400, height=300)
    assert any("ERR_FILE_NOT_FOUND" in problem for problem in load.failed_requests), load
    assert any("from the page" in problem for problem in load.console_errors), load


@needs_chromium
def test_report_renders_in_headless_chromium(report_file: Path) -> None:
    from PIL import Image  # pillow comes with matplotlib

    load = load_page(report_file)
    assert load.problems == []
    image = Image.open(io.BytesIO(load.screenshot)).convert("RGB")
    assert image.size == (1280, 2400)
    counts = image.getcolors(maxcolors=1 << 24)
    assert counts is not None
    total = image.size[0] * image.size[1]
    not_white = sum(count for count, pixel in counts if sum(pixel) < 720)
    assert not_white > total * 0.03, "the screenshot is (nearly) blank"
    assert len(counts) > 50, "the screenshot has too few colors to be charts"
    # The success green and failure red of the sign-in chart are on screen.
    colors = {pixel for _, pixel in counts}
    assert (0x4C, 0x9F, 0x70) in colors and (0xD1, 0x49, 0x5B) in colors
    assert re.match(rb"\x89PNG", load.screenshot)
