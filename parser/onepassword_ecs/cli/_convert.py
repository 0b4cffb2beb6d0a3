"""``onepassword-ecs convert``: records from files or standard input to ECS NDJSON."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from .._errors import SinkError
from ..stream import (
    STDIN,
    Batch,
    FileSource,
    InputError,
    NdjsonSink,
    Progress,
    SinkResult,
    Tally,
    atomic_output,
    convert,
    format_summary,
)
from ._common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    PROG,
    Streams,
    dataset_argument,
    flush_quietly,
    positive_int,
    silence_stdout,
)
from ._sink_options import add_sink_options, open_sinks, sinks_requested

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``convert`` subcommand to the parser's subcommands."""
    convert = commands.add_parser(
        "convert",
        help="convert NDJSON records (or API pages) to ECS NDJSON",
        description=(
            "Read 1Password Events API records (NDJSON lines, JSON arrays, API response "
            "pages; gzip or not) and write one ECS document per line. Rejected records "
            "are reported as JSON lines; the rest are still written."
        ),
    )
    convert.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="input files; standard input when none or '-'",
    )
    convert.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="write here (all at once, when the run succeeds) instead of standard output",
    )
    convert.add_argument(
        "--errors",
        metavar="FILE",
        help="write rejected records here instead of standard error",
    )
    convert.add_argument(
        "--dataset",
        type=dataset_argument,
        metavar="D",
        help="force the dataset (audit_events, item_usages, signin_attempts) "
        "instead of detecting it per record",
    )
    convert.add_argument(
        "--keep-original",
        action="store_true",
        help="keep each raw record in event.original",
    )
    convert.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress display and no summary",
    )
    convert.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="convert in N processes (output order and content are unchanged)",
    )
    add_sink_options(convert)
    convert.set_defaults(handler=run)


class _ErrorText:
    """Error lines to the terminal's standard error, clearing the status line first."""

    name = "errors"

    def __init__(self, streams: Streams, progress: Progress | None) -> None:
        self._streams = streams
        self._progress = progress

    def write(self, batch: Batch) -> SinkResult:
        if self._progress is not None:
            self._progress.clear()  # error lines must not land mid status line
        self._streams.stderr.write(batch.ndjson.decode("utf-8"))
        return SinkResult(accepted=batch.count)

    def flush(self) -> None:
        self._streams.stderr.flush()

    def close(self) -> None:
        """Standard error stays open."""


def _unreadable(inputs: Sequence[str]) -> str | None:
    """Why one of the named inputs cannot be read, checked before any output is made."""
    for name in inputs:
        if name == STDIN:
            continue
        if not os.path.exists(name):
            return f"{name}: no such file"
        if os.path.isdir(name):
            return f"{name}: is a directory"
        if not os.access(name, os.R_OK):
            return f"{name}: permission denied"
    return None


def run(args: argparse.Namespace, streams: Streams) -> int:
    inputs: list[str] = args.inputs or [STDIN]
    problem = _unreadable(inputs)
    if problem:
        return streams.fail(problem)
    stderr = streams.stderr
    progress = Progress(stderr) if not args.quiet and stderr.isatty() else None
    to_file = args.output is not None and args.output != "-"
    # Standard output gets the documents when asked (-o -) or when nothing else does.
    to_stdout = args.output == "-" or (args.output is None and not sinks_requested(args))
    tally = Tally()
    status = EXIT_OK
    try:
        with ExitStack() as stack:
            errors: NdjsonSink | _ErrorText
            if args.errors:
                errors = NdjsonSink(stack.enter_context(open(args.errors, "wb")), name="errors")
            else:
                errors = _ErrorText(streams, progress)
            sinks = open_sinks(args, stack)
            if to_file or to_stdout:
                out = stack.enter_context(atomic_output(args.output)) if to_file else streams.stdout
                sinks.insert(0, NdjsonSink(out, name=args.output if to_file else "stdout"))
            convert(
                FileSource(inputs, stdin=streams.stdin),
                sinks=sinks,
                errors=errors,
                tally=tally,
                dataset=args.dataset,
                keep_original=args.keep_original,
                workers=args.workers,
                on_chunk=progress.update if progress is not None else None,
            )
            for sink in sinks:
                sink.flush()
            errors.flush()
    except BrokenPipeError:
        # The reader (head, less) has all it wants: stop quietly, like other filters.
        silence_stdout(streams.stdout)
        return EXIT_BROKEN_PIPE
    except InputError as exc:
        # What was converted before the unreadable part stays on standard output; an
        # -o file is not created (atomic_output removed it on the way out).
        flush_quietly(streams.stdout)
        status = EXIT_USAGE
        message = f"{PROG}: error: {exc}"
    except KeyboardInterrupt:
        flush_quietly(streams.stdout)
        status = EXIT_INTERRUPTED
        message = f"{PROG}: interrupted" + (f"; {args.output} was not written" if to_file else "")
    except SinkError as exc:  # a store or cluster that cannot be used: the run stops
        if progress is not None:
            progress.clear()
        return streams.fail(str(exc))
    except OSError as exc:  # -o in a missing folder, --errors unwritable, disk full...
        if progress is not None:
            progress.clear()
        where = f"{exc.filename}: " if exc.filename else ""
        return streams.fail(f"{where}{exc.strerror or exc}")
    else:
        message = ""
    if progress is not None:
        progress.clear()
    if message:
        streams.say(message)
    if not args.quiet:
        streams.say(format_summary(tally, interrupted=status == EXIT_INTERRUPTED))
    refused = any(sink.rejected for sink in tally.sinks.values())
    if status == EXIT_OK and (tally.rejected_total or refused):
        status = EXIT_REJECTED
    return status
