"""The ``onepassword-ecs`` command line: argument parsing and dispatch only.

Each subcommand is a module of this room with a ``register(commands)`` function that
adds its parser and sets its handler; the work itself is done by the other rooms
(``stream`` for conversion, ``golden`` for checks, ``ecs`` for the template). A new
subcommand is one new module and one line in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn, TextIO

from .. import __version__
from ..mapping import mapper_implementation
from . import (
    _check,
    _collect,
    _convert,
    _detect,
    _investigate,
    _mcp,
    _report,
    _rules,
    _store,
    _template,
)
from ._common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    Streams,
    silence_stdout,
)
from ._extras import missing_extra

__all__ = ["SUBCOMMANDS", "main", "scrub_usage_error"]

SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (
    _convert.register,
    _check.register,
    _template.register,
    _store.register,
    _investigate.register,
    _report.register,
    _mcp.register,
    _collect.register,
    _detect.register,
    _rules.register,
)


# Options whose values may carry a credential (a URL with a password in it). Their
# malformed values are never repeated in an error message.
_SECRET_BEARING = ("--elasticsearch", "--opensearch", "--url")
_QUOTED = re.compile(r"""(?:, got |: )(['"]).*\1\s*$""", re.DOTALL)


def scrub_usage_error(message: str) -> str:
    """An argparse error message that repeats no value which may hold a secret.

    ``collect --token SECRET`` is an unknown option whose value is the token itself, and
    ``--elasticsearch user:SECRET@host`` is a malformed URL holding a password: argparse
    would echo both (to a terminal, a log, a CI transcript). Unknown arguments are shown
    by their option names only; the values of secret-bearing options are never quoted.
    """
    if message.startswith("unrecognized arguments:"):
        words = message.partition(":")[2].split()
        options = [word.split("=", 1)[0] for word in words if word.startswith("-")]
        hidden = len(words) - len(options) + sum("=" in word for word in words)
        shown = " ".join(options) if options else "(no option names)"
        tail = f" (and {hidden} value{'s' if hidden != 1 else ''}, not repeated)" if hidden else ""
        return f"unrecognized arguments: {shown}{tail}"
    if message.startswith(tuple(f"argument {name}" for name in _SECRET_BEARING)):
        return _QUOTED.sub(" (the value is not repeated: it may hold a credential)", message)
    return message


class _Parser(argparse.ArgumentParser):
    """argparse, with error messages that never echo a value which may be a secret."""

    def error(self, message: str) -> NoReturn:
        super().error(scrub_usage_error(message))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Turn 1Password Events API records into Elastic Common Schema documents.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__} ({mapper_implementation()} mapper)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(commands)
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
    streams = Streams(stdin, stdout, stderr)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse's way of saying "usage error" or "--help done"
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace, Streams], int] = args.handler
    needed = missing_extra(args.command)
    if needed is not None:
        return streams.fail(needed)
    try:
        return handler(args, streams)
    except BrokenPipeError:  # e.g. `onepassword-ecs template | head`
        silence_stdout(streams.stdout)
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:  # Ctrl-C in any command: no traceback, the shell's status
        streams.say(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
