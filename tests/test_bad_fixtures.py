"""Known-bad inputs in ``fixtures/bad/``: each must be rejected with one stable reason.

Each case is ``<case>.input`` (the raw bytes of one record or line: possibly invalid
JSON or invalid UTF-8) beside ``<case>.reason`` (the one reason code it must produce).
The classics are there (invalid and truncated JSON, NaN, non-objects, missing and
unparseable timestamps, invalid UTF-8, unknown shapes) and so are the nasty inputs the
property tests found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from onepassword_ecs import NormalizationError, normalize
from onepassword_ecs._errors import REASONS as DOCUMENTED_REASONS
from strategies import BUGS, is_open

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "bad"
# The documented reason codes, except the one that means a bug.
REASONS = frozenset(DOCUMENTED_REASONS) - {"internal_error"}
# Cases that still fail because of an open bug (strategies.BUGS); strict xfail, so the
# owner's fix shows up as XPASS and the entry must then be deleted.
KNOWN_BUGS: dict[str, str] = {}
# Where the problem is, for the reasons tied to one field or to the record as a whole.
PATHS = {
    "bad_timestamp": "$.timestamp",
    "missing_timestamp": "$.timestamp",
    "not_an_object": "$",
    "duplicate_key": "$.timestamp",
}


def _cases() -> list[Any]:
    params = []
    for source in sorted(BAD.glob("*.input")):
        marks = []
        bug = KNOWN_BUGS.get(source.stem)
        if bug is not None and is_open(bug):
            owner, what = BUGS[bug]
            marks.append(pytest.mark.xfail(strict=True, reason=f"[{bug}] for {owner}: {what}"))
        params.append(pytest.param(source, id=source.stem, marks=marks))
    return params


def test_fixture_folder_is_complete() -> None:
    """Every case has both files, a known reason code, and there are enough cases."""
    inputs = {path.stem for path in BAD.glob("*.input")}
    reasons = {path.stem for path in BAD.glob("*.reason")}
    assert inputs == reasons
    assert len(inputs) >= 12
    for stem in reasons:
        assert (BAD / f"{stem}.reason").read_text().strip() in REASONS, stem
    assert set(KNOWN_BUGS) <= inputs


@pytest.mark.parametrize("source", _cases())
def test_bad_fixture_is_rejected_with_its_reason(source: Path) -> None:
    """normalize(raw bytes) raises NormalizationError with exactly the case's reason, a
    message that names the reason, and a ``$``-rooted path where one applies; the same
    text given as a str (when it is UTF-8) is rejected the same way.
    """
    expected = source.with_suffix(".reason").read_text().strip()
    raw = source.read_bytes()
    with pytest.raises(NormalizationError) as info:
        normalize(raw)
    error = info.value
    assert error.reason == expected
    assert error.detail.strip()
    assert str(error).endswith(f"[{expected}]")
    if error.path is not None:
        assert error.path.startswith("$")
    if expected in PATHS:
        assert error.path == PATHS[expected]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    with pytest.raises(NormalizationError) as again:
        normalize(text)
    assert (again.value.reason, again.value.path) == (error.reason, error.path)
