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

import base64
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
from ._bounded import (
    HEAD_BYTES,
    MAX_RECORD_BYTES,
    Oversize,
    RecordDigest,
    bounded_lines,
    line_content,
    page_limit,
)

__all__ = [
    "STDIN",
    "InputError",
    "Unit",
    "expand_unit",
    "input_fields",
    "input_text",
    "iter_records",
    "iter_units",
    "open_input",
]

STDIN = "-"
"""The input name that means standard input (also used as ``source`` in error lines)."""

Unit = tuple[int, bytes | Oversize]
"""``(line_number, raw_bytes)``: one input line, or a whole multi-line document.

A line too long to hold is an :class:`Oversize` summary instead of its bytes.
"""

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_BUFFER_SIZE = 1 << 18

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


def iter_units(
    lines: Iterable[bytes], name: str = STDIN, *, max_record_bytes: int = MAX_RECORD_BYTES
) -> Iterator[Unit]:
    """Yield ``(line_number, raw_bytes)`` for each record-bearing unit of ``lines``.

    Normally a unit is one non-blank line, and the input streams in constant memory.
    Line numbers are 1-based and count blank lines, so they match what an editor shows.
    A UTF-8 byte-order mark at the very start is dropped; CRLF endings are left in place
    (JSON treats ``\\r`` as whitespace; :func:`input_text` trims it for error lines).

    When ``lines`` is a binary stream (it has ``readline``), no line is ever held
    whole past the limits of :mod:`._bounded`: a line longer than ``max_record_bytes``
    (or, for a page or array line, than the page limit) becomes an
    :class:`~._bounded.Oversize` unit, read to its end in bounded pieces.

    A line that opens a JSON document without closing it (``{``, ``[``,
    ``{"items": [``) starts a multi-line document: lines are gathered until a closing
    bracket in the first column completes valid JSON, and the document is yielded as one
    unit numbered with its first line. That covers a pretty-printed page or array, and
    ``jq .`` output (several pretty documents in a row). If instead two consecutive lines
    each parse on their own, the input is NDJSON after all (the opener was just a bad
    line) and the gathered lines are yielded one by one. Raises :class:`InputError`
    when reading fails (corrupt gzip).
    """
    readline = getattr(lines, "readline", None)
    source: Iterator[bytes | Oversize] = (
        bounded_lines(readline, max_record_bytes) if readline is not None else iter(lines)
    )
    try:
        yield from _iter_units(source, page_limit(max_record_bytes))
    except _READ_ERRORS as exc:
        raise InputError(f"{name}: cannot read: {exc}") from exc


def _iter_units(lines: Iterator[bytes | Oversize], document_limit: int) -> Iterator[Unit]:
    number = 0
    for line in lines:
        number += 1
        if isinstance(line, Oversize):
            yield number, line
            continue
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        if line.endswith(_OPENER_ENDINGS) and _starts_document(line):
            document, gathered = _gather_document(line, lines, document_limit)
            if document is not None:
                yield number, document
            for offset, buffered in enumerate(gathered):
                # Lines one by one when there is no document; in any case a line too
                # long to hold that ended the gathering.
                if isinstance(buffered, Oversize) or (document is None and not _is_blank(buffered)):
                    yield number + offset, buffered
            number += len(gathered) - 1
        elif not _is_blank(line):
            yield number, line


def _gather_document(
    first: bytes, lines: Iterator[bytes | Oversize], limit: int
) -> tuple[bytes | Oversize | None, list[bytes | Oversize]]:
    """Read on from a document-opening line.

    Returns ``(document, lines_read)``, where ``document`` is ``None`` when the lines
    must be read one by one instead. At the end of the input without a complete
    document, the lines are one malformed document, reported once as ``invalid_json``
    rather than once per fragment, unless one of them parses alone: that record must
    not be lost in a blob. At a line too long to hold, the input is not a pretty
    document after all and the lines are read one by one. A document larger than
    ``limit`` is read on to its closing line without being kept, and comes back as
    one :class:`~._bounded.Oversize` record (``lines_read`` then only counts lines).
    """
    gathered: list[bytes | Oversize] = [first]
    size = len(first)
    standalone = 0  # how many lines so far parse on their own
    previous_standalone = False
    for line in lines:
        gathered.append(line)
        if isinstance(line, Oversize):
            return None, gathered
        size += len(line)
        if _is_blank(line):
            continue
        if _is_closer(line):
            document = b"".join(gathered)  # type: ignore[arg-type]  # no Oversize here
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
        if size > limit:
            if standalone:  # a record among the lines: not one document, read them
                return None, gathered
            return _skip_document(gathered, lines)  # type: ignore[arg-type]
    if standalone:
        return None, gathered
    return b"".join(gathered), gathered  # type: ignore[arg-type]  # no Oversize here


def _skip_document(
    gathered: list[bytes], lines: Iterator[bytes | Oversize]
) -> tuple[Oversize, list[bytes | Oversize]]:
    """Hash and count a too-large document up to its closing line, keeping none of it.

    Returns the document's summary and, in place of its lines, a list of as many blank
    placeholders (the numbering of what follows depends on it). A line too long to
    hold ends the document before it, and is the list's last element.
    """
    digest = RecordDigest()
    last = gathered[-1]
    for kept in gathered[:-1]:
        digest.add(kept)
    spanned: list[bytes | Oversize] = [b""] * len(gathered)
    gathered.clear()
    for line in lines:
        if isinstance(line, Oversize):
            digest.add(line_content(last))
            return digest.finish(), [*spanned, line]
        spanned.append(b"")
        digest.add(last)
        last = line
        if _is_closer(line):
            break
    digest.add(line_content(last))
    return digest.finish(), spanned


def _as_payload(item: Any) -> Any:
    """A container item as ``normalize`` should see it.

    Objects and non-string values go as they are (``normalize`` rejects anything but
    an object as ``not_an_object`` itself). A string goes back to JSON text: passed as
    a str, ``normalize`` would parse the string's *content* as a record. Nothing here
    re-encodes a nested value, which orjson refuses past 255 levels.
    """
    return orjson.dumps(item) if isinstance(item, str) else item


_PAGE_KEYS = frozenset({"items", "cursor", "has_more"})


def _sized(item: Any, max_record_bytes: int) -> Any:
    """An item of a page larger than the record limit, as its payload or an Oversize."""
    try:
        text = orjson.dumps(item)
    except orjson.JSONEncodeError:  # nested too deep to encode: normalize rejects it
        return _as_payload(item)
    if len(text) > max_record_bytes:
        return Oversize.of(text)
    return text if isinstance(item, str) else item


def expand_unit(
    raw: bytes, max_record_bytes: int = MAX_RECORD_BYTES
) -> Iterator[tuple[int | None, Any]]:
    """Yield ``(index, payload)`` for each record of one unit.

    A JSON array yields its items and an Events API page (an object whose ``items`` is
    a list, beside at most ``cursor`` and ``has_more``) yields its ``items``, each with
    its 0-based ``index``; an empty page yields nothing. Anything else, valid or not, is
    one record: ``(None, raw)``, left for ``normalize`` to parse, or to reject with the
    same reason codes as everywhere else.

    A record (the unit itself, or an item, as compact JSON) longer than
    ``max_record_bytes`` comes as an :class:`~._bounded.Oversize` payload instead.
    Items are measured only when the whole unit is over the limit: otherwise none of
    them can be.
    """
    stripped = raw.strip()
    first = stripped[:1]
    too_big = len(stripped) > max_record_bytes
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
                if too_big:
                    yield index, _sized(item, max_record_bytes)
                else:
                    yield index, _as_payload(item)
            return
    yield None, Oversize.of(stripped) if too_big else raw


_UNSHOWABLE = "<this item cannot be shown as JSON>"


def input_text(payload: Any, line: bytes | None = None) -> str:
    """The text of a record for an error line: never raises, whatever the record is.

    Raw lines lose their line ending and have invalid UTF-8 replaced (U+FFFD); items
    taken from a page or array are shown as their own compact JSON rather than the
    whole (possibly huge) line, which ``line`` and ``index`` already locate. An item
    orjson cannot encode (nested over 255 levels) falls back to ``line``, the text of
    the whole line or document it came from.
    """
    if isinstance(payload, bytes):
        return line_content(payload).decode("utf-8", "replace")
    try:
        return orjson.dumps(payload).decode("utf-8")
    except orjson.JSONEncodeError:
        if line is not None:
            return input_text(line)
        return _UNSHOWABLE


def _utf8_head(head: bytes) -> bytes:
    """``head`` cut back to a whole character when the cut fell inside one."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end == len(head) and exc.reason == "unexpected end of data":
            return head[: exc.start]
    return head


def _text_fields(data: bytes) -> dict[str, Any]:
    """``input`` as text, plus ``input_base64`` when the bytes are not valid UTF-8.

    The text replaces what is not UTF-8 (U+FFFD), which cannot be undone; the base64
    copy keeps the exact bytes, so the record can be recovered and sent again.
    """
    try:
        return {"input": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {
            "input": data.decode("utf-8", "replace"),
            "input_base64": base64.b64encode(data).decode("ascii"),
        }


def input_fields(payload: Any, line: bytes | None = None) -> dict[str, Any]:
    """The fields of an error line that carry the record itself.

    ``input`` always (see :func:`input_text`); ``input_base64`` when the record's raw
    bytes are not valid UTF-8; for an :class:`~._bounded.Oversize` record, ``input`` is
    only its first :data:`~._bounded.HEAD_BYTES` bytes, with ``input_length`` and
    ``input_sha256`` describing the whole.
    """
    if isinstance(payload, Oversize):
        fields = _text_fields(_utf8_head(payload.head[:HEAD_BYTES]))
        fields["input_length"] = payload.length
        fields["input_sha256"] = payload.sha256
        return fields
    if isinstance(payload, bytes):
        return _text_fields(line_content(payload))
    try:
        return {"input": orjson.dumps(payload).decode("utf-8")}
    except orjson.JSONEncodeError:
        if line is not None:
            return input_fields(line)
        return {"input": _UNSHOWABLE}


def iter_records(
    lines: Iterable[bytes], name: str = STDIN
) -> Iterator[tuple[int, int | None, Any]]:
    """Yield ``(line_number, index_or_None, payload)`` for every record of an input."""
    for number, raw in iter_units(lines, name):
        if isinstance(raw, Oversize):
            yield number, None, raw
            continue
        for index, payload in expand_unit(raw):
            yield number, index, payload
