"""An output file that appears complete or not at all.

Downstream tools (Filebeat, Logstash, a bulk loader) may pick up ``-o`` files as soon
as they exist; a half-written file would be ingested as if it were the whole export.
So we write a hidden temporary file in the destination directory (same file system,
hence an atomic rename) and ``os.replace`` it into place only when the run succeeded.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

__all__ = ["atomic_output"]


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


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Yield a binary file; move it to ``path`` when the block exits normally.

    On any exception (including KeyboardInterrupt) the temporary file is removed and
    ``path`` is left as it was: there is no half-written state to clean up.
    """
    target = Path(path)
    directory = target.parent
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        # Name the file the user asked for, not our temporary one.
        raise OSError(exc.errno, exc.strerror, str(target)) from exc
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
