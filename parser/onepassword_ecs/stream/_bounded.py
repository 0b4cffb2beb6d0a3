"""Reading lines without ever holding more than a bound, whatever the input holds.

A single 200 MB line (a broken export, a hostile sender, a binary file fed by mistake)
must not cost 200 MB, let alone the gigabytes a JSON parser then builds from it. So
lines are read with a length limit: a line that fits is returned as usual; a line that
does not is read on in pieces of :data:`PIECE_BYTES`, only to be counted and hashed,
and comes back as an :class:`Oversize` summary (its first :data:`HEAD_BYTES` bytes,
its length and its SHA-256). That is all an error line needs to identify the record,
and the memory cost is one piece.

The limits, for a given ``max_record_bytes`` (default :data:`MAX_RECORD_BYTES`):

* a record — a plain line, or one item of a page or an array — is at most
  ``max_record_bytes`` bytes of JSON text (line ending excluded);
* a line that holds an Events API page or a JSON array (recognised by its first
  bytes) may be up to ``PAGE_FACTOR * max_record_bytes``, because a page carries up to
  1,000 records; it is then parsed, and each item is checked against the record limit;
* a multi-line (pretty-printed) document is gathered up to the same page limit; a
  larger one is read to its closing line and reported as one too-large record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

__all__ = [
    "HEAD_BYTES",
    "MAX_RECORD_BYTES",
    "PAGE_FACTOR",
    "PIECE_BYTES",
    "Oversize",
    "RecordDigest",
    "bounded_lines",
    "line_content",
    "page_limit",
]

MAX_RECORD_BYTES = 1 << 20
"""Default largest record, in bytes of JSON text (1 MiB; real records are about 1 KiB)."""

PAGE_FACTOR = 4
"""A page or array line may be this many times the record limit (4 MiB by default).

A full Events API page is 1,000 records of about 1 KiB each, so 4 MiB leaves room
for four times that. Parsing and converting a page costs about 16 times its size
(its items as Python objects, their documents), so this factor is what keeps the
peak memory of the converter within the bound the README states.
"""

HEAD_BYTES = 4096
"""How much of a too-large record its error line carries."""

PIECE_BYTES = 1 << 20
"""How much of an over-long line is in memory at once while it is counted and hashed."""

_BOM = b"\xef\xbb\xbf"


def page_limit(max_record_bytes: int) -> int:
    """The largest page, array line or multi-line document for a record limit."""
    return PAGE_FACTOR * max_record_bytes


@dataclass(frozen=True)
class Oversize:
    """A record too large to hold, reduced to what its error line needs.

    ``head`` is its first :data:`HEAD_BYTES` bytes, ``length`` its full length and
    ``sha256`` the hex digest of all its bytes (the line ending is not part of the
    record), so the record can be found again in the input and checked.
    """

    head: bytes
    length: int
    sha256: str

    @classmethod
    def of(cls, data: bytes) -> Oversize:
        """The summary of a record that is in memory (an item taken out of a page)."""
        return cls(data[:HEAD_BYTES], len(data), hashlib.sha256(data).hexdigest())


class RecordDigest:
    """Length, SHA-256 and head of a record too large to keep, fed a part at a time.

    :meth:`add` takes exact bytes; :meth:`feed` takes the pieces of one line, whose
    ending is not part of the record. The ``\\r`` of a ``\\r\\n`` ending may end one
    piece while the ``\\n`` starts the next, so a trailing ``\\r`` is held back until
    the next piece says what it was.
    """

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._length = 0
        self._head = bytearray()
        self._held = b""

    def feed(self, piece: bytes) -> None:
        if piece.endswith(b"\n"):
            piece = piece[:-1]
            if piece.endswith(b"\r"):
                piece = piece[:-1]
            elif not piece:
                self._held = b""  # it was the \r of a split \r\n
        if self._held:
            self.add(self._held)
            self._held = b""
        if piece.endswith(b"\r"):
            self._held = b"\r"
            piece = piece[:-1]
        self.add(piece)

    def add(self, data: bytes) -> None:
        self._hash.update(data)
        self._length += len(data)
        missing = HEAD_BYTES - len(self._head)
        if missing > 0:
            self._head += data[:missing]

    def finish(self) -> Oversize:
        if self._held:  # a lone \r at the very end of the input is content
            self.add(self._held)
            self._held = b""
        return Oversize(bytes(self._head), self._length, self._hash.hexdigest())


def line_content(line: bytes) -> bytes:
    """A raw line without its ``\\n`` or ``\\r\\n`` ending: the record's own bytes."""
    if line.endswith(b"\n"):
        line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
    return line


def _content_length(line: bytes) -> int:
    """Length of a line without its ``\\n`` or ``\\r\\n`` ending."""
    if line.endswith(b"\r\n"):
        return len(line) - 2
    if line.endswith(b"\n"):
        return len(line) - 1
    return len(line)


def _looks_like_container(first: bytes) -> bool:
    """True when a line starts like a JSON array or an Events API page.

    Only those lines may exceed the record limit (up to the page limit). The page
    envelope is small (``cursor``, ``has_more``), so ``"items"`` shows up early.
    """
    start = first[:HEAD_BYTES].removeprefix(_BOM).lstrip()
    return start[:1] == b"[" or (start[:1] == b"{" and b'"items"' in start)


def _read_long_line(
    first: bytes, readline: Callable[[int], bytes], record_limit: int
) -> bytes | Oversize:
    """Finish reading a line whose first ``first`` bytes already exceed the record limit.

    A page or array line is kept while it stays within the page limit; anything else,
    and a page past that limit, is counted and hashed to its end and dropped.
    """
    pieces = [first]
    complete = first.endswith(b"\n")
    if _looks_like_container(first):
        limit = page_limit(record_limit)
        size = len(first)
        while not complete and size <= limit + 2:
            piece = readline(PIECE_BYTES)
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
            complete = piece.endswith(b"\n")
        whole = b"".join(pieces) if size <= limit + 2 else b""
        if whole and _content_length(whole) <= limit:
            return whole
        del whole
    digest = RecordDigest()
    for piece in pieces:
        digest.feed(piece)
    pieces.clear()
    while not complete:
        piece = readline(PIECE_BYTES)
        if not piece:
            break
        digest.feed(piece)
        complete = piece.endswith(b"\n")
    return digest.finish()


def bounded_lines(
    readline: Callable[[int], bytes], max_record_bytes: int = MAX_RECORD_BYTES
) -> Iterator[bytes | Oversize]:
    """Lines as ``bytes`` (ending included), or :class:`Oversize` for over-long ones.

    ``readline`` is a binary stream's ``readline(limit)``; memory stays within about
    the page limit plus one piece, whatever the length of a line.
    """
    # +2: room for the line's own "\r\n", which is not part of the record. The
    # iter(partial(...)) loop runs readline from C: this is the hot path of every run.
    first_read = max_record_bytes + 2
    line: bytes | Oversize
    for line in iter(partial(readline, first_read), b""):
        if len(line) > max_record_bytes and _content_length(line) > max_record_bytes:
            line = _read_long_line(line, readline, max_record_bytes)
        yield line
