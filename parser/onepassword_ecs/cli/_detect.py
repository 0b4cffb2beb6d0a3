"""``onepassword-ecs detect``: run the rule pack over events and write the alerts.

Exit status: 0 no new alert, 3 new alerts written (so a script can branch on it), 2 the
run could not be done as asked (bad option, unreadable input, invalid rule or context).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from .._errors import DetectionError, StoreError
from ._common import EXIT_OK, PROG, Streams

__all__ = ["EXIT_ALERTS", "add_rule_options", "register"]

EXIT_ALERTS = 3


def _moment(value: str) -> int:
    """Nanoseconds for ``--since``/``--until``: an RFC 3339 time, or a span back from now."""
    from ..detect import parse_duration

    try:
        return time.time_ns() - parse_duration(value) * 1_000_000_000
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an RFC 3339 time (2025-03-01T00:00:00Z) or a span such as 24h or 7d, "
            f"got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def add_rule_options(parser: argparse.ArgumentParser) -> None:
    """``--context`` and ``--rules``, shared by ``detect`` and ``rules``."""
    parser.add_argument(
        "--context", metavar="FILE", help="context file (TOML): admins, lists, thresholds"
    )
    parser.add_argument(
        "--rules",
        metavar="DIR",
        action="append",
        help="rule folder to use instead of the shipped pack (repeatable)",
    )


def register(commands: Any) -> None:
    """Add the ``detect`` subcommand."""
    detect = commands.add_parser(
        "detect",
        help="run the detection rules and write alerts",
        description="Run every enabled rule over ECS documents (or raw Events API records, "
        "normalized first) or over the event store, and write one alert per line. "
        "Exit status 0 when no new alert, 3 when alerts were written, 2 on a usage error.",
    )
    detect.add_argument(
        "inputs", nargs="*", metavar="INPUT", help="NDJSON files (default: standard input)"
    )
    detect.add_argument(
        "--store", metavar="PATH", help="read events from the event store and remember alerts there"
    )
    detect.add_argument(
        "--since", type=_moment, metavar="T", help="evaluate events from T on (time or span)"
    )
    detect.add_argument(
        "--until", type=_moment, metavar="T", help="evaluate events before T (time or span)"
    )
    detect.add_argument(
        "-o", "--output", metavar="FILE", help="alert file (default: standard output)"
    )
    add_rule_options(detect)
    detect.set_defaults(handler=run)


def _store_documents(
    store: Any, since: int | None, until: int | None, span: int
) -> Iterator[bytes]:
    start = None if since is None else since - span
    yield from store.iter_encoded(since_ns=start, until_ns=until)


def run(args: argparse.Namespace, streams: Streams) -> int:
    from ..detect import (
        AlertLedger,
        detect,
        history_span_ns,
        load_context,
        load_rules,
        read_documents,
    )
    from ..sinks import EventStore
    from ..stream import InputError, atomic_output

    if args.store and args.inputs:
        return streams.fail("give INPUT files or --store, not both")
    if args.since is not None and args.until is not None and args.since >= args.until:
        return streams.fail("--since must be before --until")
    store = None
    try:
        context = load_context(args.context)
        rules = load_rules(args.rules)
        span = history_span_ns(rules, context)
        if args.store:
            store = EventStore.open(args.store)
            until = args.until if args.until is not None else time.time_ns()
            outcome, new = detect(
                rules,
                context,
                _store_documents(store, args.since, args.until, span),
                since_ns=args.since,
                until_ns=until,
                seen=AlertLedger(store).seen,
            )
        else:
            from collections import Counter

            rejected: Counter[str] = Counter()
            documents = (
                d
                for d in read_documents(args.inputs or ["-"], rejected, streams.stdin)
                if args.until is None or _before(d, args.until)
            )
            outcome, new = detect(
                rules, context, documents, since_ns=args.since, until_ns=args.until
            )
            outcome.rejected = rejected
        lines = b"".join(
            orjson.dumps(alert, option=orjson.OPT_SORT_KEYS) + b"\n" for alert in outcome.alerts
        )
        if args.output:
            with atomic_output(args.output) as handle:
                handle.write(lines)
        else:
            streams.stdout.write(lines)
            streams.stdout.flush()
        if store is not None and new:
            AlertLedger(store).record(new)
    except (DetectionError, StoreError, InputError) as exc:
        return streams.fail(str(exc))
    except OSError as exc:
        return streams.fail(f"{exc.filename or args.output}: {exc.strerror or exc}")
    finally:
        if store is not None:
            store.close()
    _summary(streams, outcome)
    return EXIT_ALERTS if outcome.alerts else EXIT_OK


def _before(document: dict[str, Any], until: int) -> bool:
    from ..sinks import timestamp_ns

    stamp = document.get("@timestamp")
    try:
        return isinstance(stamp, str) and timestamp_ns(stamp) < until
    except ValueError:
        return False


def _summary(streams: Streams, outcome: Any) -> None:
    parts = [f"{outcome.events} events", f"{len(outcome.alerts)} new alerts"]
    if outcome.already_emitted:
        parts.append(f"{outcome.already_emitted} already emitted")
    if outcome.duplicates:
        parts.append(f"{outcome.duplicates} duplicate events ignored")
    streams.say(f"{PROG}: " + ", ".join(parts))
    if outcome.rejected:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(outcome.rejected.items()))
        streams.say(f"  records rejected (not normalized): {reasons}")
    if outcome.waiting:
        waiting = ", ".join(
            f"{name} (needs {', '.join(lists)})" for name, lists in sorted(outcome.waiting.items())
        )
        streams.say(f"  rules not run, their context list is empty: {waiting}")
    by_rule: dict[str, int] = {}
    for alert in outcome.alerts:
        by_rule[alert["rule"]["id"]] = by_rule.get(alert["rule"]["id"], 0) + 1
    if by_rule:
        streams.say(
            "  alerts by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(by_rule.items()))
        )
