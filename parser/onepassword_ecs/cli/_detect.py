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

from .._errors import DetectionError, StageConfigError, StoreError
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
        load_rules,
        read_documents,
    )
    from ..sinks import EventStore
    from ..stream import InputError, atomic_output

    if args.store and args.inputs:
        return streams.fail("give INPUT files or --store, not both")
    if args.since is not None and args.until is not None and args.since >= args.until:
        return streams.fail("--since must be before --until")
    if args.follow and (not args.store or args.until is not None):
        return streams.fail("--follow needs --store and no --until")
    if args.follow:
        return _follow(args, streams)
    store = None
    try:
        context = context_from_args(args)
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
    except (DetectionError, StageConfigError, StoreError, InputError) as exc:
        return streams.fail(str(exc))
    except OSError as exc:
        return streams.fail(f"{exc.filename or args.output}: {exc.strerror or exc}")
    finally:
        if store is not None:
            store.close()
    _summary(streams, outcome)
    return EXIT_ALERTS if outcome.alerts else EXIT_OK


def _follow(args: argparse.Namespace, streams: Streams) -> int:
    """Evaluate new events as they reach the store, every ``--interval`` seconds.

    New events are those stored since the last round (the store's arrival order), even
    when their timestamps are old: a round re-reads from the earliest new event's time
    minus the longest rule window, and alerts already emitted (in this run or before)
    are filtered by the store's ledger. A round without new events still checks for
    silent streams. Alerts are appended to ``-o FILE`` (or standard output) and flushed
    as they come; Ctrl-C stops.
    """
    from ..detect import AlertLedger, detect, history_span_ns, load_rules
    from ..sinks import EventStore

    written = 0
    try:
        context = context_from_args(args)
        rules = load_rules(args.rules)
        span = history_span_ns(rules, context)
        store = EventStore.open(args.store)
    except (DetectionError, StageConfigError, StoreError) as exc:
        return streams.fail(str(exc))
    silence_rules = [rule for rule in rules if rule.params.get("check") == "silence"]
    silence_ns = int(2 * context.silence_hours * 3600 * 1_000_000_000)
    output = open(args.output, "ab") if args.output else streams.stdout  # noqa: SIM115
    last_seq = 0
    try:
        while True:
            until = time.time_ns()
            earliest, newest = store.connection.execute(
                "SELECT min(ts_ns), max(seq) FROM events WHERE seq > ?", (last_seq,)
            ).fetchone()
            if newest is not None:
                since = args.since if last_seq == 0 else earliest
                documents = _store_documents(store, since, None, span)
                outcome, new = detect(
                    rules,
                    context,
                    documents,
                    since_ns=since,
                    until_ns=until,
                    seen=AlertLedger(store).seen,
                )
                last_seq = newest
            else:
                documents = store.iter_encoded(since_ns=until - silence_ns)
                outcome, new = detect(
                    silence_rules,
                    context,
                    documents,
                    until_ns=until,
                    seen=AlertLedger(store).seen,
                )
            if new:
                output.write(
                    b"".join(
                        orjson.dumps(a, option=orjson.OPT_SORT_KEYS) + b"\n" for a in outcome.alerts
                    )
                )
                output.flush()
                AlertLedger(store).record(new)
                written += len(new)
                _summary(streams, outcome)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        streams.say(f"{PROG}: stopped; {written} alerts written")
    except (DetectionError, StoreError, OSError) as exc:
        return streams.fail(str(exc))
    finally:
        store.close()
        if args.output:
            output.close()
    return EXIT_ALERTS if written else EXIT_OK


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
