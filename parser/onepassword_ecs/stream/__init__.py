"""Streams in and out: sources, the conversion loop with its accounting, and sinks.

The data flow every command shares::

    Source ──chunks──▶ normalize ──▶ stages ──▶ Sink, Sink, ...   (documents)
                           └──────────────────▶ error Sink       (rejected records)

:class:`Source`, :data:`Stage` and :class:`Sink` are the seams other rooms plug into:
the collector is a source, enrichment and redaction are stages, the store and the
search clusters are sinks.
"""

from __future__ import annotations

from ._bounded import HEAD_BYTES, MAX_RECORD_BYTES, PAGE_FACTOR, Oversize
from ._convert import (
    INTERNAL_ERROR,
    RECORD_TOO_LARGE,
    ChunkResult,
    SinkTally,
    Tally,
    Task,
    convert,
    convert_chunk,
    deliver,
    ordered_map,
)
from ._output import CountingOutput, atomic_output, writes_in_place
from ._reader import (
    STDIN,
    InputError,
    Unit,
    expand_unit,
    input_fields,
    input_text,
    iter_records,
    iter_units,
)
from ._report import Delivery, Progress, format_summary
from ._sink import Batch, ByteWriter, NdjsonSink, Rejection, Sink, SinkResult
from ._source import CHUNK_BYTES, CHUNK_LINES, Chunk, FileSource, Source, iter_chunks
from ._stage import STAGE_ERROR, Stage, apply_stages

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_LINES",
    "HEAD_BYTES",
    "INTERNAL_ERROR",
    "MAX_RECORD_BYTES",
    "PAGE_FACTOR",
    "RECORD_TOO_LARGE",
    "STAGE_ERROR",
    "STDIN",
    "Batch",
    "ByteWriter",
    "Chunk",
    "ChunkResult",
    "CountingOutput",
    "Delivery",
    "FileSource",
    "InputError",
    "NdjsonSink",
    "Oversize",
    "Progress",
    "Rejection",
    "Sink",
    "SinkResult",
    "SinkTally",
    "Source",
    "Stage",
    "Tally",
    "Task",
    "Unit",
    "apply_stages",
    "atomic_output",
    "convert",
    "convert_chunk",
    "deliver",
    "expand_unit",
    "format_summary",
    "input_fields",
    "input_text",
    "iter_chunks",
    "iter_records",
    "iter_units",
    "ordered_map",
    "writes_in_place",
]
