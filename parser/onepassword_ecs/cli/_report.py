"""``onepassword-ecs report``: the self-contained HTML report of a window of activity."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

from .._errors import InvestigationError
from ._common import EXIT_OK, Streams
from ._files import STDOUT, clashing_files
from ._investigate import add_store_options, open_window, time_zone

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``report`` subcommand."""
    report = commands.add_parser(
        "report",
        help="write a self-contained HTML report (charts and tables) of the store",
        description="Charts of sign-ins, failures, countries, item usage, admin changes, "
        "alerts and anomalies, in one HTML file with no external resources.",
    )
    add_store_options(report)
    report.add_argument(
        "-o",
        "--output",
        default="report.html",
        metavar="FILE",
        help="where to write the HTML (default: report.html; '-' for standard output)",
    )
    scope = report.add_mutually_exclusive_group()
    scope.add_argument("--user", metavar="WHO", help="only this person (uuid, e-mail or name)")
    scope.add_argument("--vault", metavar="WHICH", help="only this vault (its uuid)")
    report.add_argument(
        "--json", action="store_true", help="print the report's figures as JSON instead"
    )
    report.set_defaults(handler=run)


def run(args: argparse.Namespace, streams: Streams) -> int:
    from ..investigate import Investigation, render_report, report_data, terminal_text
    from ..stream import atomic_output

    to_stdout = args.output == "-" or args.json
    problem = clashing_files(
        reads=[("the store", args.store), ("the context file", args.context)],
        writes=[
            ("-o", None if to_stdout else args.output),
            ("standard output", STDOUT if to_stdout else None),
        ],
        stdout=streams.stdout,
    )
    if problem:
        return streams.fail(problem)
    folder = Path(args.output).parent
    if args.output != "-" and not args.json and not folder.is_dir():
        return streams.fail(f"cannot write {args.output}: no folder {folder}")
    try:
        zone, _ = time_zone(args)
        with Investigation.open(args.store) as investigation:
            window = open_window(investigation, args)
            person = investigation.resolve_user(args.user) if args.user else None
            data = report_data(investigation, window, zone=zone, person=person, vault=args.vault)
            if args.json:
                streams.stdout.write(orjson.dumps(data.as_dict()) + b"\n")
                streams.stdout.flush()
                return EXIT_OK
            page = render_report(data, store_name=Path(args.store).name).encode()
    except InvestigationError as exc:
        # Names from the store may be quoted (a person matching several): escaped.
        return streams.fail(terminal_text(str(exc)))
    if args.output == "-":
        streams.stdout.write(page)
        streams.stdout.flush()
        return EXIT_OK
    try:
        with atomic_output(args.output) as handle:
            handle.write(page)
    except OSError as exc:
        return streams.fail(f"cannot write {args.output}: {exc.strerror or exc}")
    streams.say(f"report written to {args.output} ({len(page):,} bytes)")
    return EXIT_OK
