"""Output files that appear complete or not at all, and outputs that count what left.

Downstream tools (Filebeat, Logstash, a bulk loader) may pick up ``-o`` files as soon
as they exist; a half-written file would be ingested as if it were the whole export.
So we write a hidden temporary file in the destination directory (same file system,
hence an atomic rename) and ``os.replace`` it into place only when the run succeeded.

Not every path names a regular file. A symbolic link is followed: its final target is
replaced, and the link stays a link. A character device (``/dev/null``, a terminal), a
FIFO or a socket is not a file that can be replaced (renaming over it would swap the
device node or the pipe for a plain file): it is opened and written straight through,
so "complete or not at all" does not apply to it, which :func:`writes_in_place` tells.

:class:`CountingOutput` is for the summary's honesty: it writes to the file descriptor
itself and counts the complete lines the operating system accepted, so after Ctrl-C or
a reader closing the pipe the count says how many documents really left the process.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

__all__ = ["CountingOutput", "atomic_output", "writes_in_place"]


def _final_mode(path: Path) -> int:
    """The permissions the file would have had if opened the ordinary way.

    mkstemp creates 0600 files; keep an existing file's mode, else honour the umask.
    """
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _existing_mode(path: str | os.PathLike[str]) -> int | None:
    """The mode of what ``path`` finally names (links followed), or None if nothing."""
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return None


def writes_in_place(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names something written straight through, not replaced.

    That is anything but a regular file or a name not taken yet (links followed):
    a character device, a FIFO, a socket. Their output is not all-or-nothing.
    """
    mode = _existing_mode(path)
    return mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Yield a binary file; move it to ``path`` when the block exits normally.

    On any exception (including KeyboardInterrupt) the temporary file is removed and
    ``path`` is left as it was: there is no half-written state to clean up. A symbolic
    link is followed (its target is replaced; the link is kept). A device, FIFO or
    socket is written in place (see :func:`writes_in_place`).
    """
    if writes_in_place(path):
        # No O_CREAT: if the device vanished meanwhile, fail rather than create a file.
        fd = os.open(path, os.O_WRONLY)
        with os.fdopen(fd, "wb") as handle:
            yield handle
        return
    target = Path(os.path.realpath(path))
    if stat.S_ISDIR(_existing_mode(target) or 0):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    directory = target.parent
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        # Name the file the user asked for, not our temporary one.
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _final_mode(target))
        os.replace(temporary, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class CountingOutput:
    """A binary output that knows how many complete lines the operating system took.

    A buffered stream cannot say, after a write failed (reader gone) or was cut short
    (Ctrl-C), how much of it went out; this one writes to the descriptor directly and
    counts the newlines in the bytes each ``os.write`` accepted. A stream without a
    descriptor (an in-memory buffer) is written through its own ``write``.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._fd: int | None
        try:
            stream.flush()  # whatever was buffered before us goes first
            self._fd = stream.fileno()
        except (OSError, ValueError, io.UnsupportedOperation):
            self._fd = None
        self.lines = 0
        """Complete lines handed to the operating system (or the stream) so far."""

    def write(self, data: bytes) -> int:
        if self._fd is None:
            self._stream.write(data)
            self.lines += data.count(b"\n")
            return len(data)
        view = memoryview(data)
        sent = 0
        try:
            while sent < len(data):
                sent += os.write(self._fd, view[sent:])
        finally:
            self.lines += data.count(b"\n", 0, sent)
        return sent

    def flush(self) -> None:
        if self._fd is None:
            self._stream.flush()

    def fileno(self) -> int:
        if self._fd is None:
            raise io.UnsupportedOperation("no file descriptor")
        return self._fd
