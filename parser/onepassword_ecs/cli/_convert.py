"""``onepassword-ecs convert``: records from files or standard input to ECS NDJSON."""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

from .._errors import ArgumentError, SinkError
from ..mapping import check_timezone
from ..stream import (
    MAX_RECORD_BYTES,
    PAGE_FACTOR,
    STDIN,
    Batch,
    CountingOutput,
    Delivery,
    FileSource,
    InputError,
    NdjsonSink,
    Progress,
    SinkResult,
    Tally,
    atomic_output,
    convert,
    format_summary,
    writes_in_place,
)
from ._common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    PROG,
    Streams,
    byte_size,
    dataset_argument,
    flush_quietly,
    positive_int,
    silence_stdout,
)
from ._datastream import add_data_stream_options, data_stream_stages
from ._files import STDOUT, clashing_files
from ._progress import progress_line
from ._sink_options import add_sink_options, open_sinks, sinks_requested
from ._stage_options import StageConfigError, add_stage_options, build_stages, withhold_if_redacting

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
        "--assume-timezone",
        type=_zone_argument,
        metavar="ZONE",
        help="read timestamps that carry no UTC offset ('2021-12-03 19:52:52', from other "
        "SIEMs' exports) in ZONE: UTC, an offset such as +02:00 or an IANA name such as "
        "Europe/Paris (event.timezone names it); without it they are rejected",
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
    add_data_stream_options(convert)
    add_sink_options(convert)
    convert.add_argument(
        "--max-record-bytes",
        type=byte_size,
        default=MAX_RECORD_BYTES,
        metavar="N",
        help="reject a record (a line, or an item of a page) longer than N bytes as "
        "record_too_large, without holding it in memory (default 1MiB; a page, an array "
        f"line or a pretty-printed document may be {PAGE_FACTOR} times that)",
    )
    add_stage_options(convert)
    convert.set_defaults(handler=run)


def _zone_argument(text: str) -> str:
    """Refuse an unknown --assume-timezone when the command line is read (exit 2)."""
    try:
        check_timezone(text)
    except ArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("assume_timezone: ")) from None
    return text


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


# Files the destination and stage options read (credentials, certificates, configs):
# what -o, --errors or --store must not write over.
_READ_OPTIONS = {
    "lookups": "the lookup file",
    "stage_config": "the stage config file",
    "cluster_password_file": "the password file",
    "cluster_api_key_file": "the API key file",
    "cluster_ca_bundle": "the CA bundle",
    "client_cert": "the client certificate",
    "client_key": "the client key",
}


def _files_read(args: argparse.Namespace, inputs: Sequence[str]) -> list[tuple[str, str | None]]:
    """What ``convert`` reads, for :func:`clashing_files`: inputs and option files."""
    reads: list[tuple[str, str | None]] = [("the input", name) for name in inputs]
    for option, what in _READ_OPTIONS.items():
        value = getattr(args, option, None)
        for path in value if isinstance(value, list) else [value]:
            reads.append((what, path))
    return reads


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as Ctrl-C is: every ``finally`` and ``except`` runs, so
    no hidden temporary file is left beside ``-o`` and the summary is still printed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_STOP_SIGNALS = tuple(
    number
    for number in (getattr(signal, name, None) for name in ("SIGINT", "SIGTERM", "SIGHUP"))
    if number is not None
)


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """While converting, SIGINT, SIGTERM and SIGHUP interrupt the run, once.

    The first one raises (:class:`KeyboardInterrupt`, or :class:`_Stopped` naming the
    signal); later ones are ignored, so the cleanup they started (removing temporary
    files, committing what the store took, the summary) is not cut short in turn.
    Outside the main thread (a library caller's thread) signals cannot be handled;
    nothing changes there.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal fired
        if fired:
            return
        fired = True
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise _Stopped(signum)

    # A signal ignored on purpose stays ignored: under nohup, SIGHUP must not stop a run.
    watched = [n for n in _STOP_SIGNALS if signal.getsignal(n) is not signal.SIG_IGN]
    previous = {number: signal.signal(number, stop) for number in watched}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _keep_what_landed(
    sinks: Sequence[Any], errors: Any, tally: Tally, atomic: bool, counter: CountingOutput | None
) -> dict[str, int]:
    """After an interruption: make durable what can be, and say how much that is.

    The store commits what it accepted (a commit is local and quick, and a re-run
    finds those events already there); cluster writes were acknowledged when they
    returned. An ``-o`` file replaced at the end is not replaced: none of its documents
    are kept; a stream written in place (standard output, a FIFO) holds what the
    operating system took. Returns documents durable per sink name, for the summary.
    """
    durable: dict[str, int] = {}
    for sink in sinks:
        name = sink.name
        taken = tally.sinks[name].written if name in tally.sinks else 0
        if isinstance(sink, NdjsonSink):
            durable[name] = 0 if atomic else (counter.lines if counter is not None else taken)
            continue
        try:
            sink.flush()
        except (SinkError, OSError, sqlite3.Error):
            durable[name] = 0  # rolled back when it is closed
        else:
            durable[name] = taken
    with suppress(OSError):
        if not atomic:
            errors.flush()
    return durable


def _delivery(
    status: int, to_file: bool, in_place: bool, committed: bool, sent: int, tally: Tally
) -> Delivery | None:
    """What the summary may claim about the documents of a run that ended early.

    None for a run that completed: every converted document was written. Otherwise an
    ``-o`` file that is replaced at the end holds nothing; standard output, a device
    or a FIFO holds what the operating system accepted; a pipe whose reader left took
    documents its reader may never have read.
    """
    if committed:
        return None
    if status == EXIT_BROKEN_PIPE:
        return Delivery(sent, "sent to the pipe", "the reader closed the output")
    written = sent if not to_file or in_place else 0
    ending = "interrupted" if status == EXIT_INTERRUPTED else "stopped"
    return Delivery(written, "written", ending)


def run(args: argparse.Namespace, streams: Streams) -> int:
    inputs: list[str] = args.inputs or [STDIN]
    to_file = args.output is not None and args.output != "-"
    # Standard output gets the documents when asked (-o -) or when nothing else does.
    to_stdout = args.output == "-" or (args.output is None and not sinks_requested(args))
    problem = _unreadable(inputs) or clashing_files(
        reads=_files_read(args, inputs),
        writes=[
            ("-o", args.output),
            ("--errors", args.errors),
            ("--store", args.store),
            ("standard output", STDOUT if to_stdout else None),
        ],
        stdin=streams.stdin,
        stdout=streams.stdout,
    )
    if problem:
        return streams.fail(problem)
    try:
        stages = build_stages(args)
    except StageConfigError as exc:
        return streams.fail(str(exc))
    stderr = streams.stderr
    progress = progress_line(stderr) if not args.quiet and stderr.isatty() else None
    tally = Tally()
    status = EXIT_OK
    counter: CountingOutput | None = None
    in_place = committed = False
    durable: dict[str, int] | None = None
    try:
        in_place = to_file and writes_in_place(args.output)
        # -o and --errors are a pair: when -o is replaced at the end, so is --errors
        # (a pre-existing errors file is never emptied for an -o that is then kept).
        atomic = to_file and not in_place
        # The handlers stay through the stack's unwinding: a second signal must not cut
        # short the removal of a temporary file or the store's commit.
        with _signals_interrupt(), ExitStack() as stack:
            errors: NdjsonSink | _ErrorText
            if args.errors:
                if atomic:
                    handle = stack.enter_context(atomic_output(args.errors))
                else:
                    handle = stack.enter_context(open(args.errors, "wb"))
                errors = NdjsonSink(handle, name="errors")
            else:
                errors = _ErrorText(streams, progress)
            sinks = open_sinks(args, stack)
            if to_file or to_stdout:
                out = stack.enter_context(atomic_output(args.output)) if to_file else streams.stdout
                counter = CountingOutput(out)
                sinks.insert(0, NdjsonSink(counter, name=args.output if to_file else "stdout"))
            try:
                convert(
                    FileSource(inputs, stdin=streams.stdin, max_record_bytes=args.max_record_bytes),
                    sinks=sinks,
                    errors=withhold_if_redacting(errors, stages),
                    tally=tally,
                    dataset=args.dataset,
                    keep_original=args.keep_original,
                    assume_timezone=args.assume_timezone,
                    stages=[*stages, *data_stream_stages(args)],
                    workers=args.workers,
                    on_chunk=progress.update if progress is not None else None,
                    max_record_bytes=args.max_record_bytes,
                )
                for sink in sinks:
                    sink.flush()
                errors.flush()
            except KeyboardInterrupt:
                durable = _keep_what_landed(sinks, errors, tally, atomic, counter)
                raise
        committed = True
        message = ""
    except BrokenPipeError:
        # The reader (head, less, a FIFO's reader) has all it wants: stop without a
        # traceback; the summary says how many documents went into the pipe.
        if not to_file:
            silence_stdout(streams.stdout)
        status = EXIT_BROKEN_PIPE
        message = ""
    except InputError as exc:
        # What was converted before the unreadable part stays on standard output; an
        # -o file is not created (atomic_output removed it on the way out).
        flush_quietly(streams.stdout)
        status = EXIT_USAGE
        message = f"{PROG}: error: {exc}"
    except KeyboardInterrupt as exc:
        flush_quietly(streams.stdout)
        signum = exc.signum if isinstance(exc, _Stopped) else signal.SIGINT
        status = EXIT_INTERRUPTED if signum == signal.SIGINT else 128 + signum
        how = (
            "interrupted"
            if signum == signal.SIGINT
            else f"stopped by {signal.Signals(signum).name}"
        )
        lost = [args.output, args.errors] if to_file and not in_place else []
        message = f"{PROG}: {how}" + "".join(
            f"; {name} was not written (left as it was)" for name in lost if name
        )
    except SinkError as exc:  # a store or cluster that cannot be used: the run stops
        if progress is not None:
            progress.clear()
        return streams.fail(str(exc))
    except OSError as exc:  # -o in a missing folder, --errors unwritable, disk full...
        if progress is not None:
            progress.clear()
        where = f"{exc.filename}: " if exc.filename else ""
        return streams.fail(f"{where}{exc.strerror or exc}")
    if progress is not None:
        progress.clear()
    if message:
        streams.say(message)
    if not args.quiet:
        sent = counter.lines if counter is not None else 0
        delivery = _delivery(status, to_file, in_place, committed, sent, tally)
        streams.say(
            format_summary(
                tally, interrupted=durable is not None, delivery=delivery, durable=durable
            )
        )
    refused = any(sink.rejected for sink in tally.sinks.values())
    if status == EXIT_OK and (tally.rejected_total or refused):
        status = EXIT_REJECTED
    return status
