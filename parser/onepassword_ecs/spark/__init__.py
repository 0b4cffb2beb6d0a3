"""ECS on Apache Spark: the normalizer over DataFrames, the lake schema, the job.

An optional room (the ``spark`` extra: pyspark with pyarrow); nothing else in the
package imports it, so the base install never needs Java or pyspark. The executors
run the stream room's reader and converter on Arrow batches, so documents and
rejected records are exactly ``convert``'s; the schema is generated from the same
field declarations as the index template. docs/spark.md says how to run it on a
cluster.
"""

from __future__ import annotations

from ._executor import Options, split_unmapped
from ._frame import Normalized, document_from_row, normalize_frame, read_files, summarize
from ._job import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, FORMATS, main
from ._layout import NANOS_COLUMN, UNMAPPED_COLUMN, Layout, document_layout
from ._schema import PARTITION_COLUMNS, document_schema, json_schema, rejected_schema

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "FORMATS",
    "NANOS_COLUMN",
    "PARTITION_COLUMNS",
    "UNMAPPED_COLUMN",
    "Layout",
    "Normalized",
    "Options",
    "document_from_row",
    "document_layout",
    "document_schema",
    "json_schema",
    "main",
    "normalize_frame",
    "read_files",
    "rejected_schema",
    "split_unmapped",
    "summarize",
]
