"""Refuse file arguments that would destroy data, before anything is read or opened.

``--errors`` is opened for writing (truncated) and ``-o`` replaced at the end; if either
is one of the inputs, the input is lost (``--errors`` empties it before it is read).
If ``-o`` and ``--errors`` are the same file, one overwrites the other and the
rejected records vanish while the summary counts them. Names are not enough to tell:
``in.ndjson``, ``./in.ndjson``, a hard link and a symbolic link are the same file, so
files are compared by device and inode (and, for names not created yet, by the path
they resolve to). Character devices are exempt: ``-o /dev/null --errors /dev/null``
destroys nothing.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Sequence
from typing import IO

from ..stream import STDIN

__all__ = ["clashing_files"]

_Identity = tuple[object, ...]


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


def _stdin_identity(stdin: IO[bytes]) -> _Identity | None:
    """Standard input's file, when it is redirected from a regular file."""
    try:
        status = os.fstat(stdin.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return _of_status(status) if stat.S_ISREG(status.st_mode) else None


def clashing_files(
    inputs: Sequence[str], output: str | None, errors: str | None, stdin: IO[bytes]
) -> str | None:
    """Why these file arguments cannot be used together, or None when they can."""
    sources: dict[_Identity, str] = {}
    for name in inputs:
        identity = _stdin_identity(stdin) if name == STDIN else _identity(name)
        if identity is not None:
            sources.setdefault(identity, "standard input" if name == STDIN else name)
    targets = [("-o", output), ("--errors", errors)]
    identities: dict[str, _Identity | None] = {}
    for option, path in targets:
        if path is None:
            continue
        identity = identities[option] = _identity(path)
        if identity in sources:
            return (
                f"{option} {path} is the input {sources[identity]} (the same file); "
                "refusing to overwrite an input: write somewhere else"
            )
    if output is not None and errors is not None:
        shared = identities["-o"]
        if shared is not None and shared == identities["--errors"]:
            return (
                f"-o {output} and --errors {errors} are the same file; the documents "
                "would overwrite the rejected records: give two different files"
            )
    return None
