"""Golden cases: raw records beside the documents they must become (``check``)."""

from __future__ import annotations

from ._cases import (
    CaseResult,
    GoldenCase,
    check_case,
    default_fixtures_dir,
    discover_cases,
    format_diff,
    update_case,
)

__all__ = [
    "CaseResult",
    "GoldenCase",
    "check_case",
    "default_fixtures_dir",
    "discover_cases",
    "format_diff",
    "update_case",
]
