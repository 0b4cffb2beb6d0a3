"""The ``onepassword-ecs`` command line: ``convert``, ``check`` and ``template``.

Only argument parsing, streams and exit statuses live here; the work is done by
``_convert`` (streaming conversion), ``_golden`` (golden cases) and ``_template``.

Exit statuses, shared by all subcommands so scripts can rely on them:
0 success; 1 some records rejected / some golden cases failed; 2 the run could not be
done as asked (usage error, unreadable input, unwritable output); 130 interrupted
(Ctrl-C); 141 output pipe closed by the reader (as a shell reports a SIGPIPE death).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TextIO

import orjson

from . import __version__
from ._convert import Tally, convert
from ._dataset import Dataset, parse_dataset
from ._errors import NormalizationError
from ._golden import (
    GoldenCase,
    check_case,
    default_fixtures_dir,
    discover_cases,
    format_diff,
    update_case,
)
from ._ndjson import STDIN, InputError
from ._output import atomic_output
from ._report import Progress, format_summary

__all__ = ["main"]

PROG = "onepassword-ecs"
EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class _Streams:
    """The process's standard streams, replaceable so tests can run ``main`` in-process."""

    def __init__(
        self, stdin: IO[bytes] | None, stdout: IO[bytes] | None, stderr: TextIO | None
    ) -> None:
        self.stdin = stdin if stdin is not None else sys.stdin.buffer
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.stderr = stderr if stderr is not None else sys.stderr

    def say(self, text: str) -> None:
        """A message for the person at the terminal (always standard error)."""
        self.stderr.write(text if text.endswith("\n") else text + "\n")
        self.stderr.flush()

    def fail(self, text: str) -> int:
        self.say(f"{PROG}: error: {text}")
        return EXIT_USAGE


def _dataset_argument(value: str) -> Dataset:
    try:
        return parse_dataset(value)
    except NormalizationError as exc:
        raise argparse.ArgumentTypeError(exc.detail) from None


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Turn 1Password Events API records into Elastic Common Schema documents.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
        type=_dataset_argument,
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
        type=_positive_int,
        default=1,
        metavar="N",
        help="convert in N processes (output order and content are unchanged)",
    )
    convert.set_defaults(handler=_convert)

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
    check.set_defaults(handler=_check)

    template = commands.add_parser(
        "template",
        help="print an index template for the ECS documents",
        description="Print an Elasticsearch or OpenSearch index template as JSON.",
    )
    template.add_argument("--name", help="template name (default: logs-1password)")
    template.add_argument(
        "--pattern", help="index pattern the template applies to (default: logs-1password.*)"
    )
    template.add_argument(
        "--flavor",
        choices=("elasticsearch", "opensearch"),
        default="elasticsearch",
        help="target search engine (default: elasticsearch)",
    )
    template.set_defaults(handler=_template)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; return the exit status (the console script exits with it).

    The streams default to the process's own; tests pass their own to run in-process.
    """
    streams = _Streams(stdin, stdout, stderr)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse's way of saying "usage error" or "--help done"
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace, _Streams], int] = args.handler
    try:
        return handler(args, streams)
    except BrokenPipeError:  # e.g. `onepassword-ecs template | head`
        _silence_stdout(streams.stdout)
        return EXIT_BROKEN_PIPE


# --- convert -------------------------------------------------------------------------


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


def _silence_stdout(stream: IO[bytes]) -> None:
    """After the reader closed our output pipe, point the descriptor at /dev/null.

    Otherwise Python's final flush of standard output fails again at exit and prints
    "Exception ignored ... BrokenPipeError" (the recipe from Python's signal docs).
    """
    try:
        fd = stream.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _flush(stream: IO[bytes]) -> None:
    """Flush what was written so far; a reader that went away is not an error here."""
    try:
        stream.flush()
    except BrokenPipeError:
        _silence_stdout(stream)


def _convert(args: argparse.Namespace, streams: _Streams) -> int:
    inputs: list[str] = args.inputs or [STDIN]
    problem = _unreadable(inputs)
    if problem:
        return streams.fail(problem)
    stderr = streams.stderr
    progress = Progress(stderr) if not args.quiet and stderr.isatty() else None
    to_file = args.output is not None and args.output != "-"
    tally = Tally()
    status = EXIT_OK
    try:
        with ExitStack() as stack:
            if args.errors:
                errors_file = stack.enter_context(open(args.errors, "wb"))
                write_errors: Callable[[bytes], object] = errors_file.write
            else:

                def write_errors(lines: bytes) -> None:
                    if progress is not None:
                        progress.clear()  # error lines must not land mid status line
                    stderr.write(lines.decode("utf-8"))

            out = stack.enter_context(atomic_output(args.output)) if to_file else streams.stdout
            convert(
                inputs,
                write_documents=out.write,
                write_errors=write_errors,
                tally=tally,
                dataset=args.dataset,
                keep_original=args.keep_original,
                workers=args.workers,
                stdin=streams.stdin,
                on_chunk=progress.update if progress is not None else None,
            )
            out.flush()
    except BrokenPipeError:
        # The reader (head, less) has all it wants: stop quietly, like other filters.
        _silence_stdout(streams.stdout)
        return EXIT_BROKEN_PIPE
    except InputError as exc:
        # What was converted before the unreadable part stays on standard output; an
        # -o file is not created (atomic_output removed it on the way out).
        _flush(streams.stdout)
        status = EXIT_USAGE
        message = f"{PROG}: error: {exc}"
    except KeyboardInterrupt:
        _flush(streams.stdout)
        status = EXIT_INTERRUPTED
        message = f"{PROG}: interrupted" + (f"; {args.output} was not written" if to_file else "")
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
    if status == EXIT_OK and tally.rejected_total:
        status = EXIT_REJECTED
    return status


# --- check ---------------------------------------------------------------------------


def _check(args: argparse.Namespace, streams: _Streams) -> int:
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

    failed = 0
    for case in cases:
        result = check_case(case)
        if not result.ok:
            failed += 1
            write(format_diff(result))
    write(f"{len(cases) - failed} passed, {failed} failed\n")
    streams.stdout.flush()
    return EXIT_REJECTED if failed else EXIT_OK


def _update(cases: Sequence[GoldenCase], streams: _Streams) -> int:
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


# --- template ------------------------------------------------------------------------


def _template(args: argparse.Namespace, streams: _Streams) -> int:
    from ._template import index_template

    # Options left out keep index_template's own defaults, defined in one place.
    options = {"name": args.name, "pattern": args.pattern, "flavor": args.flavor}
    try:
        document = index_template(**{k: v for k, v in options.items() if v is not None})
    except ValueError as exc:
        return streams.fail(str(exc))
    streams.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    streams.stdout.flush()
    return EXIT_OK
