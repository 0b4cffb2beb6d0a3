"""``onepassword-ecs store stats|export|prune``: look into an event store, get NDJSON
back, or drop what is older than the retention.

``stats`` and ``export`` open the store read-only, so they can run while a collector
writes to it. ``export`` writes the stored bytes as they are, in time order: for the
same records it is byte-identical to what ``convert`` wrote (the store keeps
``convert``'s canonical bytes, compressed, not a re-encoding). ``prune`` is a writer: it
waits for a collector's transaction, never interleaves with it.
"""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack
from typing import IO, Any

import orjson

from .._errors import StoreError
from ..sinks import EventStore, format_ns, store_stats
from ..stream import atomic_output
from ._common import EXIT_OK, Streams, check_time_window, plural, time_point
from ._files import STDOUT, clashing_files

__all__ = ["register"]

_EXPORT_BLOCK = 1000  # documents per write: few system calls, flat memory


def register(commands: Any) -> None:
    """Add ``store`` with its ``stats``, ``export`` and ``prune`` subcommands."""
    store = commands.add_parser(
        "store",
        help="look into an event store (stats), export it as NDJSON, or prune old events",
        description="Read an event store written by convert or collect --store.",
    )
    actions = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")

    stats = actions.add_parser(
        "stats",
        help="counts per dataset and day, time range, size",
        description="Counts per dataset and UTC day, the time range, and the size on disk.",
    )
    stats.add_argument("--store", required=True, metavar="PATH", help="the store file")
    stats.add_argument("--json", action="store_true", help="one JSON object instead of text")
    stats.set_defaults(handler=run_stats)

    export = actions.add_parser(
        "export",
        help="stored documents as NDJSON, in time order",
        description=(
            "Write stored documents as NDJSON in time order (then arrival order), "
            "byte-identical to what convert wrote for them."
        ),
    )
    export.add_argument("--store", required=True, metavar="PATH", help="the store file")
    export.add_argument(
        "--since", type=time_point, metavar="TIME", help="from this time on (inclusive)"
    )
    export.add_argument("--until", type=time_point, metavar="TIME", help="before this time")
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here (all at once, when done) instead of standard output",
    )
    export.set_defaults(handler=run_export)

    prune = actions.add_parser(
        "prune",
        help="remove events older than an age or a time, and give the space back",
        description=(
            "Remove stored events older than --before (alerts are kept), then shrink the "
            "file. For a retention of 120 days: store prune --before 120d."
        ),
    )
    prune.add_argument("--store", required=True, metavar="PATH", help="the store file")
    prune.add_argument(
        "--before",
        required=True,
        type=time_point,
        metavar="AGE|TIME",
        help="remove events older than this: an age (120d, 36h, 8w) or a date/time",
    )
    prune.set_defaults(handler=run_prune)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def run_stats(args: argparse.Namespace, streams: Streams) -> int:
    try:
        with EventStore.open(args.store, readonly=True) as store:
            stats = store_stats(store)
    except StoreError as exc:
        return streams.fail(str(exc))
    if args.json:
        streams.stdout.write(orjson.dumps(stats.as_dict()) + b"\n")
        streams.stdout.flush()
        return EXIT_OK
    lines = [
        f"{stats.path}: {stats.events:,} events, {_size(stats.size_bytes)}, "
        f"schema {stats.schema_version}"
    ]
    if stats.first_ns is not None and stats.last_ns is not None:
        lines.append(f"  from {format_ns(stats.first_ns)} to {format_ns(stats.last_ns)}")
    for name, count in sorted(stats.as_dict()["datasets"].items()):
        lines.append(f"  {name}: {count:,}")
    if stats.days:
        lines.append("  per day:")
        lines.extend(
            f"    {entry.day}  {entry.dataset:<28} {entry.count:>10,}" for entry in stats.days
        )
    streams.stdout.write(("\n".join(lines) + "\n").encode("utf-8"))
    streams.stdout.flush()
    return EXIT_OK


def _copy(store: EventStore, args: argparse.Namespace, out: IO[bytes]) -> int:
    block: list[bytes] = []
    count = 0
    for document in store.iter_encoded(since_ns=args.since, until_ns=args.until):
        block.append(document)
        if len(block) >= _EXPORT_BLOCK:
            out.write(b"\n".join(block) + b"\n")
            count += len(block)
            block.clear()
    if block:
        out.write(b"\n".join(block) + b"\n")
        count += len(block)
    return count


def run_export(args: argparse.Namespace, streams: Streams) -> int:
    to_file = args.output is not None and args.output != "-"
    problem = check_time_window(args.since, args.until) or clashing_files(
        reads=[("the store", args.store)],
        writes=[("-o", args.output if to_file else None), ("standard output", STDOUT)],
        stdout=streams.stdout,
    )
    if problem:
        return streams.fail(problem)
    try:
        with ExitStack() as stack:
            store = stack.enter_context(EventStore.open(args.store, readonly=True))
            out = stack.enter_context(atomic_output(args.output)) if to_file else streams.stdout
            count = _copy(store, args, out)
            out.flush()
    except StoreError as exc:
        return streams.fail(str(exc))
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise  # main() ends quietly on a closed pipe
        where = f"{exc.filename}: " if exc.filename else ""
        return streams.fail(f"{where}{exc.strerror or exc}")
    if to_file:
        streams.say(f"onepassword-ecs: {plural(count, 'document')} exported to {args.output}")
    return EXIT_OK


def run_prune(args: argparse.Namespace, streams: Streams) -> int:
    if args.before > time.time_ns():
        return streams.fail(
            f"--before {format_ns(args.before)} is in the future: it would remove every event"
        )
    try:
        with EventStore.open(args.store) as store:
            outcome = store.prune(args.before)
    except StoreError as exc:
        return streams.fail(str(exc))
    streams.say(
        f"onepassword-ecs: {plural(outcome.events, 'event')} older than {format_ns(args.before)} "
        f"removed from {args.store}; {_size(outcome.bytes_before)} -> "
        f"{_size(outcome.bytes_after)}"
    )
    return EXIT_OK
