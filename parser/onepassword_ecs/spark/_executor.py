"""What runs on the executors: Arrow batches of raw text in, converted rows out.

Each input row is a piece of text (a whole file, gzip or not, as ``binaryFile`` reads
it, or one line) with its ``source`` and the number of its first line. The text goes
through the stream room exactly as ``convert`` reads a file: :func:`iter_units` (blank
lines counted, multi-line pretty documents gathered, record-size bounds), chunks of
:data:`CHUNK_LINES`, and :func:`convert_chunk`, which unwraps pages and arrays and turns
each record into canonical NDJSON bytes or ``convert``'s error line. So the documents
and the rejected records are ``convert``'s, byte for byte, and the accounting too.

Out come three kinds of rows in one Arrow schema (one pass over the input, not one per
output): a document (its JSON text checked against the column layout, what does not
fit moved to ``unmapped``), an error line, or a chunk's ``read`` count, from which the
job checks read = documents + rejected. No row is a Python UDF call: a whole batch
is one call, and plain record lines never exist as dicts outside the mapping room
until the layout check parses the finished document once.
"""

from __future__ import annotations

import functools
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from ..mapping import Dataset
from ..stream import MAX_RECORD_BYTES, Task, convert_chunk, iter_chunks, iter_units
from ._layout import TIMESTAMP, Layout, document_layout

__all__ = [
    "Options",
    "convert_batches",
    "convert_text",
    "converted_arrow_schema",
    "split_unmapped",
]

_ARROW_LEAVES = {
    "string": pa.string(),
    "timestamp": pa.string(),  # the text; the JVM makes the Spark timestamp from it
    "json": pa.string(),
    "long": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "geo_point": pa.struct([("lat", pa.float64()), ("lon", pa.float64())]),
}


def _arrow_type(node: Layout | str) -> Any:
    if not isinstance(node, str):
        return pa.struct([(name, _arrow_type(child)) for name, child in node.items()])
    if node.startswith("array:"):
        return pa.list_(_ARROW_LEAVES[node.removeprefix("array:")])
    return _ARROW_LEAVES[node]


@functools.cache
def converted_arrow_schema() -> Any:
    """What the executors send back: one schema for the three kinds of rows.

    ``document`` is the document as a struct in the layout's order, the same order as
    :func:`~._schema.json_schema`, which Spark is told it is.
    """
    return pa.schema(
        [
            ("document", _arrow_type(document_layout())),
            ("unmapped", pa.string()),
            ("dataset", pa.string()),
            ("date", pa.string()),
            ("error", pa.string()),
            ("read", pa.int64()),
        ]
    )


_GZIP_MAGIC = b"\x1f\x8b"
_BUFFER = 1 << 18
_INT64 = (-(2**63), 2**63 - 1)
_EXACT_DOUBLE = 2**53
_EVENT_PREFIX = "1password."
_VENDOR = "onepassword"


@dataclass(frozen=True)
class Options:
    """``convert``'s options that the Spark path offers; picklable, sent to executors."""

    dataset: Dataset | None = None
    keep_original: bool = False
    max_record_bytes: int = MAX_RECORD_BYTES
    assume_timezone: str | None = None


def _fits(value: Any, kind: str) -> bool:
    """True when Spark's JSON reader puts ``value`` in a column of ``kind`` unchanged."""
    if kind.startswith("array:"):
        item = kind[6:]
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if kind == "string" or kind == "timestamp":
        return isinstance(value, str)
    if kind == "long":
        return type(value) is int and _INT64[0] <= value <= _INT64[1]
    if kind == "double":
        if type(value) is float:
            return True
        return type(value) is int and -_EXACT_DOUBLE <= value <= _EXACT_DOUBLE
    if kind == "boolean":
        return type(value) is bool
    if kind == "geo_point":
        return (
            isinstance(value, dict)
            and value.keys() == {"lat", "lon"}
            and all(_fits(v, "double") for v in value.values())
        )
    return False


def split_unmapped(document: dict[str, Any], layout: Layout) -> tuple[dict[str, Any] | None, bool]:
    """Move out of ``document`` (in place) every value its column could not hold as it is.

    Returns ``(moved, changed)``: ``moved`` holds what left, in the document's nesting
    (``None`` when nothing did), and ``changed`` says whether the document was modified
    at all (a ``json`` leaf becomes its JSON text). An undeclared key, a value of the
    wrong JSON type, a ``null`` or an empty object leaves; Spark would otherwise read it
    as null, or not at all.
    """
    moved: dict[str, Any] | None = None
    changed = False
    for key in list(document):
        value = document[key]
        node = layout.get(key)
        keep = True
        if node is None or value is None:
            keep = False
        elif isinstance(node, str):
            if node == "json":
                document[key] = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
                changed = True
            else:
                keep = _fits(value, node)
        elif isinstance(value, dict) and value:
            inner, inner_changed = split_unmapped(value, node)
            changed = changed or inner_changed
            if inner is not None:
                moved = {} if moved is None else moved
                moved[key] = inner
                if not value:
                    del document[key]
        else:
            keep = False
        if not keep:
            moved = {} if moved is None else moved
            moved[key] = document.pop(key)
            changed = True
    return moved, changed


def _open(data: bytes) -> IO[bytes]:
    """The text of a row as a stream, un-gzipped when it starts with gzip's magic.

    As ``convert`` does: by the magic bytes, not the name, since rotated logs are often
    gzipped without ``.gz``. Decompression streams: the text is never held whole.
    """
    stream: IO[bytes] = io.BytesIO(data)
    if data[:2] == _GZIP_MAGIC:
        stream = io.BufferedReader(gzip.GzipFile(fileobj=stream, mode="rb"), _BUFFER)
    return stream


def _prepared(text: bytes, layout: Layout) -> tuple[dict[str, Any], str | None, str, str]:
    """(document, unmapped, dataset, date) of one canonical NDJSON document.

    The ``onepassword`` object is checked leaf by leaf (the API adds fields at will);
    of the ECS part only the top-level keys are, since the mappers emit only the fields
    of ``emitted_fields.toml`` with their ECS types. Should a value still not fit its
    Arrow type, building the batch fails and :func:`_checked` redoes the chunk with the
    full check; an unknown ECS key below the top would be the one thing pyarrow drops
    silently, and the tests run the full check over the goldens and the benchmark
    corpus to show there is none.
    """
    document = orjson.loads(text)
    moved: dict[str, Any] | None = None
    for key in list(document):
        node = layout.get(key)
        if node is None:
            moved = {} if moved is None else moved
            moved[key] = document.pop(key)
    vendor = document.get(_VENDOR)
    if vendor is not None:
        node = layout[_VENDOR]
        assert not isinstance(node, str)
        inner: dict[str, Any] | None
        if isinstance(vendor, dict) and vendor:
            inner, _ = split_unmapped(vendor, node)
            if not vendor:
                del document[_VENDOR]
        else:
            inner = document.pop(_VENDOR)
        if inner is not None:
            moved = {} if moved is None else moved
            moved[_VENDOR] = inner
    return document, _unmapped_text(moved), _dataset(document), document[TIMESTAMP][:10]


def _checked(text: bytes, layout: Layout) -> tuple[dict[str, Any], str | None, str, str]:
    """The full check: every leaf of the document against its column."""
    document = orjson.loads(text)
    moved, _ = split_unmapped(document, layout)
    return document, _unmapped_text(moved), _dataset(document), document[TIMESTAMP][:10]


def _unmapped_text(moved: dict[str, Any] | None) -> str | None:
    return orjson.dumps(moved, option=orjson.OPT_SORT_KEYS).decode() if moved else None


def _dataset(document: dict[str, Any]) -> str:
    event = document.get("event")
    name = event.get("dataset") if isinstance(event, dict) else None
    return name.removeprefix(_EVENT_PREFIX) if isinstance(name, str) else "unknown"


def _lines(joined: bytes) -> list[bytes]:
    """The lines of newline-terminated NDJSON (canonical JSON holds no raw newline)."""
    return joined.split(b"\n")[:-1] if joined else []


def _batch(
    documents: list[tuple[dict[str, Any], str | None, str, str]], errors: list[str], read: int
) -> pa.RecordBatch:
    """Documents, then error lines, then the chunk's read count, as one Arrow batch."""
    schema = converted_arrow_schema()
    nothing: list[None] = [None] * (len(errors) + 1)
    columns = [
        pa.array([d[0] for d in documents] + nothing, type=schema.field("document").type),
        pa.array([d[1] for d in documents] + nothing, type=pa.string()),
        pa.array([d[2] for d in documents] + nothing, type=pa.string()),
        pa.array([d[3] for d in documents] + nothing, type=pa.string()),
        pa.array([None] * len(documents) + errors + [None], type=pa.string()),
        pa.array([None] * (len(documents) + len(errors)) + [read], type=pa.int64()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def convert_text(
    source: str, first_line: int, data: bytes, options: Options
) -> Iterator[pa.RecordBatch]:
    """One row's text converted, one Arrow batch per chunk of units."""
    layout = document_layout()
    offset = first_line - 1
    units: Iterable[Any] = iter_units(
        _open(data), source, max_record_bytes=options.max_record_bytes
    )
    if offset:
        units = ((number + offset, raw) for number, raw in units)
    origin = {"source": source}
    for chunk in iter_chunks(units):
        result = convert_chunk(
            Task(
                origin,
                chunk,
                options.dataset,
                options.keep_original,
                (),
                options.max_record_bytes,
                options.assume_timezone,
            )
        )
        texts = _lines(result.documents)
        errors = [line.decode() for line in _lines(result.errors)]
        try:
            batch = _batch([_prepared(text, layout) for text in texts], errors, result.read)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            batch = _batch([_checked(text, layout) for text in texts], errors, result.read)
        yield batch


def convert_batches(
    batches: Iterable[pa.RecordBatch], options: Options
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``'s function: rows ``(source, line, value)`` to converted rows."""
    for batch in batches:
        sources = batch.column("source").to_pylist()
        lines = batch.column("line").to_pylist()
        values = batch.column("value")
        for row, source in enumerate(sources):
            data = values[row].as_py()
            if data is None:
                continue
            if isinstance(data, str):
                data = data.encode("utf-8", "surrogatepass")
            first = lines[row]
            yield from convert_text(
                source if source is not None else "-", first if first else 1, data, options
            )
