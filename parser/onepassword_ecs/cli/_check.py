"""``onepassword-ecs check``: golden cases, with a field-level diff for each mismatch."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from ..golden import (
    GoldenCase,
    check_case,
    default_fixtures_dir,
    discover_cases,
    format_diff,
    update_case,
)
from ._common import EXIT_OK, EXIT_REJECTED, Streams

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``check`` subcommand to the parser's subcommands."""
    check = commands.add_parser(
        "check",
        help="run golden cases (<case>.json beside <case>.expected.json)",
        description=(
            "Normalize each golden raw record and compare it with its expected document; "
            "print a field-level diff for each mismatch."
        ),
    )
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="folders (searched recursively) or case files; default: the project's fixtures",
    )
    check.add_argument(
        "--update",
        action="store_true",
        help="rewrite the expected files from the current output (review with git diff!)",
    )
    check.add_argument(
        "--json",
        action="store_true",
        help=(
            "print one compact JSON object instead of diffs: passed, failed, and per failed "
            "case its raw file, the dotted fields that differ and any problem"
        ),
    )
    check.set_defaults(handler=run)


def run(args: argparse.Namespace, streams: Streams) -> int:
    paths: list[Path] = [Path(p) for p in args.paths]
    if not paths:
        fixtures = default_fixtures_dir()
        if fixtures is None:
            return streams.fail(
                "no fixtures folder found next to the package; pass the folders to check"
            )
        paths = [fixtures]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return streams.fail(f"no such file or folder: {', '.join(missing)}")
    cases = discover_cases(paths)
    if not cases:
        return streams.fail(f"no golden cases under {', '.join(map(str, paths))}")
    if args.update:
        return _update(cases, streams)

    def write(text: str) -> None:
        streams.stdout.write(text.encode("utf-8"))

    failures = [result for result in map(check_case, cases) if not result.ok]
    failed = len(failures)
    if args.json:
        summary = {
            "passed": len(cases) - failed,
            "failed": failed,
            "failures": [
                {
                    "case": str(result.case.raw_path),
                    "fields": [diff.path for diff in result.diffs],
                    "problem": result.problem,
                }
                for result in failures
            ],
        }
        streams.stdout.write(orjson.dumps(summary) + b"\n")
        streams.stdout.flush()
        return EXIT_REJECTED if failed else EXIT_OK
    for result in failures:
        write(format_diff(result))
    write(f"{len(cases) - failed} passed, {failed} failed\n")
    streams.stdout.flush()
    return EXIT_REJECTED if failed else EXIT_OK


def _update(cases: Sequence[GoldenCase], streams: Streams) -> int:
    created: list[str] = []
    updated: list[str] = []
    unchanged = 0
    for case in cases:
        existed = case.has_expected
        try:
            changed = update_case(case)
        except OSError as exc:
            return streams.fail(f"{case.name}: {exc}")
        if not changed:
            unchanged += 1
        else:
            (updated if existed else created).append(case.name)
    lines = [f"created {name}" for name in created] + [f"updated {name}" for name in updated]
    lines.append(f"{len(created)} created, {len(updated)} updated, {unchanged} unchanged")
    if created or updated:
        lines.append("Review the changes (git diff) before committing them.")
    streams.stdout.write(("\n".join(lines) + "\n").encode("utf-8"))
    streams.stdout.flush()
    return EXIT_OK
