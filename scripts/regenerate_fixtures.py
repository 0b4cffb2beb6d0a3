#!/usr/bin/env python3
"""Rewrite the golden expected files under fixtures/ from the current mappers.

A thin wrapper around ``onepassword-ecs check --update fixtures/``, for the moment a
mapping change is intended: the expected files are regenerated, and the diff is what a
person must read before committing, because after this the tests agree with whatever
the code does now, right or wrong.

Usage: python scripts/regenerate_fixtures.py [FOLDER ...]   (default: fixtures/)
"""

from __future__ import annotations

import sys
from pathlib import Path

from onepassword_ecs.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def run(argv: list[str]) -> int:
    folders = argv or [str(FIXTURES)]
    status = main(["check", "--update", *folders])
    if status == 0:
        print(
            "Read `git diff fixtures/` before committing: every changed line is a change "
            "in what the library emits.",
            file=sys.stderr,
        )
    return status


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
