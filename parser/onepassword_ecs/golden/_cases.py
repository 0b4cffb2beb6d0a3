"""Golden cases: raw records beside the ECS documents they must become.

A case is ``<case>.json`` (one raw Events API record) with ``<case>.expected.json``
beside it: either the expected document, or an error expectation
``{"error": {"reason": "...", "path": "..."}}`` (``path`` optional) for a record that
must be rejected. Folders named ``bad`` hold deliberately broken inputs, not cases, and
are skipped, as are folders named ``stages`` (cases of the enrichment and redaction
stages, whose expectations depend on lookup files and rules: tests/test_stage_golden.py).

The same functions serve ``onepassword-ecs check`` and the project's own pytest, so
that a reviewer and CI see the same field-level diffs. Expected files are written only by
:func:`update_case` (``check --update``), in one canonical format, so that ``git diff``
shows exactly what a mapping change did.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from .._errors import NormalizationError
from ..mapping import normalize

__all__ = [
    "MISSING",
    "CaseResult",
    "FieldDiff",
    "GoldenCase",
    "check_case",
    "default_fixtures_dir",
    "diff_documents",
    "discover_cases",
    "expected_bytes",
    "format_diff",
    "update_case",
]

EXPECTED_SUFFIX = ".expected.json"
SKIPPED_FOLDERS = frozenset({"bad", "stages"})
_MAX_SHOWN = 300


class _Missing:
    """Marks the side of a diff where a field does not exist (distinct from ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()


def default_fixtures_dir() -> Path | None:
    """The repository's ``fixtures/`` folder, when running from a source checkout."""
    candidate = Path(__file__).resolve().parents[3] / "fixtures"
    return candidate if candidate.is_dir() else None


@dataclass(frozen=True)
class GoldenCase:
    """One raw record file and where its expectation lives (which may not exist yet)."""

    name: str
    raw_path: Path
    expected_path: Path

    @property
    def has_expected(self) -> bool:
        return self.expected_path.is_file()


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs: dotted path, expected value, actual value.

    Either side may be :data:`MISSING`: a field the document lacks, or one it should
    not have. Arrays are compared (and shown) as whole values.
    """

    path: str
    expected: Any
    got: Any

    @property
    def kind(self) -> str:
        if self.got is MISSING:
            return "missing"
        if self.expected is MISSING:
            return "unexpected"
        return "changed"


@dataclass
class CaseResult:
    """The outcome of one case. ``ok`` when there is nothing to report."""

    case: GoldenCase
    diffs: list[FieldDiff] = field(default_factory=list)
    problem: str | None = None
    """Why the case failed when a field list cannot say it (no expected file, an
    unreadable one, normalize raising instead of returning a document, ...)."""
    actual: dict[str, Any] | None = None
    """What the library produces now: the document, or an error expectation."""

    @property
    def ok(self) -> bool:
        return not self.diffs and self.problem is None


def _is_case_file(path: Path, root: Path) -> bool:
    if path.name.endswith(EXPECTED_SUFFIX):
        return False
    return SKIPPED_FOLDERS.isdisjoint(path.relative_to(root).parts[:-1])


def _case(raw_path: Path, name: str) -> GoldenCase:
    stem = raw_path.name.removesuffix(".json")
    return GoldenCase(name, raw_path, raw_path.with_name(stem + EXPECTED_SUFFIX))


def discover_cases(paths: Iterable[str | Path]) -> list[GoldenCase]:
    """Every raw record file under ``paths`` (folders, searched recursively, or files).

    Cases are named by their path relative to the folder given (``signin_attempts/mfa_ok``)
    and returned sorted by name, each once. Files ending in ``.expected.json`` are
    expectations, not cases; naming one directly selects its case. Raw files without an
    expectation are included: ``check`` reports them, ``--update`` creates them.
    """
    found: dict[Path, GoldenCase] = {}
    for given in map(Path, paths):
        if given.is_dir():
            for raw_path in sorted(given.rglob("*.json")):
                if raw_path.is_file() and _is_case_file(raw_path, given):
                    name = raw_path.relative_to(given).with_suffix("").as_posix()
                    found.setdefault(raw_path.resolve(), _case(raw_path, name))
        else:
            raw_path = given
            if raw_path.name.endswith(EXPECTED_SUFFIX):
                raw_path = raw_path.with_name(raw_path.name.removesuffix(EXPECTED_SUFFIX) + ".json")
            name = raw_path.with_suffix("").as_posix()
            found.setdefault(raw_path.resolve(), _case(raw_path, name))
    return sorted(found.values(), key=lambda case: case.name)


def _error_expectation(exc: NormalizationError) -> dict[str, Any]:
    error: dict[str, Any] = {"reason": exc.reason}
    if exc.path is not None:
        error["path"] = exc.path
    return {"error": error}


def _is_error_expectation(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"error"}
        and isinstance(value["error"], dict)
        and "reason" in value["error"]
    )


def _run(case: GoldenCase) -> tuple[dict[str, Any], NormalizationError | None]:
    """Normalize the raw record; return the document or an error expectation."""
    raw = case.raw_path.read_bytes()
    try:
        return normalize(raw), None
    except NormalizationError as exc:
        return _error_expectation(exc), exc


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted_path, leaf)``; lists and empty objects (below the top) are leaves."""
    if isinstance(value, dict) and (value or not prefix):
        for key, child in value.items():
            yield from _flatten(child, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _same(left: Any, right: Any) -> bool:
    # Python's == says True == 1 == 1.0; a JSON document must not.
    return bool(
        orjson.dumps(left, option=orjson.OPT_SORT_KEYS)
        == orjson.dumps(right, option=orjson.OPT_SORT_KEYS)
    )


def diff_documents(expected: Any, got: Any) -> list[FieldDiff]:
    """Field-level differences between two documents, sorted by path."""
    left = dict(_flatten(expected))
    right = dict(_flatten(got))
    diffs = [
        FieldDiff(path, left.get(path, MISSING), right.get(path, MISSING))
        for path in sorted(left.keys() | right.keys())
        if path not in left or path not in right or not _same(left[path], right[path])
    ]
    return diffs


def _compare(
    expected: Any, actual: dict[str, Any], raised: NormalizationError | None, result: CaseResult
) -> None:
    if _is_error_expectation(expected):
        wanted: dict[str, Any] = expected["error"]
        if raised is None:
            result.problem = "normalize returned a document; the case expects it to be rejected"
            result.diffs = [FieldDiff("error.reason", wanted["reason"], MISSING)]
            return
        # Only the keys the expectation states are checked (reason, and path if given).
        got_error = actual["error"]
        result.diffs = [
            FieldDiff(f"error.{key}", value, got_error.get(key, MISSING))
            for key, value in sorted(wanted.items())
            if not _same(value, got_error.get(key))
        ]
        return
    if raised is not None:
        result.problem = f"normalize rejected the record: {raised}"
        result.diffs = [FieldDiff("error.reason", MISSING, raised.reason)]
        return
    result.diffs = diff_documents(expected, actual)


def check_case(case: GoldenCase) -> CaseResult:
    """Normalize the case's raw record and compare it with its expectation."""
    result = CaseResult(case)
    try:
        actual, raised = _run(case)
    except OSError as exc:
        result.problem = f"cannot read {case.raw_path}: {exc}"
        return result
    result.actual = actual
    if not case.has_expected:
        result.problem = f"no expected file {case.expected_path.name} (create it with --update)"
        return result
    try:
        expected = orjson.loads(case.expected_path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        result.problem = f"cannot read {case.expected_path}: {exc}"
        return result
    _compare(expected, actual, raised, result)
    return result


def _show(value: Any) -> str:
    if value is MISSING:
        return "<missing>"
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def format_diff(result: CaseResult) -> str:
    """A readable report of a failed case ("" when it passed).

    One line per field: ``path: expected X, got Y``, where a side that does not exist
    reads ``<missing>``.
    """
    if result.ok:
        return ""
    lines = [f"FAIL {result.case.name} ({result.case.raw_path})"]
    if result.problem:
        lines.append(f"  {result.problem}")
    lines.extend(
        f"  {diff.path}: expected {_show(diff.expected)}, got {_show(diff.got)}"
        for diff in result.diffs
    )
    return "\n".join(lines) + "\n"


def expected_bytes(document: Any) -> bytes:
    """The canonical text of an expected file: 2-space indent, sorted keys, final newline."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def update_case(case: GoldenCase) -> bool:
    """Make the case pass by rewriting its expected file; return whether it changed.

    A case that already passes is left untouched (even if formatted differently), so
    ``--update`` only produces diffs where the library's output really changed.
    Raises OSError when the raw record cannot be read.
    """
    result = check_case(case)
    if result.ok:
        return False
    if result.actual is None:
        raise OSError(result.problem)
    case.expected_path.write_bytes(expected_bytes(result.actual))
    return True
