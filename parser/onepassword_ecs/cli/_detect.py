"""``onepassword-ecs detect``: run the rule pack over events and write the alerts.

Exit status: 0 no new alert, 3 new alerts written (so a script can branch on it), 1 records
were rejected and no alert was written, 2 the run could not be done as asked (bad option,
unreadable input, invalid rule or context).

Argument parsing only: the store runs, the follow loop and their SQL are the detect
room's (``StoreDetection``, ``follow``); this module maps options to them and an
outcome to an exit status.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from .._errors import DetectionError, StageConfigError, StoreError
from ._common import EXIT_OK, EXIT_REJECTED, PROG, Streams

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


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 86400:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 86400, got {value!r}")
    return seconds


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
    parser.add_argument(
        "--lookups",
        metavar="PATH",
        action="append",
        help="op list exports or uuid,kind,name CSV files (a file or a folder, repeatable), "
        "so the context file may name groups, vaults, items and people by name",
    )


def context_from_args(args: argparse.Namespace) -> Any:
    """The context file's lists, with names resolved to uuids through ``--lookups``.

    Raises DetectionError (bad context) or StageConfigError (bad lookup file).
    """
    from ..detect import load_context

    context = load_context(args.context)
    if not getattr(args, "lookups", None):
        return context
    from ..stages import load_lookups

    lookups = load_lookups(args.lookups)
    names: dict[str, dict[str, tuple[str, ...]]] = {}

    def note(kind: str, name: str | None, uuid: str) -> None:
        if name:
            table = names.setdefault(kind, {})
            table[name.lower()] = (*table.get(name.lower(), ()), uuid)

    for uuid, (name, email) in lookups.users.items():
        note("users", name, uuid)
        note("users", email, uuid)
    for kind in ("groups", "vaults", "items"):
        for uuid, name in getattr(lookups, kind).items():
            note(kind, name, uuid)
    return context.with_names(names)


def _zone(text: str) -> str:
    """Refuse an unknown --assume-timezone when the command line is read (exit 2)."""
    from .._errors import ArgumentError
    from ..mapping import check_timezone

    try:
        check_timezone(text)
    except ArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("assume_timezone: ")) from None
    return text


def register(commands: Any) -> None:
    """Add the ``detect`` subcommand."""
    detect = commands.add_parser(
        "detect",
        help="run the detection rules and write alerts",
        description="Run every enabled rule over ECS documents (or raw Events API records, "
        "normalized first) or over the event store, and write one alert per line. With "
        "--store, each run continues from where the last one stopped. Exit status 0 when "
        "no new alert, 3 when alerts were written, 1 when records were rejected and no "
        "alert was written, 2 on a usage error.",
    )
    detect.add_argument(
        "inputs", nargs="*", metavar="INPUT", help="NDJSON files (default: standard input)"
    )
    detect.add_argument(
        "--store", metavar="PATH", help="read events from the event store and remember alerts there"
    )
    detect.add_argument(
        "--full",
        action="store_true",
        help="with --store: evaluate every stored event again (no alert is raised twice)",
    )
    detect.add_argument(
        "--since", type=_moment, metavar="T", help="evaluate events from T on (time or span)"
    )
    detect.add_argument(
        "--until", type=_moment, metavar="T", help="evaluate events before T (time or span)"
    )
    detect.add_argument(
        "-o", "--output", metavar="FILE", help="alert file ('-' or default: standard output)"
    )
    detect.add_argument(
        "--assume-timezone",
        type=_zone,
        metavar="ZONE",
        help="read raw records' timestamps that carry no UTC offset in ZONE (as convert)",
    )
    detect.add_argument(
        "--json", action="store_true", help="the summary as one JSON object on standard error"
    )
    detect.add_argument(
        "--follow",
        action="store_true",
        help="with --store: keep evaluating new events as they are stored (Ctrl-C stops)",
    )
    detect.add_argument(
        "--interval",
        type=_seconds,
        default=30.0,
        metavar="S",
        help="seconds between evaluations with --follow (default: 30)",
    )
    add_rule_options(detect)
    detect.set_defaults(handler=run)


def _encoded(alerts: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(a, option=orjson.OPT_SORT_KEYS) + b"\n" for a in alerts)


def _usage(args: argparse.Namespace) -> str | None:
    if args.store and args.inputs:
        return "give INPUT files or --store, not both"
    if args.since is not None and args.until is not None and args.since >= args.until:
        return "--since must be before --until"
    if args.follow and (not args.store or args.until is not None):
        return "--follow needs --store and no --until"
    if args.follow and args.since is not None:
        return "--follow continues from where the last run stopped: give no --since"
    if args.full and not args.store:
        return "--full needs --store"
    if args.full and (args.since is not None or args.until is not None):
        return "--full evaluates everything: give no --since or --until"
    if args.assume_timezone and args.store:
        return "--assume-timezone reads raw records: give INPUT files, not --store"
    return None


def run(args: argparse.Namespace, streams: Streams) -> int:
    from ..detect import StoreDetection, detect, load_rules, read_documents
    from ..sinks import EventStore
    from ..stream import InputError, atomic_output

    problem = _usage(args)
    if problem:
        return streams.fail(problem)
    to_stdout = args.output in (None, "-")
    if args.follow:
        return _follow(args, streams)
    store = None
    try:
        context = context_from_args(args)
        rules = load_rules(args.rules)
        if args.store:
            store = EventStore.open(args.store)
            with StoreDetection(
                store,
                rules,
                context,
                full=args.full,
                since_ns=args.since,
                until_ns=args.until,
            ) as detection:
                outcome, new = detection.evaluate()
                _write(args, streams, _encoded(outcome.alerts), to_stdout, atomic_output)
                detection.commit(new)
        else:
            from collections import Counter

            rejected: Counter[str] = Counter()
            documents = (
                d
                for d in read_documents(
                    args.inputs or ["-"],
                    rejected,
                    streams.stdin,
                    assume_timezone=args.assume_timezone,
                )
                if args.until is None or _before(d, args.until)
            )
            outcome, new = detect(
                rules, context, documents, since_ns=args.since, until_ns=args.until
            )
            outcome.rejected = rejected
            _write(args, streams, _encoded(outcome.alerts), to_stdout, atomic_output)
    except (DetectionError, StageConfigError, StoreError, InputError) as exc:
        return streams.fail(str(exc))
    except OSError as exc:
        return streams.fail(f"{exc.filename or args.output}: {exc.strerror or exc}")
    finally:
        if store is not None:
            store.close()
    _summary(streams, outcome, as_json=args.json)
    if outcome.alerts:
        return EXIT_ALERTS
    if outcome.rejected:
        count = sum(outcome.rejected.values())
        streams.say(f"{PROG}: {count} record{'s' if count != 1 else ''} rejected, no alert")
        return EXIT_REJECTED
    return EXIT_OK


def _write(
    args: argparse.Namespace, streams: Streams, lines: bytes, to_stdout: bool, atomic: Any
) -> None:
    if to_stdout:
        streams.stdout.write(lines)
        streams.stdout.flush()
    else:
        with atomic(args.output) as handle:
            handle.write(lines)


def _follow(args: argparse.Namespace, streams: Streams) -> int:
    """Evaluate new events as they reach the store, every ``--interval`` seconds.

    The loop is the detect room's (:func:`follow`): each round evaluates what was stored
    since the last one, against the state kept in the store, and records its alerts and
    the state together. Alerts are appended to ``-o FILE`` (or standard output) and
    flushed before they are recorded; Ctrl-C stops.
    """
    from ..detect import StoreDetection, follow, load_rules
    from ..sinks import EventStore

    try:
        context = context_from_args(args)
        rules = load_rules(args.rules)
        store = EventStore.open(args.store)
    except (DetectionError, StageConfigError, StoreError) as exc:
        return streams.fail(str(exc))
    to_stdout = args.output in (None, "-")
    output = streams.stdout if to_stdout else open(args.output, "ab")  # noqa: SIM115
    written = 0

    def deliver(outcome: Any, new: list[Any]) -> None:
        nonlocal written
        if new:
            output.write(_encoded(outcome.alerts))
            output.flush()
            written += len(new)
            _summary(streams, outcome, as_json=args.json)

    try:
        with StoreDetection(store, rules, context) as detection:
            follow(detection, deliver, interval_s=args.interval)
    except KeyboardInterrupt:
        streams.say(f"{PROG}: stopped; {written} alerts written")
    except (DetectionError, StoreError, OSError) as exc:
        return streams.fail(str(exc))
    finally:
        store.close()
        if not to_stdout:
            output.close()
    return EXIT_ALERTS if written else EXIT_OK


def _before(document: dict[str, Any], until: int) -> bool:
    from ..sinks import timestamp_ns

    stamp = document.get("@timestamp")
    try:
        return isinstance(stamp, str) and timestamp_ns(stamp) < until
    except ValueError:
        return False


def _summary(streams: Streams, outcome: Any, *, as_json: bool = False) -> None:
    by_rule: dict[str, int] = {}
    for alert in outcome.alerts:
        by_rule[alert["rule"]["id"]] = by_rule.get(alert["rule"]["id"], 0) + 1
    if as_json:
        summary = {
            "events": outcome.events,
            "alerts": len(outcome.alerts),
            "already_emitted": outcome.already_emitted,
            "duplicates": outcome.duplicates,
            "rejected": dict(sorted(outcome.rejected.items())),
            "alerts_by_rule": dict(sorted(by_rule.items())),
            "waiting": {k: list(v) for k, v in sorted(outcome.waiting.items())},
        }
        streams.say(orjson.dumps(summary).decode())
        return
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
    if by_rule:
        streams.say(
            "  alerts by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(by_rule.items()))
        )
