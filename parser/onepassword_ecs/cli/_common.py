"""What every subcommand shares: the standard streams, exit statuses, option types.

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
from typing import IO, TextIO

from .._errors import ArgumentError, NormalizationError
from .._time import check_window, parse_moment, parse_span
from ..mapping import Dataset, parse_dataset

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "PROG",
    "Streams",
    "byte_size",
    "check_time_window",
    "dataset_argument",
    "flush_quietly",
    "non_negative_int",
    "plural",
    "positive_int",
    "silence_stdout",
    "span_seconds",
    "time_point",
]

PROG = "onepassword-ecs"
EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class Streams:
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


def dataset_argument(value: str) -> Dataset:
    try:
        return parse_dataset(value)
    except NormalizationError as exc:
        raise argparse.ArgumentTypeError(exc.detail) from None


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 document``, ``2 documents``, ``1,000 events``: counts said as a person says them."""
    word = noun if count == 1 else (many or noun + "s")
    return f"{count:,} {word}"


def non_negative_int(value: str) -> int:
    """A count that may be zero: retries after the first try (``--retries``)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value[:40]!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


_BYTE_UNITS = {
    "": 1,
    "k": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gib": 1 << 30,
}


def byte_size(value: str) -> int:
    """A size in bytes: ``1048576``, ``512KiB``, ``4M`` (multiples of 1024)."""
    text = value.strip().lower()
    digits = text.rstrip("kmgib")
    unit = _BYTE_UNITS.get(text[len(digits) :].strip())
    if not digits.strip().isdigit() or unit is None:
        raise argparse.ArgumentTypeError(
            f"not a size in bytes: {value!r} (examples: 1048576, 512KiB, 4MiB)"
        )
    size = int(digits) * unit
    if size < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {value!r}")
    return size


def silence_stdout(stream: IO[bytes]) -> None:
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


def flush_quietly(stream: IO[bytes]) -> None:
    """Flush what was written so far; a reader that went away is not an error here."""
    try:
        stream.flush()
    except BrokenPipeError:
        silence_stdout(stream)


def time_point(value: str) -> int:
    """argparse type for ``--since``/``--until``: the one grammar (``_time``), in ns."""
    try:
        return parse_moment(value)
    except ArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def span_seconds(value: str) -> float:
    """argparse type for a span (``--interval``, ``--timeout``, ...): seconds, > 0."""
    try:
        return parse_span(value)
    except ArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_time_window(since_ns: int | None, until_ns: int | None) -> str | None:
    """The usage error for a future ``--since`` or an ``--until`` not after it, or None."""
    try:
        check_window(since_ns, until_ns)
    except ArgumentError as exc:
        return str(exc)
    return None
