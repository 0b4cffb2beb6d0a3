"""The Source seam: what feeds raw records in, with their provenance.

A source yields :class:`Chunk` objects: a bounded list of *units* (``(position, raw
bytes)``, one line or one multi-line document each) and the ``origin`` that, with the
position, locates every record for the error stream. For files the origin is
``{"source": name}`` and the position a line number; the Events API collector uses
``{"stream": ..., "cursor": ...}`` so a rejected record points at the page it came from.

Chunks keep memory flat (see :mod:`._convert`) and are what worker processes receive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Protocol

from ._bounded import HEAD_BYTES, MAX_RECORD_BYTES
from ._reader import Unit, iter_units, open_input

__all__ = ["CHUNK_BYTES", "CHUNK_LINES", "Chunk", "FileSource", "Source", "iter_chunks"]

CHUNK_LINES = 2000
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Chunk:
    """Units that travel together, and where they came from."""

    origin: Mapping[str, str]
    units: list[Unit]


class Source(Protocol):
    """Anything that yields chunks of raw records in order."""

    def __iter__(self) -> Iterator[Chunk]: ...


def iter_chunks(
    units: Iterable[Unit], max_lines: int = CHUNK_LINES, max_bytes: int = CHUNK_BYTES
) -> Iterator[list[Unit]]:
    """Group units into lists of at most ``max_lines`` units or about ``max_bytes`` bytes.

    The byte bound matters for page lines: 2,000 lines of 1,000-item pages would
    otherwise be two million records in one chunk.
    """
    chunk: list[Unit] = []
    size = 0
    for unit in units:
        chunk.append(unit)
        raw = unit[1]
        size += len(raw) if isinstance(raw, bytes) else HEAD_BYTES
        if len(chunk) >= max_lines or size >= max_bytes:
            yield chunk
            chunk = []
            size = 0
    if chunk:
        yield chunk


class FileSource:
    """NDJSON files, gzip or not, or standard input (``-``), read one after the other.

    Each input is opened only when its turn comes and closed when it is exhausted.
    Iterating raises :class:`~._reader.InputError` after yielding everything read
    before an unreadable part. Chunk bounds default to CHUNK_LINES/CHUNK_BYTES, read at
    iteration time so tests can shrink them to exercise many chunks with little data.
    ``max_record_bytes`` bounds what one line may cost (see :mod:`._bounded`).
    """

    def __init__(
        self,
        inputs: Sequence[str],
        *,
        stdin: IO[bytes] | None = None,
        max_lines: int | None = None,
        max_bytes: int | None = None,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        self.inputs = list(inputs)
        self.max_record_bytes = max_record_bytes
        self._stdin = stdin
        self._max_lines = max_lines
        self._max_bytes = max_bytes

    def __iter__(self) -> Iterator[Chunk]:
        lines_bound = CHUNK_LINES if self._max_lines is None else self._max_lines
        bytes_bound = CHUNK_BYTES if self._max_bytes is None else self._max_bytes
        for name in self.inputs:
            origin = {"source": name}
            with ExitStack() as stack:
                stream = open_input(name, stack, self._stdin)
                units = iter_units(stream, name, max_record_bytes=self.max_record_bytes)
                for chunk in iter_chunks(units, lines_bound, bytes_bound):
                    yield Chunk(origin, chunk)
