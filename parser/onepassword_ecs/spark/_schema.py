"""Spark schemas: the documents (generated from the layout) and the rejected records.

The document schema is what lands in Parquet or Delta: ECS objects as nested structs
(``event``, ``client.geo``, ...; never dotted column names), typed leaves, ECS arrays as
arrays, a geo point as ``struct<lat, lon>``. ``@timestamp`` is a Spark timestamp
(microseconds, for range filters and partition pruning) and :data:`NANOS_COLUMN`
beside it keeps the document's text with its nine fractional digits; what has no
column is JSON text in :data:`UNMAPPED_COLUMN`. ``dataset`` and ``date`` (the UTC day
of ``@timestamp``) are the partition columns.
"""

from __future__ import annotations

import functools

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from ._layout import NANOS_COLUMN, TIMESTAMP, UNMAPPED_COLUMN, Layout, document_layout

__all__ = [
    "PARTITION_COLUMNS",
    "REJECTED_FIELDS",
    "converted_schema",
    "document_schema",
    "json_schema",
    "rejected_schema",
]

PARTITION_COLUMNS = ("dataset", "date")

# Leaf kind -> Spark type; "timestamp" differs between the JSON text and the columns.
_LEAF_TYPES: dict[str, DataType] = {
    "string": StringType(),
    "long": LongType(),
    "double": DoubleType(),
    "boolean": BooleanType(),
    "json": StringType(),
    "geo_point": StructType(
        [StructField("lat", DoubleType(), True), StructField("lon", DoubleType(), True)]
    ),
}

# convert's error-line fields, in convert's order, with their types.
REJECTED_FIELDS: tuple[tuple[str, DataType], ...] = (
    ("source", StringType()),
    ("line", LongType()),
    ("index", LongType()),
    ("reason", StringType()),
    ("path", StringType()),
    ("message", StringType()),
    ("input", StringType()),
    ("input_base64", StringType()),
    ("input_length", LongType()),
    ("input_sha256", StringType()),
)


def _type(node: Layout | str, timestamp: DataType) -> DataType:
    if not isinstance(node, str):
        return StructType(
            [StructField(name, _type(child, timestamp), True) for name, child in node.items()]
        )
    if node == "timestamp":
        return timestamp
    if node.startswith("array:"):
        return ArrayType(_LEAF_TYPES[node.removeprefix("array:")], True)
    return _LEAF_TYPES[node]


@functools.cache
def json_schema() -> StructType:
    """The document as the executors send it: JSON's own types, ``@timestamp`` as text."""
    schema = _type(document_layout(), StringType())
    assert isinstance(schema, StructType)
    return schema


@functools.cache
def document_schema() -> StructType:
    """The documents' columns: the layout, the timestamp pair, unmapped, the partitions."""
    fields: list[StructField] = []
    for field in json_schema().fields:
        if field.name == TIMESTAMP:
            fields.append(StructField(TIMESTAMP, TimestampType(), True))
            fields.append(StructField(NANOS_COLUMN, StringType(), True))
        else:
            fields.append(field)
    fields.append(StructField(UNMAPPED_COLUMN, StringType(), True))
    fields.extend(StructField(name, StringType(), True) for name in PARTITION_COLUMNS)
    return StructType(fields)


@functools.cache
def converted_schema() -> StructType:
    """The executors' rows: a document (a struct, ``@timestamp`` as text), its unmapped
    JSON, its partitions; or an error line; or a chunk's ``read`` count."""
    return StructType(
        [
            StructField("document", json_schema(), True),
            StructField(UNMAPPED_COLUMN, StringType(), True),
            *(StructField(name, StringType(), True) for name in PARTITION_COLUMNS),
            StructField("error", StringType(), True),
            StructField("read", LongType(), True),
        ]
    )


@functools.cache
def rejected_schema() -> StructType:
    """The rejected records' columns: ``convert``'s error-line fields."""
    return StructType([StructField(name, kind, True) for name, kind in REJECTED_FIELDS])
