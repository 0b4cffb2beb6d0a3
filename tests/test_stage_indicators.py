"""The indicators stage: STIX 2.1, MISP and CSV feeds, CIDR ranges, reload, refusals, CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import normalize, validate
from onepassword_ecs._errors import StageConfigError
from onepassword_ecs.cli import main
from onepassword_ecs.stages import IndicatorMatcher, load_indicators
from onepassword_ecs.stages._indicators import MAX_ENRICHMENTS

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _signin(ip: str, email: str = "bob.tanaka@acme.example", uuid: str = "SGN1") -> dict[str, Any]:
    return normalize(
        {
            "uuid": uuid,
            "session_uuid": "EOKZKF73OIFVYQUPZG5FFVXVGL",
            "timestamp": "2025-03-10T10:00:00Z",
            "category": "success",
            "type": "credentials_ok",
            "country": "CA",
            "target_user": {"uuid": "HTYQKKK7SGHLR5G5S3I3KRIRPU", "name": "Bob", "email": email},
            "client": {
                "app_name": "1Password for Mac",
                "app_version": "81108015",
                "platform_name": "Apple M1",
                "platform_version": "MacBookAir10,1",
                "os_name": "MacOSX",
                "os_version": "14.6.1",
                "ip_address": ip,
            },
        }
    )


def _enrichments(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document.get("threat", {}).get("enrichments", []))


def _stix(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": "bundle--1", "objects": list(objects)}


def _indicator(number: int, pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{number:012d}",
        "created": "2026-11-01T00:00:00Z",
        "modified": "2026-11-02T00:00:00Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-11-01T00:00:00Z",
        **extra,
    }


def _write(path: Path, value: Any) -> Path:
    path.write_bytes(value if isinstance(value, bytes) else orjson.dumps(value))
    return path


STIX = _stix(
    {"type": "identity", "id": "identity--feed", "name": "Example CERT"},
    _indicator(
        1,
        "[ipv4-addr:value = '203.0.113.66']",
        name="C2 node",
        confidence=85,
        created_by_ref="identity--feed",
        external_references=[{"source_name": "cert", "url": "https://cert.example/1"}],
    ),
    _indicator(
        2, "[ipv4-addr:value ISSUBSET '198.51.100.0/24' OR domain-name:value = 'evil.example']"
    ),
    _indicator(3, "[email-addr:value = 'mallory@phish.example']"),
    _indicator(4, "[ipv6-addr:value = '2001:db8:bad::/48']"),
    _indicator(5, "[file:hashes.'SHA-256' = 'aa']"),
    _indicator(6, "[ipv4-addr:value = '192.0.2.1']", revoked=True),
    _indicator(7, "[ipv4-addr:value = '192.0.2.2']", valid_until="2026-01-01T00:00:00Z"),
    _indicator(8, "title: x", pattern_type="sigma"),
    {"type": "relationship", "id": "relationship--1"},
)


def test_stix_bundle_matches_addresses_ranges_emails_and_domains(tmp_path: Path) -> None:
    feed = _write(tmp_path / "feed.json", STIX)
    indicators = load_indicators([feed], now=NOW)
    assert len(indicators) == 5  # the address, the range and the domain, the email, v6
    assert indicators.skipped == {
        "pattern on other objects": 1,
        "revoked": 1,
        "expired (valid_until)": 1,
        "pattern_type sigma": 1,
    }
    matcher = IndicatorMatcher([feed])
    exact = _enrichments(matcher(_signin("203.0.113.66")))
    assert exact == [
        {
            "indicator": {
                "type": "ipv4-addr",
                "ip": "203.0.113.66",
                "name": "C2 node",
                "provider": "Example CERT",
                "confidence": "High",
                "modified_at": "2026-11-02T00:00:00Z",
                "reference": "https://cert.example/1",
            },
            "matched": {
                "atomic": "203.0.113.66",
                "field": "source.ip",
                "id": "indicator--00000000-0000-4000-8000-000000000001",
                "type": "enrichment",
            },
        }
    ]
    inside = _enrichments(matcher(_signin("198.51.100.250")))
    assert [(e["indicator"]["name"], e["matched"]["atomic"]) for e in inside] == [
        ("198.51.100.0/24", "198.51.100.250")
    ]
    assert "ip" not in inside[0]["indicator"]  # a range is no single address
    assert _enrichments(matcher(_signin("198.51.101.1"))) == []
    six = _enrichments(matcher(_signin("2001:db8:bad:1::9")))
    assert six[0]["indicator"]["type"] == "ipv6-addr"
    email = _enrichments(matcher(_signin("192.0.2.9", "Mallory@phish.example")))
    assert [(e["matched"]["field"], e["matched"]["atomic"]) for e in email] == [
        ("user.email", "Mallory@phish.example")  # a sign-in's person is user.*
    ]
    domain = _enrichments(matcher(_signin("192.0.2.9", "eve@mail.evil.example")))
    assert {(e["matched"]["atomic"], e["indicator"]["url"]["domain"]) for e in domain} == {
        ("mail.evil.example", "evil.example")
    }
    for document in (_signin("203.0.113.66"), _signin("192.0.2.9", "eve@evil.example")):
        enriched = matcher(document)
        assert _enrichments(enriched)
        assert validate(enriched) == [], validate(enriched)


def test_misp_export_and_its_objects(tmp_path: Path) -> None:
    event = {
        "Event": {
            "info": "Phishing wave",
            "Orgc": {"name": "Example ISAC"},
            "Attribute": [
                {"type": "ip-src", "value": "203.0.113.5", "uuid": "a-1"},
                {"type": "ip-dst|port", "value": "203.0.113.6|443", "uuid": "a-2"},
                {"type": "sha256", "value": "ab" * 32, "uuid": "a-3"},
                {"type": "email-src", "value": "boss@ceo-fraud.example", "uuid": "a-4"},
                {"type": "ip-src", "value": "192.0.2.55", "to_ids": False, "uuid": "a-5"},
            ],
            "Object": [
                {
                    "name": "domain-ip",
                    "Attribute": [{"type": "domain|ip", "value": "bad.example|192.0.2.77"}],
                }
            ],
        }
    }
    feed = _write(tmp_path / "misp.json", {"response": [event]})
    indicators = load_indicators([feed])
    assert len(indicators) == 5
    assert indicators.skipped == {"MISP type sha256": 1, "to_ids false": 1}
    matcher = IndicatorMatcher([feed])
    found = _enrichments(matcher(_signin("203.0.113.6")))
    assert found[0]["indicator"]["provider"] == "Example ISAC"
    assert found[0]["indicator"]["description"] == "Phishing wave"
    assert found[0]["matched"]["id"] == "a-2"
    assert _enrichments(matcher(_signin("192.0.2.77")))
    assert not _enrichments(matcher(_signin("192.0.2.55")))  # to_ids false: context only
    assert _enrichments(matcher(_signin("192.0.2.1", "x@bad.example")))
    single = _write(tmp_path / "single.json", event)  # one event, not wrapped
    assert len(load_indicators([single])) == 5


def test_csv_feed_with_header_aliases_and_ranges(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "value,type,source\n"
        "203.0.113.7,ip,blocklist\n"
        "# a comment line\n"
        "10.0.0.0/8,ipv4-addr,internal-deny\n"
        "10.1.0.0/16,ipv4-addr,internal-deny-2\n"
        "2001:db8::/32,ipv6-addr,v6\n"
        "phish.example,domain,blocklist\n"
        "eve@acme.example,email,hr\n",
        encoding="utf-8",
    )
    matcher = IndicatorMatcher([feed])
    assert len(matcher.indicators) == 6
    nested = _enrichments(matcher(_signin("10.1.2.3")))
    assert sorted(e["indicator"]["provider"] for e in nested) == [
        "internal-deny",
        "internal-deny-2",
    ]
    assert _enrichments(matcher(_signin("203.0.113.7")))[0]["indicator"]["ip"] == "203.0.113.7"
    assert _enrichments(matcher(_signin("11.0.0.1"))) == []
    assert _enrichments(matcher(_signin("192.0.2.1", "eve@acme.example")))


def test_a_folder_of_feeds_is_read_whole(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", STIX)
    (tmp_path / "b.csv").write_text("192.0.2.200,ip,x\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a feed", encoding="utf-8")
    assert len(load_indicators([tmp_path], now=NOW)) == 6


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("bad.csv", "203.0.113.7,ip,x\n300.1.1.1,ip,x\n", "line 2"),
        ("cols.csv", "203.0.113.7,ip\n", "line 1"),
        ("type.csv", "203.0.113.7,url,x\n", "line 1"),
        ("host-bits.csv", "203.0.113.7/24,ip,x\n", "line 1"),
        ("mixed.csv", "2001:db8::1,ipv4-addr,x\n", "line 1"),
        ("email.csv", "not-an-email,email,x\n", "line 1"),
        (
            "and.json",
            _stix(_indicator(9, "[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '1.2.3.5']")),
            "object 1 (indicator--00000000-0000-4000-8000-000000000009)",
        ),
        (
            "within.json",
            _stix(_indicator(1, "[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS")),
            "object 1",
        ),
        ("like.json", _stix(_indicator(1, "[domain-name:value LIKE '%.example']")), "object 1"),
        (
            "misp.json",
            {"Event": {"Attribute": [{"type": "ip-src", "value": "nope", "uuid": "u-9"}]}},
            "event 1 attribute 1 (u-9)",
        ),
        ("json.json", b'{"type": "bundle", "objects": [', "not valid JSON"),
        ("shape.json", {"something": "else"}, "MISP export"),
    ],
)
def test_a_malformed_feed_is_refused_whole_naming_file_and_entry(
    tmp_path: Path, name: str, content: Any, where: str
) -> None:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        _write(path, content)
    good = _write(tmp_path / "good.json", STIX)
    with pytest.raises(StageConfigError) as refused:
        load_indicators([good, path], now=NOW)
    message = str(refused.value)
    assert str(path) in message and where in message, message


def test_reload_on_change_and_a_broken_reload_keeps_what_was_loaded(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("203.0.113.1,ip,x\n", encoding="utf-8")
    matcher = IndicatorMatcher([feed], recheck_seconds=0)
    assert _enrichments(matcher(_signin("203.0.113.1")))
    feed.write_text("203.0.113.2,ip,x\n203.0.113.3,ip,x\n", encoding="utf-8")
    os.utime(feed, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    for _ in range(20):  # the clock is read every few records on a busy stream
        matcher(_signin("192.0.2.1"))
    assert _enrichments(matcher(_signin("203.0.113.2")))
    assert not _enrichments(matcher(_signin("203.0.113.1")))
    feed.write_text("203.0.113.2,ip,x\nbroken\n", encoding="utf-8")
    os.utime(feed, ns=(time.time_ns(), time.time_ns() + 10_000_000_000))
    for _ in range(20):
        matcher(_signin("192.0.2.1"))
    assert matcher.problem is not None and "line 2" in matcher.problem
    assert _enrichments(matcher(_signin("203.0.113.3")))  # the last good feed still holds


def test_the_stage_pickles_as_its_paths(tmp_path: Path) -> None:
    feed = _write(tmp_path / "feed.json", STIX)
    matcher = IndicatorMatcher([feed])
    data = pickle.dumps(matcher)
    assert b"203.0.113.66" not in data  # workers load their own copy
    copy = pickle.loads(data)
    assert _enrichments(copy(_signin("203.0.113.66")))


def test_withheld_values_when_redacting(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("198.51.100.0/24,ip,x\nbob.tanaka@acme.example,email,y\n", encoding="utf-8")
    matcher = IndicatorMatcher([feed], withhold=True)
    enriched = matcher(_signin("198.51.100.9"))
    text = json.dumps(enriched["threat"])
    assert "198.51.100" not in text and "bob.tanaka" not in text
    fields = [e["matched"]["field"] for e in enriched["threat"]["enrichments"]]
    assert fields == ["source.ip", "user.email"]
    assert all("atomic" not in e["matched"] for e in enriched["threat"]["enrichments"])


def test_enrichments_per_document_are_bounded(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "".join(f"10.0.0.0/{n},ip,x\n" for n in range(8, 33) if n != 32) + "10.0.0.0,ip,x\n",
        encoding="utf-8",
    )
    enriched = IndicatorMatcher([feed])(_signin("10.0.0.0"))
    assert len(enriched["threat"]["enrichments"]) == MAX_ENRICHMENTS


def _convert(*args: str) -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.StringIO()
    try:
        code = main(["convert", "--quiet", *args], stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _raw_signin(ip: str, uuid: str) -> bytes:
    record = {
        "uuid": uuid,
        "session_uuid": "EOKZKF73OIFVYQUPZG5FFVXVGL",
        "timestamp": "2025-03-10T10:00:00Z",
        "category": "success",
        "type": "credentials_ok",
        "country": "CA",
        "target_user": {"uuid": "HTYQKKK7SGHLR5G5S3I3KRIRPU", "email": "bob@acme.example"},
        "client": {"app_name": "1Password for Mac", "ip_address": ip},
    }
    return orjson.dumps(record) + b"\n"


def test_convert_indicators_option_and_the_rule_downstream(tmp_path: Path) -> None:
    raw = tmp_path / "raw.ndjson"
    raw.write_bytes(_raw_signin("203.0.113.66", "S1") + _raw_signin("192.0.2.1", "S2"))
    first = _write(tmp_path / "stix.json", STIX)
    second = tmp_path / "extra.csv"
    second.write_text("192.0.2.1,ip,extra\n", encoding="utf-8")
    out = tmp_path / "out.ndjson"
    code, _, err = _convert(
        str(raw), "-o", str(out), "--indicators", str(first), "--indicators", str(second)
    )
    assert code == 0, err
    documents = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [len(_enrichments(d)) for d in documents] == [1, 1]
    code = main(["detect", str(out), "-o", str(tmp_path / "alerts.ndjson")], stdout=io.BytesIO())
    alerts = [orjson.loads(x) for x in (tmp_path / "alerts.ndjson").read_bytes().splitlines()]
    assert sorted(
        a["onepassword"]["alert"]["event_ids"][0]
        for a in alerts
        if a["rule"]["id"] == "signin_from_known_bad_address"
    ) == ["S1", "S2"]


def test_convert_refuses_a_malformed_feed_before_reading(tmp_path: Path) -> None:
    raw = tmp_path / "raw.ndjson"
    raw.write_bytes(_raw_signin("203.0.113.66", "S1"))
    feed = tmp_path / "bad.csv"
    feed.write_text("203.0.113.66,ip,x\n203.0.113.999,ip,x\n", encoding="utf-8")
    out = tmp_path / "out.ndjson"
    code, _, err = _convert(str(raw), "-o", str(out), "--indicators", str(feed))
    assert code == 2
    assert str(feed) in err and "line 2" in err
    assert not out.exists()


def test_convert_with_workers_and_redaction_in_real_processes(tmp_path: Path) -> None:
    raw = tmp_path / "raw.ndjson"
    raw.write_bytes(b"".join(_raw_signin(f"198.51.100.{n % 250}", f"S{n}") for n in range(4200)))
    feed = tmp_path / "feed.csv"
    feed.write_text("198.51.100.0/25,ip,x\n", encoding="utf-8")
    command = [sys.executable, "-m", "onepassword_ecs", "convert", "--quiet", str(raw)]
    command += ["--indicators", str(feed), "--workers", "2", "--redact", "addresses=mask"]
    done = subprocess.run(command, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    documents = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert len(documents) == 4200
    matched = [d for d in documents if _enrichments(d)]
    assert len(matched) == sum(1 for n in range(4200) if n % 250 < 128)
    assert b"198.51.100." not in done.stdout  # neither the document's nor the enrichment's


def test_collect_and_convert_offer_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("convert", "collect"):
        with contextlib.suppress(SystemExit):  # argparse's own exit after the help
            main([command, "--help"], stdout=io.BytesIO(), stderr=io.StringIO())
        assert "--indicators PATH" in capsys.readouterr().out, command
