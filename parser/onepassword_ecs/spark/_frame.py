"""The library: raw text DataFrames in, ECS documents and rejected records out.

:func:`read_files` reads inputs *on the executors* (``binaryFile``: one row per file,
its path and bytes), so a lake never passes through the driver. One row per file is
what keeps every record's file and line exactly as ``convert`` reports them: line
numbers count from the file's start, blank lines included, and a pretty-printed page
spans many lines; a split file would need a counting pass first. The cost is that one
file is one task and must fit in an executor's memory (gzip is streamed, only the
compressed bytes are held): lakes are made of many rotated files, which is where the
parallelism comes from.

:func:`normalize_frame` takes any DataFrame of text (``value``, string or binary, as
``spark.read.text`` or ``binaryFile`` give; ``source`` and ``line``, the row's first
line number, when known) and returns :class:`Normalized`: lazily evaluated documents
and rejected records from one ``mapInArrow`` pass, plus that pass itself, to persist
before using both. :func:`summarize` does the accounting in one aggregation.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, StringType

from ..stream import Tally
from ._executor import Options, convert_batches
from ._layout import NANOS_COLUMN, TIMESTAMP, UNMAPPED_COLUMN, Layout, document_layout
from ._schema import PARTITION_COLUMNS, converted_schema, json_schema, rejected_schema

__all__ = ["Normalized", "document_from_row", "normalize_frame", "read_files", "summarize"]

# "YYYY-MM-DDTHH:MM:SS.ffffff" of normalize's "...fffffffffZ": microseconds, cut toward
# zero (the text's fraction is never negative, also before 1970).
_MICROS_PREFIX = 26


@dataclass(frozen=True)
class Normalized:
    """The outcome of :func:`normalize_frame`, all lazy.

    ``converted`` is the one conversion pass; ``documents`` and ``rejected`` both read
    it, so persist ``converted`` first when both are used, or the input is converted
    twice.
    """

    converted: DataFrame
    documents: DataFrame
    rejected: DataFrame


def read_files(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    """One row per input file (``source``, ``line`` 1, ``value`` its bytes), read on the executors.

    ``paths`` may hold globs and any file system Spark knows (``s3a://``, ``abfss://``,
    ``dbfs:/``). Gzip is recognised by its magic bytes on the executors, as ``convert``
    does, so rotated files without ``.gz`` are read too.
    """
    frame = spark.read.format("binaryFile").load(list(paths))
    return frame.select(
        F.col("path").alias("source"),
        F.lit(1).cast("long").alias("line"),
        F.col("content").alias("value"),
    )


def _column(frame: DataFrame, name: str, default: Column) -> Column:
    return F.col(name) if name in frame.columns else default


def normalize_frame(
    frame: DataFrame,
    options: Options | None = None,
    *,
    value: str = "value",
    source: str = "source",
    line: str = "line",
) -> Normalized:
    """Convert a DataFrame of raw text into ECS documents and rejected records.

    Each row's ``value`` is a piece of input: a whole file, or one line. Without a
    ``source`` column records say ``"-"``; without ``line`` each row starts at line 1
    (right for whole files; pass the line numbers for rows of single lines). The
    documents have :func:`~._schema.document_schema`'s columns, the rejected records
    ``convert``'s error-line fields.
    """
    chosen = options if options is not None else Options()
    text = F.col(value)
    if not isinstance(frame.schema[value].dataType, BinaryType):
        text = text.cast(StringType()).cast(BinaryType())
    rows = frame.select(
        _column(frame, source, F.lit(None)).cast("string").alias("source"),
        _column(frame, line, F.lit(1)).cast("long").alias("line"),
        text.alias("value"),
    )
    converted = rows.mapInArrow(
        functools.partial(convert_batches, options=chosen), converted_schema()
    )
    return Normalized(converted, _documents(converted), _rejected(converted))


def _documents(converted: DataFrame) -> DataFrame:
    parsed = converted.where(F.col("document").isNotNull())
    document = F.col("document")
    columns: list[Column] = []
    for field in json_schema().fields:
        if field.name == TIMESTAMP:
            stamp = document.getField(TIMESTAMP)
            micros = F.concat(F.substring(stamp, 1, _MICROS_PREFIX), F.lit("Z"))
            columns.append(micros.cast("timestamp").alias(TIMESTAMP))
            columns.append(stamp.alias(NANOS_COLUMN))
        else:
            columns.append(document.getField(field.name).alias(field.name))
    return parsed.select(*columns, UNMAPPED_COLUMN, *PARTITION_COLUMNS)


def _rejected(converted: DataFrame) -> DataFrame:
    return (
        converted.where(F.col("error").isNotNull())
        .select(F.from_json("error", rejected_schema()).alias("e"))
        .select("e.*")
    )


def summarize(normalized: Normalized) -> Tally:
    """Read, written, rejected by reason and documents by dataset, in one aggregation.

    Returns the stream room's :class:`Tally`, so the summary reads as ``convert``'s.
    """
    converted = normalized.converted
    key = (
        F.when(F.col("document").isNotNull(), F.concat(F.lit("d:"), F.col("dataset")))
        .when(
            F.col("error").isNotNull(),
            F.concat(F.lit("r:"), F.get_json_object(F.col("error"), "$.reason")),
        )
        .otherwise(F.lit("t:"))
    )
    grouped = (
        converted.select(key.alias("key"), F.coalesce(F.col("read"), F.lit(0)).alias("read"))
        .groupBy("key")
        .agg(F.count(F.lit(1)).alias("rows"), F.sum("read").alias("read"))
        .collect()
    )
    tally = Tally()
    datasets: Counter[str] = Counter()
    for row in grouped:
        kind, _, name = str(row["key"]).partition(":")
        count: Any = row["rows"]
        if kind == "d":
            tally.written += int(count)
            datasets[name] += int(count)
        elif kind == "r":
            tally.rejected[name] += int(count)
        else:
            tally.read += int(row["read"] or 0)
    tally.datasets.update(datasets)
    return tally


def _restore(values: dict[str, Any], layout: Layout) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        node = layout.get(key)
        if isinstance(node, str) or node is None:
            document[key] = orjson.loads(value) if node == "json" else value
            continue
        inner = _restore(value, node)
        if inner:
            document[key] = inner
    return document


def _merge(into: dict[str, Any], moved: dict[str, Any]) -> None:
    for key, value in moved.items():
        if isinstance(value, dict) and value and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def document_from_row(row: Row | dict[str, Any]) -> dict[str, Any]:
    """The document a row of :func:`normalize_frame`'s documents came from, exactly.

    Columns that are null were absent; ``@timestamp`` is the nanosecond text; ``json``
    columns are parsed back; ``unmapped`` is merged in; the partition columns go.
    """
    values = row.asDict(recursive=True) if isinstance(row, Row) else dict(row)
    stamp = values.pop(NANOS_COLUMN, None)
    values.pop(TIMESTAMP, None)
    unmapped = values.pop(UNMAPPED_COLUMN, None)
    for name in PARTITION_COLUMNS:
        values.pop(name, None)
    document = _restore(values, document_layout())
    if stamp is not None:
        document[TIMESTAMP] = stamp
    if unmapped is not None:
        _merge(document, orjson.loads(unmapped))
    return dict(sorted(document.items()))
