"""No two of the collector's files may be one file: refuse before anything is written.

``collect -o st.db --state st.db`` once lost every document with exit 0: the NDJSON
was appended to the state database, SQLite then wrote over it, and the cursors moved
on, so the events were never fetched again. The same happens to any pair of the
files a run writes or keeps state in: the ``-o`` file, the state database, the event
store and the ``--errors`` file. Names are not enough to tell (``st.db``, ``./st.db``,
a symbolic link and a hard link are one file), so existing files are compared by
device and inode and names not created yet by the path they resolve to. Character
devices (``/dev/null``, ``/dev/stdout``) are exempt: two outputs to them destroy
nothing, and the state database can never be one (SQLite refuses it).

The shared "no command writes over a file it reads or keeps state in" check lives in
the CLI; this is the collector's own, so a library caller gets the same protection.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from .._errors import CollectorConfigError

__all__ = ["check_distinct_files", "file_identity"]

_Identity = tuple[object, ...]


def file_identity(path: str | Path) -> _Identity | None:
    """What ``path`` finally names; None for a character device or an unusable path."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return ("path", os.path.realpath(path))
    except OSError:
        return None  # opening it will report the problem with its own message
    if stat.S_ISCHR(status.st_mode):
        return None
    return ("inode", status.st_dev, status.st_ino)


def check_distinct_files(files: Mapping[str, str | Path | None]) -> None:
    """Raise CollectorConfigError when two of ``files`` (option → path) are one file.

    ``None`` and ``-`` (standard output) are skipped. The state database's companions
    (its ``-wal``, ``-shm`` and ``.lock`` files) count as the state database.
    """
    seen: dict[_Identity, str] = {}
    for option, path in files.items():
        if path is None or str(path) in ("", "-"):
            continue
        names = [str(path)]
        if option == "--state":
            names += [f"{path}-wal", f"{path}-shm", f"{path}-journal", f"{path}.lock"]
        for name in names:
            identity = file_identity(name)
            if identity is None:
                continue
            other = seen.get(identity)
            if other is not None and other != option:
                raise CollectorConfigError(
                    f"{option} and {other} name the same file ({path}): one would be "
                    "written over the other and its data lost; give them different files"
                )
            seen[identity] = option
