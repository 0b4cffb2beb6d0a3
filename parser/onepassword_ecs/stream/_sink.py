"""The Sink seam: where converted documents go, and what each destination made of them.

A sink receives documents in batches and answers, per batch, how many it accepted, how
many it already had (duplicates, for idempotent stores) and which it refused and why.
``flush()`` returns only when everything accepted so far is durable: the collector moves
its cursor after every sink's ``flush()`` returned, never before, so a crash can repeat
a page but never lose one.

Documents travel as their canonical bytes (compact JSON, keys sorted: exactly what
``convert`` writes), joined as one NDJSON block. A file sink writes the block as it is,
with no per-document work; a store or a search cluster splits it with
:meth:`Batch.documents` and reads what it needs. One representation everywhere means a
store can give back byte-identical lines, and worker processes send back one ``bytes``
object per chunk instead of thousands of dicts.

Today's two destinations are the first implementations: :class:`NdjsonSink` for the
documents (standard output or a file) and the error stream, which is the same class
writing error lines.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Batch", "ByteWriter", "NdjsonSink", "Rejection", "Sink", "SinkResult"]


@dataclass(frozen=True)
class Batch:
    """Documents as one NDJSON block: each line one compact JSON document, ``\\n``-ended."""

    ndjson: bytes
    count: int

    @classmethod
    def of(cls, documents: Sequence[bytes]) -> Batch:
        """A batch from separate encoded documents (none may contain a raw newline)."""
        if not documents:
            return cls(b"", 0)
        return cls(b"\n".join(documents) + b"\n", len(documents))

    def documents(self) -> list[bytes]:
        """The documents one by one, in order (JSON text never holds a raw newline)."""
        if not self.ndjson:
            return []
        return self.ndjson[:-1].split(b"\n")


@dataclass(frozen=True)
class Rejection:
    """One document a sink refused: its position in the batch and the sink's reason."""

    index: int
    reason: str
    message: str


@dataclass
class SinkResult:
    """A sink's answer for one batch: ``accepted + duplicates + len(rejected) == count``."""

    accepted: int
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@runtime_checkable
class Sink(Protocol):
    """A destination for ECS documents."""

    @property
    def name(self) -> str:
        """Short label for summaries and error lines (``ndjson``, ``store``, ...)."""
        ...

    def write(self, batch: Batch) -> SinkResult:
        """Take a batch; say what became of each document. May buffer."""
        ...

    def flush(self) -> None:
        """Return only when every document accepted so far is durable."""
        ...

    def close(self) -> None:
        """Release resources; idempotent. Does not imply flush."""
        ...


class ByteWriter(Protocol):
    """What :class:`NdjsonSink` writes to: a binary file, or a counting output."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> None: ...

    def fileno(self) -> int: ...


class NdjsonSink:
    """Documents (or error lines) appended to a binary stream, one per line.

    ``durable=True`` makes ``flush`` also ``fsync`` the file, for callers whose promise
    depends on the bytes being on disk (the collector's cursor); pipes and terminals
    cannot be synced and are only flushed.
    """

    def __init__(self, stream: ByteWriter, *, name: str = "ndjson", durable: bool = False) -> None:
        self._stream = stream
        self._name = name
        self._durable = durable

    @property
    def name(self) -> str:
        return self._name

    def write(self, batch: Batch) -> SinkResult:
        if batch.ndjson:
            self._stream.write(batch.ndjson)
        return SinkResult(accepted=batch.count)

    def flush(self) -> None:
        self._stream.flush()
        if self._durable:
            # Not a file (pipe, terminal, in-memory buffer): nothing to sync.
            with contextlib.suppress(OSError, ValueError):
                os.fsync(self._stream.fileno())

    def close(self) -> None:
        """The stream belongs to whoever opened it; nothing to release here."""
