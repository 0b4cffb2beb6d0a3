"""The one grammar of time points and spans (``onepassword_ecs._time``).

Every command that takes ``--since``/``--until`` or a span goes through it; the
per-command tests in ``tests/test_cli_grammar.py`` check that each command really does.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onepassword_ecs import ArgumentError
from onepassword_ecs._time import (
    MAX_SPAN_SECONDS,
    check_window,
    format_ns,
    parse_moment,
    parse_span,
)

NS = 1_000_000_000
NOW = int(datetime(2026, 12, 3, 12, 0, tzinfo=UTC).timestamp()) * NS


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("2h", 7200),
        ("7d", 604800),
        ("2w", 1209600),
        ("500ms", 0.5),
        ("45", 45),
        ("1.5h", 5400),
        (" 90m ", 5400),
    ],
)
def test_span_forms(text: str, seconds: float) -> None:
    assert parse_span(text) == seconds


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0", "longer than zero"),
        ("0s", "longer than zero"),
        ("-5m", "positive"),
        ("9999999999w", "at most 3650d"),
        ("3651d", "at most 3650d"),
        ("1e400", "expected a number with a unit"),
        ("soon", "expected a number with a unit"),
        ("5 minutes", "expected a number with a unit"),
        ("nan", "expected a number with a unit"),
        ("", "expected a number with a unit"),
    ],
)
def test_spans_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ArgumentError, match=says):
        parse_span(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T10:00:00Z", datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01t10:00:00z", datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01T12:00:00+02:00", datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01", datetime(2025, 3, 1, tzinfo=UTC)),
        ("7d", datetime(2026, 11, 26, 12, tzinfo=UTC)),
        ("2w", datetime(2026, 11, 19, 12, tzinfo=UTC)),
        ("90m", datetime(2026, 12, 3, 10, 30, tzinfo=UTC)),
    ],
)
def test_time_point_forms(text: str, expected: datetime) -> None:
    assert parse_moment(text, now_ns=NOW) == int(expected.timestamp()) * NS


def test_time_points_keep_sub_second_precision() -> None:
    assert parse_moment("2025-03-01T10:00:00.123456Z") % NS == 123_456_000


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("9999-12-31", "after 2261"),
        ("2262-04-12T00:00:00Z", "after 2261"),
        ("1969-12-31", "before 1970"),
        ("2025-03-01T10:00:00", "no UTC offset"),
        ("2025-02-30", "not a calendar date"),
        ("yesterday", "expected an RFC 3339 time"),
        ("9999999999w", "at most 3650d"),
        ("0d", "longer than zero"),
        ("2025", "has no unit"),
    ],
)
def test_time_points_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ArgumentError, match=says):
        parse_moment(text, now_ns=NOW)


def test_a_long_value_is_never_echoed_whole() -> None:
    secret = "x" * 200
    with pytest.raises(ArgumentError) as caught:
        parse_moment(secret)
    assert secret not in str(caught.value)
    assert len(str(caught.value)) < 250


def test_a_future_since_and_an_empty_window_are_refused() -> None:
    with pytest.raises(ArgumentError, match="in the future"):
        check_window(NOW + NS, None, now_ns=NOW)
    with pytest.raises(ArgumentError, match="not after --since"):
        check_window(NOW - 10 * NS, NOW - 20 * NS, now_ns=NOW)
    with pytest.raises(ArgumentError, match="not after --since"):
        check_window(NOW - 10 * NS, NOW - 10 * NS, now_ns=NOW)
    check_window(NOW - 20 * NS, NOW - 10 * NS, now_ns=NOW)  # a real window passes
    check_window(None, NOW + 10 * NS, now_ns=NOW)  # a future --until is fine


@given(st.integers(min_value=1, max_value=MAX_SPAN_SECONDS), st.sampled_from("smhdw"))
def test_any_span_in_range_is_read_back_exactly(number: int, unit: str) -> None:
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    if number * factor > MAX_SPAN_SECONDS:
        with pytest.raises(ArgumentError):
            parse_span(f"{number}{unit}")
    else:
        assert parse_span(f"{number}{unit}") == number * factor


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2261, 12, 30)))
def test_a_formatted_time_parses_back(moment: datetime) -> None:
    ns = int(moment.replace(tzinfo=UTC).timestamp()) * NS
    assert parse_moment(format_ns(ns)) == ns
