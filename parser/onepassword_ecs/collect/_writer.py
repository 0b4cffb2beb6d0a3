"""The exactly-once NDJSON file: its length is committed with the cursor.

Delivery to a file is made exactly-once across crashes (``kill -9`` included) by one
rule on each side of a restart:

* after a page's documents are written, the file is flushed and ``fsync``-ed, and
  only then is the new cursor committed *in the same state transaction as the file's
  new length* (:meth:`~._state.StateDb.commit_page`);
* on start, the file is cut back to the last committed length before anything is
  written.

A crash before the commit leaves bytes past the committed length; they are cut, and
the page is fetched again from the old cursor and written once. A crash after the
commit leaves nothing to redo. The file is appended to across runs; bytes that were
there before the collector first wrote to it are kept.

Only the collector's own bytes are ever cut. Before writing past the committed
length it records, in the state database, where the write will end (``pending``);
the commit clears it. On start, bytes past the committed length and within
``pending`` are an interrupted run's and are cut; bytes past ``pending`` (or with no
write in progress at all) were appended by someone else between runs, and the run is
refused (exit 2) with how to recover, rather than cutting what it did not write.

``.gz`` output works the same way because each flush writes one complete gzip member
(a gzip file may hold many, and every reader concatenates them): the committed length
is always a member boundary, so cutting back never leaves half a member.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
from typing import IO

from .._errors import CollectorConfigError
from ..stream import Batch, SinkResult
from ._state import StateDb

__all__ = ["ExactlyOnceFile"]


class ExactlyOnceFile:
    """A :class:`~onepassword_ecs.stream.Sink` whose flushed length is a commit point."""

    def __init__(self, path: str, state: StateDb, warnings: list[str]) -> None:
        self.path = path
        self.key = os.path.realpath(path)
        self._gzip = path.endswith(".gz")
        self._pending: list[bytes] = []
        try:
            handle: IO[bytes] = open(path, "ab")  # noqa: SIM115 - held for the sink's life
        except OSError as exc:
            raise CollectorConfigError(f"cannot open {path}: {exc.strerror}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise CollectorConfigError(
                f"{path} is being written by another collector (it holds the file's lock)"
            ) from None
        self._file = handle
        self._state = state
        size = os.fstat(handle.fileno()).st_size
        committed, pending = state.output_marks(self.key)
        if committed is None:
            state.set_output_length(self.key, size)
        elif size > committed:
            if pending is None or size > pending:
                handle.close()
                raise CollectorConfigError(
                    f"{path} holds {size - committed} bytes after what the collector "
                    f"committed ({committed} bytes) that it did not write (appended by "
                    "something else since the last run); refusing to cut them. To "
                    "recover, move those bytes elsewhere (keep the first "
                    f"{committed} bytes: truncate -s {committed} FILE after copying "
                    "the rest) or give -o another file"
                )
            os.ftruncate(handle.fileno(), committed)
            os.fsync(handle.fileno())
            warnings.append(
                f"{path}: cut {size - committed} bytes written after the last committed "
                "cursor (an interrupted run); those events are fetched again"
            )
            size = committed
        elif size < committed:
            warnings.append(
                f"{path} is shorter than the collector left it ({size} < {committed} bytes): "
                "it was truncated or replaced outside the collector; continuing from its end"
            )
            state.set_output_length(self.key, size)
        self._end = size
        """Where the file ends once everything written so far is flushed."""
        self._synced = size
        """Where it ended at the last fsync."""

    @property
    def name(self) -> str:
        return self.path

    def _reserve(self, data: bytes) -> None:
        """Record where this write will end *before* any of it can reach the file."""
        self._end += len(data)
        self._state.set_output_pending(self.key, self._end)

    def write(self, batch: Batch) -> SinkResult:
        if batch.ndjson:
            if self._gzip:
                self._pending.append(batch.ndjson)
            else:
                self._reserve(batch.ndjson)
                self._file.write(batch.ndjson)
        return SinkResult(accepted=batch.count)

    def flush(self) -> None:
        if self._pending:
            member = gzip.compress(b"".join(self._pending), mtime=0)
            self._pending.clear()
            self._reserve(member)
            self._file.write(member)
        if self._synced == self._end:
            return  # nothing written since the last fsync (a page of duplicates, a quiet poll)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._synced = self._end

    def length(self) -> int:
        """The file's length now: what to commit after :meth:`flush`."""
        return os.fstat(self._file.fileno()).st_size

    def close(self) -> None:
        """Close; bytes still buffered are uncommitted by definition, so a failing
        final flush loses nothing (they would be cut on the next start anyway)."""
        if not self._file.closed:
            with contextlib.suppress(OSError):
                self._file.close()
