"""The job: ``python -m onepassword_ecs.spark INPUT... -o OUTPUT`` or ``spark-submit``.

Inputs (paths or globs, any file system Spark reads) are read on the executors and
converted in one pass, which is persisted so that the accounting, the documents and
the rejected records do not convert the input three times. Documents are written
partitioned by ``dataset`` and ``date`` (the UTC day of ``@timestamp``); the rejected
records go to ``OUTPUT/_rejected/`` as JSON lines with ``convert``'s fields, grouped
by input (``source_sha256=``, a hash of its path) so that a re-run replaces exactly what the
same inputs produced before. Both writes overwrite *per partition* (Spark's dynamic
partition overwrite): re-running into the same output is idempotent, and a run on
other inputs leaves earlier partitions alone. ``_rejected`` starts with ``_``, so
Spark, Delta and most engines skip it when reading the documents' table.

Exit statuses are ``convert``'s: 0 all converted, 1 some rejected, 2 usage, an
unreadable input, or an accounting mismatch (read != written + rejected).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Sequence
from typing import IO

from .._errors import OnePasswordEcsError
from ..mapping import parse_dataset
from ..stream import format_summary
from ._executor import Options
from ._frame import Normalized, normalize_frame, read_files, summarize
from ._schema import PARTITION_COLUMNS

__all__ = ["EXIT_OK", "EXIT_REJECTED", "EXIT_USAGE", "FORMATS", "main"]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
FORMATS = ("parquet", "json", "delta")
REJECTED_DIR = "_rejected"
# The rejected records' partition: a hash of their input's path (paths make poor names).
REJECTED_PARTITION = "source_sha256"
_DELTA_PACKAGES = "io.delta.sql.DeltaSparkSessionExtension"
_DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m onepassword_ecs.spark",
        description="Convert 1Password Events API exports into ECS documents with Spark.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files or globs")
    parser.add_argument("-o", "--output", required=True, help="output directory (any URI)")
    parser.add_argument("--format", choices=FORMATS, default="parquet")
    parser.add_argument(
        "--master",
        help="Spark master, e.g. local[2]; omit under spark-submit, which sets it",
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting, e.g. spark.driver.memory=4g (local mode: set before start)",
    )
    parser.add_argument("--dataset", help="treat every record as this dataset")
    parser.add_argument(
        "--keep-original", action="store_true", help="keep each raw record in event.original"
    )
    return parser


def _delta_missing() -> bool:
    return importlib.util.find_spec("delta") is None


def _session(master: str | None, delta: bool, settings: Sequence[str] = ()) -> object:
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("onepassword-ecs")
        # Dates in paths and timestamps written as UTC whatever the machine's zone.
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master:
        builder = builder.master(master)
    for setting in settings:
        key, _, value = setting.partition("=")
        builder = builder.config(key.strip(), value.strip())
    if delta:
        from delta import configure_spark_with_delta_pip  # type: ignore[import-not-found]

        builder = configure_spark_with_delta_pip(
            builder.config("spark.sql.extensions", _DELTA_PACKAGES).config(
                "spark.sql.catalog.spark_catalog", _DELTA_CATALOG
            )
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def run(arguments: argparse.Namespace, err: IO[str]) -> int:
    """Run the job; returns the exit status."""
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.storagelevel import StorageLevel

    if arguments.format == "delta" and _delta_missing():
        err.write(
            "onepassword-ecs spark: --format delta needs delta-spark: "
            'pip install "onepassword-ecs[spark]" delta-spark\n'
        )
        return EXIT_USAGE
    try:
        dataset = parse_dataset(arguments.dataset) if arguments.dataset else None
    except OnePasswordEcsError as exc:
        err.write(f"onepassword-ecs spark: --dataset: {exc}\n")
        return EXIT_USAGE
    bad = [setting for setting in arguments.conf if "=" not in setting]
    if bad:
        err.write(f"onepassword-ecs spark: --conf wants KEY=VALUE, got {bad[0]!r}\n")
        return EXIT_USAGE
    spark = _session(arguments.master, arguments.format == "delta", arguments.conf)
    assert isinstance(spark, SparkSession)
    started = time.monotonic()
    output = arguments.output.rstrip("/")
    options = Options(dataset=dataset, keep_original=arguments.keep_original)
    normalized: Normalized | None = None
    try:
        normalized = normalize_frame(read_files(spark, arguments.inputs), options)
        normalized.converted.persist(StorageLevel.MEMORY_AND_DISK)
        tally = summarize(normalized)
        tally.started = started
        if tally.read != tally.written + tally.rejected_total:
            err.write(
                f"onepassword-ecs spark: accounting mismatch: {tally.read:,} read but "
                f"{tally.written:,} written and {tally.rejected_total:,} rejected\n"
            )
            return EXIT_USAGE
        (
            normalized.documents.write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy(*PARTITION_COLUMNS)
            .format(arguments.format)
            .save(output)
        )
        rejected = normalized.rejected.withColumn(
            REJECTED_PARTITION, F.substring(F.sha2(F.col("source"), 256), 1, 16)
        )
        (
            rejected.write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy(REJECTED_PARTITION)
            .json(f"{output}/{REJECTED_DIR}")
        )
    except PySparkException as exc:
        # An input that matches nothing or cannot be read, an unwritable output.
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        err.write(f"onepassword-ecs spark: {message}\n")
        return EXIT_USAGE
    finally:
        if normalized is not None:
            normalized.converted.unpersist()
    err.write(format_summary(tally))
    return EXIT_REJECTED if tally.rejected_total else EXIT_OK


def main(argv: Sequence[str] | None = None, err: IO[str] | None = None) -> int:
    """Entry point of ``python -m onepassword_ecs.spark`` and of ``spark-submit``."""
    arguments = _parser().parse_args(argv)
    return run(arguments, err if err is not None else sys.stderr)
