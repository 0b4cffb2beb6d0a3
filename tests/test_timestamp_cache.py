"""The per-minute timestamp cache: it must hit once per minute and never change a result.

``to_utc`` answers from a cache keyed on the validated ``YYYY-MM-DDTHH:MM`` prefix and
zone, checking only the seconds and fraction by hand. These tests hold it to the careful
parser: for any text whose minute is already cached, the answer (or the refusal, with
its exact message) must be the one the careful path gives with an empty cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.mapping import _timestamps
from strategies import _near_miss_edits, timestamps

# Edits that keep the cached minute but break (or stretch) the seconds and fraction:
# the only parts a cache hit checks by hand.
_SECOND_EDITS: list[Callable[[str], str]] = [
    lambda t: t[:17] + "60" + t[19:],
    lambda t: t[:17] + "6" + t[18:],
    lambda t: t[:17] + "9" + t[18:],
    lambda t: t[:17] + "5x" + t[19:],
    lambda t: t[:17] + "\u0665" + t[18:],
    lambda t: t[:16] + "." + t[17:],
    lambda t: t[:19] + "." + t[-1:] if t[-1] in "Zz" else t[:19] + "." + t[-6:],
    lambda t: t[:19] + ".1234567891" + ("Z" if t[-1] in "Zz" else t[-6:]),
    lambda t: t[:19] + ",5" + ("Z" if t[-1] in "Zz" else t[-6:]),
    lambda t: t[:19] + ".\uff15" + ("Z" if t[-1] in "Zz" else t[-6:]),
    lambda t: t[:18] + ("Z" if t[-1] in "Zz" else t[-6:]),
    lambda t: t[:16] + ("Z" if t[-1] in "Zz" else t[-6:]),
    lambda t: t[:19] + "+" + t[-5:] if t[-1] not in "Zz" else t,
    lambda t: t.replace(":", "", 1),
]


def _careful(text: str) -> tuple[str, str]:
    """What the careful parser says about ``text``: ("ok", value) or (reason, message)."""
    saved = dict(_timestamps._MINUTES)
    _timestamps._MINUTES.clear()
    try:
        return ("ok", _timestamps._to_utc_carefully(text, "timestamp"))
    except NormalizationError as error:
        return (error.reason, str(error))
    finally:
        _timestamps._MINUTES.clear()
        _timestamps._MINUTES.update(saved)


def _cached(text: str) -> tuple[str, str]:
    try:
        return ("ok", _timestamps.to_utc(text, "timestamp"))
    except NormalizationError as error:
        return (error.reason, str(error))


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    _timestamps._MINUTES.clear()
    yield
    _timestamps._MINUTES.clear()


def test_one_careful_parse_per_minute_and_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    careful = _timestamps._to_utc_carefully
    calls: list[str] = []

    def counting(value: object, path: str, assume: object = None) -> str:
        calls.append(str(value))
        return careful(value, path)

    monkeypatch.setattr(_timestamps, "_to_utc_carefully", counting)
    zones = ("Z", "+05:30", "-03:00")
    texts = [
        f"2024-02-29T23:{minute:02d}:{second:02d}{fraction}{zone}"
        for zone in zones
        for minute in (58, 59)
        for second in range(60)
        for fraction in ("", ".5", ".123456", ".123456789")
    ]
    answers = [_timestamps.to_utc(text, "timestamp") for text in texts]
    assert len(calls) == len(zones) * 2  # one per minute and zone, then only hits
    monkeypatch.setattr(_timestamps, "_to_utc_carefully", careful)
    assert answers == [_careful(text)[1] for text in texts]
    assert (
        _timestamps.to_utc("2024-02-29T23:59:59.5+05:30", "t") == "2024-02-29T18:29:59.500000000Z"
    )
    assert _timestamps.to_utc("2024-02-29T23:59:07-03:00", "t") == "2024-03-01T02:59:07.000000000Z"


def test_the_cache_stays_bounded() -> None:
    for hour in range(24):
        for minute in range(60):
            for day in range(1, 5):
                _timestamps.to_utc(f"2024-01-{day:02d}T{hour:02d}:{minute:02d}:00Z", "t")
                assert len(_timestamps._MINUTES) <= _timestamps._MINUTES_MAX


@given(timestamps(), st.sampled_from(_SECOND_EDITS))
def test_a_hit_checks_seconds_and_fraction_like_the_careful_path(
    base: str, edit: Callable[[str], str]
) -> None:
    _timestamps.to_utc(base, "timestamp")  # caches the minute
    text = edit(base)
    assert _cached(text) == _careful(text)


@given(timestamps(), st.sampled_from(_near_miss_edits()))
def test_near_misses_of_a_warm_minute_agree_with_the_careful_path(
    base: str, edit: Callable[[str], str]
) -> None:
    _timestamps.to_utc(base, "timestamp")
    text = edit(base)
    assert _cached(text) == _careful(text)
