"""Refuse file arguments that would destroy data, before anything is read or opened.

The rule every command follows: **no command writes over a file it also reads or keeps
state in** (an input, the event store, the collector's state database, a lookup file,
a context file, an indicator file), and no two of its outputs are one file. Examples of
what it prevents: ``--errors`` emptying the input before it is read; ``-o X --store X``
destroying one of the two outputs; ``report -o st.db --store st.db`` replacing the store
with HTML; ``convert in.ndjson >> in.ndjson`` growing its own input for ever;
``convert -o /proc/self/fd/0`` with a pipe on standard input writing into the pipe it
reads and hanging.

Names are not enough to tell: ``in.ndjson``, ``./in.ndjson``, a hard link, a symbolic
link and ``/proc/self/fd/N`` are the same file, so files are compared by device and
inode (and, for names not created yet, by the path they resolve to). Standard input and
output count by what they are redirected from and to (a regular file or a pipe), so
``< st.db`` and ``> st.db`` are seen too. A folder read (``--lookups DIR``) stands for
the files in it. Character devices are exempt: ``-o /dev/null --errors /dev/null``
destroys nothing.

Every command calls :func:`clashing_files` once, before opening anything, with what it
reads and what it writes; a new command or a new file option is one more pair there.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable
from typing import IO

from ..stream import STDIN

__all__ = ["STDOUT", "clashing_files"]

STDOUT = "-"
"""In ``writes``: the command writes to standard output (pass ``stdout``)."""

_Identity = tuple[object, ...]
_MAX_FOLDER_FILES = 10_000  # a folder read stands for its files; a huge one is not walked


def _identity(path: str) -> _Identity | None:
    """What ``path`` finally names; None for a character device or an unusable path."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return ("path", os.path.realpath(path))
    except OSError:
        return None  # the open itself will report it, with its own message
    return _of_status(status)


def _of_status(status: os.stat_result) -> _Identity | None:
    if stat.S_ISCHR(status.st_mode):
        return None
    return ("inode", status.st_dev, status.st_ino)


def _stream_identity(stream: IO[bytes] | IO[str] | None) -> _Identity | None:
    """A standard stream's file, when it is a regular file or a pipe.

    Not a socket: one socket carries both directions (an MCP client may hand the same
    one as standard input and output), and writing to it destroys nothing read.
    """
    if stream is None:
        return None
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        return None  # an in-memory stream (tests, library callers): no file to clash with
    if stat.S_ISREG(status.st_mode) or stat.S_ISFIFO(status.st_mode):
        return _of_status(status)
    return None


def _read_identities(path: str) -> Iterable[_Identity]:
    """``path``'s identity, and for a folder the identities of the files in it."""
    identity = _identity(path)
    if identity is not None:
        yield identity
    if not os.path.isdir(path):
        return
    try:
        with os.scandir(path) as entries:
            for count, entry in enumerate(entries):
                if count >= _MAX_FOLDER_FILES:
                    return
                found = _identity(entry.path)
                if found is not None:
                    yield found
    except OSError:
        return


def _shown(option: str, path: str) -> str:
    return option if path == STDOUT and option == "standard output" else f"{option} {path}"


def clashing_files(
    *,
    reads: Iterable[tuple[str, str | None]] = (),
    writes: Iterable[tuple[str, str | None]] = (),
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | IO[str] | None = None,
) -> str | None:
    """Why these files cannot be used together, or None when they can.

    ``reads``: ``(what, path)`` for every file the command reads or keeps state in and
    that must survive it: ``("the input", "in.ndjson")``, ``("the input", "-")``
    (standard input, told apart through ``stdin``), ``("the store", args.store)``,
    ``("the context file", args.context)``, ``("the lookup file", path)``. ``writes``:
    ``(option, path)`` for every file it writes, truncates or replaces: ``("-o", path)``,
    ``("--errors", path)``, ``("--store", path)``, ``("standard output", STDOUT)`` (told
    apart through ``stdout``). A path of None (an option not given) is skipped.

    A written file may be neither a file read nor another written file. Call it before
    opening anything; on a clash, exit 2 with the returned message (it names the two
    options and their paths, never a file's content)::

        problem = clashing_files(
            reads=[("the store", args.store), ("the context file", args.context)],
            writes=[("-o", args.output), ("standard output", STDOUT)],
            stdin=streams.stdin,
            stdout=streams.stdout,
        )
        if problem:
            return streams.fail(problem)
    """
    sources: dict[_Identity, str] = {}
    for what, path in reads:
        if path is None:
            continue
        if path == STDIN:
            identity = _stream_identity(stdin)
            if identity is not None:
                sources.setdefault(identity, f"{what} standard input")
            continue
        for identity in _read_identities(path):
            sources.setdefault(identity, f"{what} {path}")
    targets: dict[_Identity, str] = {}
    for option, path in writes:
        if path is None:
            continue
        if path == STDOUT:
            if option != "standard output":
                continue  # "-o -": standard output, given as its own entry when it counts
            identity = _stream_identity(stdout)
        else:
            identity = _identity(path)
        if identity is None:
            continue
        shown = _shown(option, path)
        if identity in sources:
            return (
                f"{shown} is {sources[identity]} (the same file); refusing to write over "
                "a file this command reads or keeps: write somewhere else"
            )
        if identity in targets:
            return (
                f"{targets[identity]} and {shown} are the same file; one would overwrite "
                "the other: give two different files"
            )
        targets[identity] = shown
    return None
