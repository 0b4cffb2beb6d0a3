"""``onepassword-ecs investigate user|vault|item|ip|anomalies``: questions to the store.

Argument parsing and output only; the questions are answered by the ``investigate``
room. The options every investigation shares (``--store``, ``--since``, ``--until``,
``--baseline``, ``--timezone``/``--context``, ``--json``) are defined once here, in
:func:`add_store_options` and :func:`open_window`, and reused by ``report`` and ``mcp``.
"""

from __future__ import annotations

import argparse
import shutil
import tomllib
from collections.abc import Callable
from datetime import UTC, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from .._errors import InvestigationError
from ._common import EXIT_OK, Streams, positive_int
from ._files import STDOUT, clashing_files

__all__ = ["add_store_options", "open_window", "register", "time_zone"]

_DEFAULT_LIMIT = 50


def add_store_options(parser: argparse.ArgumentParser, *, window: bool = True) -> None:
    parser.add_argument("--store", required=True, metavar="PATH", help="the event store file")
    if window:
        parser.add_argument(
            "--since",
            metavar="T",
            help="window start: 2026-10-24, 2026-10-24T08:00:00Z or 7d (ago); "
            "default: 7 days before --until",
        )
        parser.add_argument(
            "--until", metavar="T", help="window end (exclusive); default: after the newest event"
        )
        parser.add_argument(
            "--baseline",
            default="30d",
            metavar="DURATION",
            help="the period before the window to compare with (default: 30d)",
        )
    parser.add_argument(
        "--timezone", metavar="TZ", help="IANA time zone for active hours (default: UTC)"
    )
    parser.add_argument(
        "--context",
        metavar="FILE",
        help="context TOML file; its working_hours.timezone is used when --timezone is not given",
    )


def time_zone(args: argparse.Namespace) -> tuple[tzinfo, str]:
    name = args.timezone
    if name is None and args.context:
        try:
            with open(args.context, "rb") as handle:
                context = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvestigationError(f"--context {args.context}: {exc}") from None
        except UnicodeDecodeError:
            raise InvestigationError(f"--context {args.context}: not UTF-8 text") from None
        hours = context.get("working_hours")
        name = hours.get("timezone") if isinstance(hours, dict) else None
    if not name or name.upper() == "UTC":
        return UTC, "UTC"
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        raise InvestigationError(f"unknown time zone {name!r} (use an IANA name)") from None


def open_window(investigation: Any, args: argparse.Namespace) -> Any:
    """The window the arguments ask for, with defaults from the store's newest event."""
    from ..investigate import parse_duration, parse_time, resolve_window

    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    baseline: timedelta = parse_duration(args.baseline)
    return resolve_window(since, until, newest_ns=investigation.newest_ns(), baseline=baseline)


def register(commands: Any) -> None:
    """Add ``investigate`` and its five questions."""
    investigate = commands.add_parser(
        "investigate",
        help="ask the event store about a person, vault, item, address, or anomalies",
        description="Timelines, profiles, access reports and ranked anomalies from the store.",
    )
    questions = investigate.add_subparsers(dest="question", required=True, metavar="QUESTION")
    specs: tuple[tuple[str, str | None, str], ...] = (
        (
            "user",
            "WHO",
            "a person's timeline and profile against their baseline (uuid, e-mail or name)",
        ),
        ("vault", "WHICH", "who used or changed a vault (its uuid)"),
        ("item", "WHICH", "who used or changed an item (its uuid)"),
        ("ip", "ADDRESS", "every person and event from an address"),
        ("anomalies", None, "ranked outliers across everyone, with evidence"),
    )
    for name, metavar, text in specs:
        parser = questions.add_parser(name, help=text, description=text)
        if metavar:
            parser.add_argument("subject", metavar=metavar)
        add_store_options(parser)
        parser.add_argument(
            "--limit",
            type=positive_int,
            default=20 if name == "anomalies" else _DEFAULT_LIMIT,
            help="most findings or events to list (default: %(default)s)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.add_argument("--width", type=positive_int, help=argparse.SUPPRESS)
        parser.set_defaults(handler=run)


def run(args: argparse.Namespace, streams: Streams) -> int:
    problem = clashing_files(
        reads=[("the store", args.store), ("the context file", args.context)],
        writes=[("standard output", STDOUT)],
        stdout=streams.stdout,
    )
    if problem:
        return streams.fail(problem)
    try:
        result, render = _answer(args)
    except InvestigationError as exc:
        from ..investigate import terminal_text

        # Messages may quote stored names ("matches several people: ..."): escaped.
        return streams.fail(terminal_text(str(exc)))
    if args.json:
        streams.stdout.write(orjson.dumps(result.as_dict(), default=str) + b"\n")
    else:
        terminal = _is_terminal(streams.stdout)
        width = args.width or (shutil.get_terminal_size().columns if terminal else None)
        streams.stdout.write(render(terminal, width).encode())
    streams.stdout.flush()
    return EXIT_OK


class _Findings:
    def __init__(self, findings: list[Any], window: Any) -> None:
        self.findings, self.window = findings, window

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window.as_dict(),
            "findings": [finding.as_dict() for finding in self.findings],
        }


def _answer(args: argparse.Namespace) -> tuple[Any, Callable[[bool, int | None], str]]:
    from .. import investigate as inv

    zone, zone_name = time_zone(args)
    with inv.Investigation.open(args.store) as investigation:
        window = open_window(investigation, args)
        question = args.question
        if question == "user":
            person = investigation.resolve_user(args.subject)
            report = inv.investigate_user(
                investigation, person, window, zone=zone, zone_name=zone_name, limit=args.limit
            )
            return report, lambda t, w: inv.render_user(report, terminal=t, width=w)
        if question == "anomalies":
            findings = inv.find_anomalies(investigation, window, zone=zone, limit=args.limit)
            result = _Findings(findings, window)
            return result, lambda t, w: inv.render_anomalies(findings, window, terminal=t, width=w)
        lookup = {
            "vault": investigation.vault_events,
            "item": investigation.item_events,
            "ip": investigation.ip_events,
        }[question]
        if question == "ip":
            _check_address(args.subject)
        kind = "address" if question == "ip" else question
        events = lookup(args.subject, window.since, window.until)
        access = inv.access_report(kind, args.subject.strip(), window, events, limit=args.limit)
        if not access.timeline.total and next(iter(lookup(args.subject, None, None)), None) is None:
            raise InvestigationError(_NOT_FOUND[question].format(args.subject.strip()[:80]))
        return access, lambda t, w: inv.render_access(access, terminal=t, width=w)


# "Not found" is a usage error (exit 2): the subject appears in no stored event at all,
# so the question was asked of the wrong store or with a mistyped value. A subject that
# is known but quiet in the window is an answer (exit 0, "0 events").
_NOT_FOUND = {
    "vault": (
        "vault {!r} appears in no stored event; vaults are named by uuid (see a person's "
        "timeline: investigate user NAME --store PATH)"
    ),
    "item": (
        "item {!r} appears in no stored event; items are named by uuid (see a person's "
        "timeline: investigate user NAME --store PATH)"
    ),
    "ip": (
        "address {!r} appears in no stored event (see investigate anomalies --store PATH "
        "for the addresses seen)"
    ),
}


def _check_address(text: str) -> None:
    import ipaddress

    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        raise InvestigationError(f"not an IP address: {text.strip()[:80]!r}") from None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
