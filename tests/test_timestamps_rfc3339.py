"""Issue 9, item 10: every RFC 3339 form a real sender may use, a precise reason for the
rest, and ``assume_timezone`` / ``--assume-timezone`` for exports without offsets."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from onepassword_ecs import ArgumentError, NormalizationError, normalize, validate
from records import audit, signin


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # A leap second is the start of the next second: order kept, no instant invented.
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000000000Z"),
        ("2016-12-31T23:59:60.999999999Z", "2017-01-01T00:00:00.000000000Z"),
        ("2017-01-01T00:59:60+01:00", "2017-01-01T00:00:00.000000000Z"),
        ("2016-12-31t23:59:60z", "2017-01-01T00:00:00.000000000Z"),
        # More than nine digits: cut toward zero, never rounded up past the instant.
        ("2025-03-10T15:03:27.1234567891Z", "2025-03-10T15:03:27.123456789Z"),
        ("2025-03-10T15:03:27.9999999999999Z", "2025-03-10T15:03:27.999999999Z"),
        ("2025-12-31T23:59:59.99999999999-01:00", "2026-01-01T00:59:59.999999999Z"),
        ("2025-03-10 15:03:27,5Z", "2025-03-10T15:03:27.500000000Z"),
    ],
)
def test_rfc3339_forms_a_sender_may_use_are_read(raw: str, expected: str) -> None:
    doc = normalize(signin(timestamp=raw))
    assert doc["@timestamp"] == expected
    assert "timezone" not in doc["event"]
    assert validate(doc) == []


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("2016-12-31T12:00:60Z", "second 60 is a leap second, which only exists at 23:59:60 UTC"),
        ("2025-03-10T15:03:27", "without a UTC offset"),
        ("2025-03-10 15:03:27", "--assume-timezone"),
        ("2025-13-10T15:03:27Z", "month 13 does not exist"),
        ("2023-02-29T00:00:00Z", "February 2023 has 28 days, not 29"),
        ("2025-03-10T24:00:00Z", "hour 24 does not exist"),
        ("2025-03-10T23:61:00Z", "minute 61 does not exist"),
        ("2025-03-10T23:59:61Z", "second 61 does not exist"),
        ("0000-01-01T00:00:00Z", "year 0000 does not exist"),
        ("0001-01-01T00:00:00+00:01", "outside the years 0001-9999 once converted to UTC"),
        ("2025-03-10T15:03:27+24:00", "the UTC offset '+24:00' must be ±HH:MM"),
        ("2025-03-10", "a date without a time"),
        ("2025-03-10T15:03Z", "the seconds are missing"),
        ("2025-03-10T15:03:27.Z", "a decimal point must be followed by at least one digit"),
        ("2025-03-10x15:03:27Z", "separated by T, not 'x'"),
        ("2025/03/10 15:03:27Z", "write the date as YYYY-MM-DD"),
        ("2025-3-10T15:03:27Z", "the month '3' must have 2 digits"),
        ("\uff12\uff10\uff12\uff15-03-10T15:03:27Z", "is not written with ASCII digits"),
        ("2025-03-10T15:03:27Z extra", "unexpected ' extra' after the time"),
        (" 2025-03-10T15:03:27Z", "leading or trailing whitespace"),
        ("", "an empty string"),
        ("20250310T150327Z", "ISO 8601, but not the RFC 3339 form"),
    ],
)
def test_refused_timestamps_say_precisely_why(raw: str, why: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize(signin(timestamp=raw))
    assert caught.value.reason == "bad_timestamp"
    assert caught.value.path == "$.timestamp"
    assert why in str(caught.value)


@pytest.mark.parametrize(
    ("zone", "raw", "expected"),
    [
        ("UTC", "2021-12-03 19:52:52", "2021-12-03T19:52:52.000000000Z"),
        ("utc", "2021-12-03T19:52:52.5", "2021-12-03T19:52:52.500000000Z"),
        ("+05:30", "2021-12-03 19:52:52", "2021-12-03T14:22:52.000000000Z"),
        ("-03:00", "2021-12-31 22:00:00.123456789123", "2022-01-01T01:00:00.123456789Z"),
        ("Europe/Paris", "2021-12-03 19:52:52", "2021-12-03T18:52:52.000000000Z"),
        ("Europe/Paris", "2021-07-03 19:52:52", "2021-07-03T17:52:52.000000000Z"),
        ("America/New_York", "2016-12-31 18:59:60", "2017-01-01T00:00:00.000000000Z"),
    ],
)
def test_assume_timezone_reads_offsetless_timestamps(zone: str, raw: str, expected: str) -> None:
    """With a zone named, an offset-less timestamp is read in it; event.timezone says so."""
    doc = normalize(signin(timestamp=raw), assume_timezone=zone)
    assert doc["@timestamp"] == expected
    assert doc["event"]["timezone"] == zone
    assert validate(doc) == []


def test_assume_timezone_never_overrides_an_offset() -> None:
    """A timestamp that carries its offset keeps it; no event.timezone is added."""
    doc = normalize(signin(timestamp="2021-12-03T19:52:52+01:00"), assume_timezone="Asia/Tokyo")
    assert doc["@timestamp"] == "2021-12-03T18:52:52.000000000Z"
    assert "timezone" not in doc["event"]


def test_assume_timezone_reads_session_login_time_too() -> None:
    record = audit(timestamp="2025-03-10 15:03:27")
    record["session"]["login_time"] = "2025-03-10 14:55:02.918"
    doc = normalize(record, assume_timezone="+01:00")
    assert doc["@timestamp"] == "2025-03-10T14:03:27.000000000Z"
    assert doc["onepassword"]["session"]["login_time"] == "2025-03-10T13:55:02.918000000Z"


@pytest.mark.parametrize(
    ("raw", "what"),
    [("2021-03-28 02:30:00", "is skipped"), ("2021-10-31 02:30:00", "happens twice")],
)
def test_assume_timezone_refuses_wall_clock_times_dst_makes_ambiguous(raw: str, what: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize(signin(timestamp=raw), assume_timezone="Europe/Paris")
    assert caught.value.reason == "bad_timestamp"
    assert what in str(caught.value)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "+25:00", "UTC+2", 2, ["UTC"]])
def test_assume_timezone_that_is_no_zone_is_an_argument_error(zone: object) -> None:
    with pytest.raises(ArgumentError, match="time zone"):
        normalize(signin(), assume_timezone=zone)  # type: ignore[arg-type]


def test_cli_assume_timezone(tmp_path: object) -> None:
    """convert --assume-timezone reads offset-less exports; without it they are
    rejected with the hint; an unknown zone is a usage error (exit 2)."""
    line = orjson.dumps(signin(timestamp="2021-12-03 19:52:52")) + b"\n"
    command = [sys.executable, "-m", "onepassword_ecs", "convert", "-q"]
    done = subprocess.run([*command, "--assume-timezone", "UTC"], input=line, capture_output=True)
    assert done.returncode == 0, done.stderr
    doc = orjson.loads(done.stdout)
    assert doc["@timestamp"] == "2021-12-03T19:52:52.000000000Z"
    assert doc["event"]["timezone"] == "UTC"
    refused = subprocess.run(command, input=line, capture_output=True)
    assert refused.returncode == 1
    assert b"--assume-timezone" in refused.stderr
    workers = subprocess.run(
        [*command, "--assume-timezone=-05:00", "--workers", "2"],
        input=line * 3,
        capture_output=True,
    )
    assert workers.returncode == 0, workers.stderr
    assert {orjson.loads(out)["@timestamp"] for out in workers.stdout.splitlines()} == {
        "2021-12-04T00:52:52.000000000Z"
    }
    bad = subprocess.run([*command, "--assume-timezone", "Mars/X"], input=line, capture_output=True)
    assert bad.returncode == 2
    assert b"is not a time zone" in bad.stderr
