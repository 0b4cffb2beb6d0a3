"""Raw dates passed through under onepassword.* are ones an index accepts, or malformed.

The timestamp parser is lenient on purpose (RFC 3339 allows a lower-case ``z``; a leap
second and ten fractional digits are real senders' habits), but Elasticsearch's strict
date parser refuses those forms. A declared ``date`` field passed through as sent must
therefore be in the strict form; anything else keeps its exact text in
``onepassword.malformed`` so the document still indexes and nothing is lost.
"""

from __future__ import annotations

import orjson
import pytest

from onepassword_ecs import normalize, validate


def _signin_with_login_time(value: str) -> dict[str, object]:
    return {
        "uuid": "DATES",
        "timestamp": "2024-01-02T03:04:05Z",
        "category": "success",
        "session": {"login_time": value},
    }


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-02T03:04:05z",
        "2024-01-02t03:04:05Z",
        "2024-01-02T03:04:05.1234567891Z",
        "2024-12-31T23:59:60Z",
        "2024-01-02T03:04:05+23:00",
    ],
)
def test_a_date_no_index_accepts_is_kept_as_malformed_text(value: str) -> None:
    document = normalize(_signin_with_login_time(value))
    assert validate(document) == []
    vendor = document["onepassword"]
    assert "login_time" not in vendor.get("session", {})
    assert value in orjson.dumps(vendor["malformed"]).decode()


@pytest.mark.parametrize(
    "value", ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123+05:30", "2024-01-02T03:04:05-18:00"]
)
def test_a_strict_date_is_passed_through_unchanged(value: str) -> None:
    document = normalize(_signin_with_login_time(value))
    assert validate(document) == []
    assert document["onepassword"]["session"]["login_time"] == value
