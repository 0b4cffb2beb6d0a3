"""Reading Events API exports: files or stdin, gzip or not, lines, pages and arrays.

People feed the converter whatever their collector left behind: NDJSON written by a
SIEM shipper, gzip-rotated logs (often without a ``.gz`` name), raw API response pages
saved with ``curl``, or one pretty-printed page copied out of a browser. This module
turns all of those into the same sequence of raw records, in two layers, so that the
converter can hand whole chunks of *lines* to worker processes and let them do the
(CPU-bound) unwrapping:

1. :func:`iter_units` yields *units* ``(line_number, raw_bytes)``: normally one per
   non-blank line (constant memory), or one per JSON document spread over many lines
   (a pretty-printed page or array, or each document of ``jq .`` output).
2. :func:`expand_unit` turns one unit into records ``(index, payload)``: one record for
   a plain line (``index`` is ``None`` and ``payload`` the untouched bytes, so that
   ``normalize`` itself reports ``invalid_json``/``not_an_object``), or one per item of
   a JSON array or an Events API page ``{"items": [...], "cursor": ..., "has_more": ...}``.

:func:`iter_records` composes both for callers that want ``(line, index, payload)``.
"""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from typing import IO, Any

import orjson

from .._errors import NormalizationError, OnePasswordEcsError
from ..mapping import decode_json

__all__ = [
    "STDIN",
    "InputError",
    "Unit",
    "expand_unit",
    "input_text",
    "iter_records",
    "iter_units",
    "open_input",
]

STDIN = "-"
"""The input name that means standard input (also used as ``source`` in error lines)."""

Unit = tuple[int, bytes]
"""``(line_number, raw_bytes)``: one input line, or a whole multi-line document."""

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_BUFFER_SIZE = 1 << 18

# A whole-input document is held in memory (it must be, to be parsed). Past this size we
# stop believing the input is one document and fall back to line-by-line reading, so a
# pathological input (every line truncated) cannot exhaust memory.
_MAX_DOCUMENT_BYTES = 256 << 20

# Reading errors that mean "this input cannot be read" rather than "a record is bad".
_READ_ERRORS = (OSError, EOFError, zlib.error)


class InputError(OnePasswordEcsError):
    """An input cannot be read at all (missing file, corrupt gzip stream, ...).

    Unlike a bad record, this stops the run: the CLI exits with status 2.
    """


class _Prefixed(io.RawIOBase):
    """A raw stream that replays a few already-read bytes before the rest.

    Sniffing the gzip magic means reading two bytes; not every stream can ``peek``
    (pipes can, ``BytesIO`` cannot), so we read them and put them back this way.
    """

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = head
        # read1 returns what is available instead of waiting for a full buffer, which
        # keeps a live pipe (tail -f | onepassword-ecs convert) flowing.
        self._read = getattr(rest, "read1", rest.read)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            size = min(len(view), len(self._head))
            view[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._read(len(view))
        view[: len(data)] = data
        return len(data)


def open_input(name: str, stack: ExitStack, stdin: IO[bytes] | None = None) -> IO[bytes]:
    """Open ``name`` (``-`` for standard input) for line iteration, un-gzipping if needed.

    Gzip is recognised by its magic bytes, because rotated logs are often gzipped
    without a ``.gz`` name (and a ``.gz`` name is sometimes a lie). Resources are
    registered on ``stack``; standard input itself is never closed.
    Raises :class:`InputError` when the input cannot be opened.
    """
    if name == STDIN:
        raw: IO[bytes] = stdin if stdin is not None else sys.stdin.buffer
    else:
        try:
            raw = stack.enter_context(open(name, "rb"))  # noqa: SIM115 - closed by stack
        except OSError as exc:
            raise InputError(f"{name}: cannot open: {exc.strerror or exc}") from exc
    try:
        head = raw.read(2)
    except _READ_ERRORS as exc:
        raise InputError(f"{name}: cannot read: {exc}") from exc
    stream: IO[bytes] = io.BufferedReader(_Prefixed(head, raw), buffer_size=_BUFFER_SIZE)
    if head == _GZIP_MAGIC:
        gz = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
        # GzipFile iterates line by line in Python; a BufferedReader on top does it in C.
        stream = io.BufferedReader(gz, buffer_size=_BUFFER_SIZE)
    return stream


def _is_blank(line: bytes) -> bool:
    return not line or line.isspace()


# How a pretty-printed document's first line ends: "{", "[", '{"items": ['.
_OPENER_ENDINGS = (b"{\n", b"[\n", b"{\r\n", b"[\r\n", b"{", b"[")
# How it ends: a closing bracket alone, in the first column.
_CLOSERS = (b"}", b"]")


def _starts_document(line: bytes) -> bool:
    """True when ``line`` opens a JSON object/array that continues on the next lines.

    Callers first check the cheap ``line.endswith(_OPENER_ENDINGS)``; this then
    confirms the line is valid JSON so far, cut off at its end (``{``, ``[``,
    ``{"items": [``), rather than a broken line that happens to end with a bracket.
    """
    stripped = line.strip()
    if stripped[:1] not in (b"{", b"["):
        return False
    try:
        orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        # "Unexpected end of data": the error sits at the very end of the text.
        # orjson reports the position in characters, hence the decode.
        return exc.pos >= len(stripped.decode("utf-8", "replace"))
    return False


def _is_closer(line: bytes) -> bool:
    return line[:1] in _CLOSERS and line.rstrip() in _CLOSERS


def _is_record_line(line: bytes) -> bool:
    """True when ``line`` alone is a non-empty object or array, i.e. a real NDJSON line.

    Pretty printers never put a non-empty object or array on a line by itself, except
    the last item of a "one item per line" array (the others end with a comma).
    """
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict | list) and bool(value)


def iter_units(lines: Iterable[bytes], name: str = STDIN) -> Iterator[Unit]:
    """Yield ``(line_number, raw_bytes)`` for each record-bearing unit of ``lines``.

    Normally a unit is one non-blank line, and the input streams in constant memory.
    Line numbers are 1-based and count blank lines, so they match what an editor shows.
    A UTF-8 byte-order mark at the very start is dropped; CRLF endings are left in place
    (JSON treats ``\\r`` as whitespace; :func:`input_text` trims it for error lines).

    A line that opens a JSON document without closing it (``{``, ``[``,
    ``{"items": [``) starts a multi-line document: lines are gathered until a closing
    bracket in the first column completes valid JSON, and the document is yielded as one
    unit numbered with its first line. That covers a pretty-printed page or array, and
    ``jq .`` output (several pretty documents in a row). If instead two consecutive lines
    each parse on their own, the input is NDJSON after all (the opener was just a bad
    line) and the gathered lines are yielded one by one. Raises :class:`InputError`
    when reading fails (corrupt gzip).
    """
    try:
        yield from _iter_units(iter(lines))
    except _READ_ERRORS as exc:
        raise InputError(f"{name}: cannot read: {exc}") from exc


def _iter_units(lines: Iterator[bytes]) -> Iterator[Unit]:
    number = 0
    for line in lines:
        number += 1
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        if line.endswith(_OPENER_ENDINGS) and _starts_document(line):
            document, gathered = _gather_document(line, lines)
            if document is not None:
                yield number, document
            else:
                for offset, buffered in enumerate(gathered):
                    if not _is_blank(buffered):
                        yield number + offset, buffered
            number += len(gathered) - 1
        elif not _is_blank(line):
            yield number, line


def _gather_document(first: bytes, lines: Iterator[bytes]) -> tuple[bytes | None, list[bytes]]:
    """Read on from a document-opening line.

    Returns ``(document, lines_read)``, where ``document`` is ``None`` when the lines
    must be read one by one instead. At the end of the input (or past
    ``_MAX_DOCUMENT_BYTES``) without a complete document, the lines are one malformed
    document, reported once as ``invalid_json`` rather than once per fragment, unless
    one of them parses alone: that record must not be lost in a blob.
    """
    gathered = [first]
    size = len(first)
    standalone = 0  # how many lines so far parse on their own
    previous_standalone = False
    for line in lines:
        gathered.append(line)
        size += len(line)
        if _is_blank(line):
            continue
        if _is_closer(line):
            document = b"".join(gathered)
            try:
                orjson.loads(document)
            except orjson.JSONDecodeError:
                pass
            else:
                return document, gathered
        current_standalone = _is_record_line(line)
        if current_standalone and previous_standalone:
            return None, gathered
        previous_standalone = current_standalone
        standalone += current_standalone
        if size > _MAX_DOCUMENT_BYTES:
            return None, gathered
    if standalone:
        return None, gathered
    return b"".join(gathered), gathered


def _as_payload(item: Any) -> Any:
    """A container item as ``normalize`` should see it.

    Objects and non-string values go as they are (``normalize`` rejects anything but
    an object as ``not_an_object`` itself). A string goes back to JSON text: passed as
    a str, ``normalize`` would parse the string's *content* as a record. Nothing here
    re-encodes a nested value, which orjson refuses past 255 levels.
    """
    return orjson.dumps(item) if isinstance(item, str) else item


_PAGE_KEYS = frozenset({"items", "cursor", "has_more"})


def expand_unit(raw: bytes) -> Iterator[tuple[int | None, Any]]:
    """Yield ``(index, payload)`` for each record of one unit.

    A JSON array yields its items and an Events API page (an object whose ``items`` is
    a list, beside at most ``cursor`` and ``has_more``) yields its ``items``, each with
    its 0-based ``index``; an empty page yields nothing. Anything else, valid or not, is
    one record: ``(None, raw)``, left for ``normalize`` to parse, or to reject with the
    same reason codes as everywhere else.
    """
    stripped = raw.strip()
    first = stripped[:1]
    if first == b"[" or (first == b"{" and b'"items"' in stripped):
        try:
            # decode_json, not orjson.loads: a record of the page that repeats a key or
            # holds a big integer must reach normalize as such (issue 9, items 7 and 8).
            value = decode_json(stripped)
        except NormalizationError:
            value = None
        if isinstance(value, dict):
            # A page has "items" and at most the envelope keys; a record that merely
            # carries an "items" field (the API may add one) stays a record.
            items = value.get("items")
            is_page = isinstance(items, list) and value.keys() <= _PAGE_KEYS
            value = items if is_page else None
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield index, _as_payload(item)
            return
    yield None, raw


def input_text(payload: Any, line: bytes | None = None) -> str:
    """The text of a record for an error line: never raises, whatever the record is.

    Raw lines lose their line ending and have invalid UTF-8 replaced (U+FFFD); items
    taken from a page or array are shown as their own compact JSON rather than the
    whole (possibly huge) line, which ``line`` and ``index`` already locate. An item
    orjson cannot encode (nested over 255 levels) falls back to ``line``, the text of
    the whole line or document it came from.
    """
    if isinstance(payload, bytes):
        return payload.rstrip(b"\r\n").decode("utf-8", "replace")
    try:
        return orjson.dumps(payload).decode("utf-8")
    except orjson.JSONEncodeError:
        if line is not None:
            return input_text(line)
        return "<this item cannot be shown as JSON>"


def iter_records(
    lines: Iterable[bytes], name: str = STDIN
) -> Iterator[tuple[int, int | None, Any]]:
    """Yield ``(line_number, index_or_None, payload)`` for every record of an input."""
    for number, raw in iter_units(lines, name):
        for index, payload in expand_unit(raw):
            yield number, index, payload
