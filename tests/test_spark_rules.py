"""The Spark SQL exports match the same events as the local engine, in Spark itself.

Every test record of every rule's cases, and every golden record, goes through
``normalize_frame`` (local[2]) into the lake's columns; the exported single-event
queries (``rules export --target spark``, the golden files) run over them as the
``onepassword_ecs`` view, and each must return exactly the events the local engine
alerts on for the same documents and context. Correlations are not exported (see
``detect/_spark_export.py``), so only event rules are compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

pytest.importorskip("pyspark")

from pyspark.sql import SparkSession

from onepassword_ecs import normalize
from onepassword_ecs.detect import detect, load_context, load_rules
from onepassword_ecs.detect._spark_export import SPARK_TABLE, array_fields
from onepassword_ecs.spark import normalize_frame

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden_exports"


def _documents() -> tuple[list[bytes], dict[str, dict[str, Any]]]:
    raws: list[bytes] = []
    for path in sorted((ROOT / "rules").glob("*.cases.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            if case.get("assume_timezone"):
                continue  # peers' records without an offset: the job reads RFC 3339 only
            raws.extend(orjson.dumps(record) for record in case["records"])
    for dataset in ("audit_events", "item_usages", "signin_attempts"):
        for path in sorted((ROOT / "fixtures" / dataset).glob("*.json")):
            if not path.name.endswith(".expected.json"):
                raws.append(orjson.dumps(orjson.loads(path.read_bytes())))
    documents = {}
    kept = []
    for raw in raws:
        document = normalize(raw)
        if document["event"]["id"] not in documents:  # one event per id, as an index
            documents[document["event"]["id"]] = document
            kept.append(raw)
    return kept, documents


def test_array_fields_are_the_ecs_arrays() -> None:
    assert {"event.category", "event.type", "related.ip", "related.user"} <= array_fields()
    assert "event.action" not in array_fields()


@pytest.mark.spark
def test_spark_exports_match_the_local_engine() -> None:
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    raws, documents = _documents()
    lines = spark.createDataFrame(
        [(f"case-{n}", 1, raw) for n, raw in enumerate(raws)],
        "source string, line long, value binary",
    )
    # Cached: each query would otherwise convert every record again.
    normalize_frame(lines).documents.cache().createOrReplaceTempView(SPARK_TABLE)
    context = load_context(GOLDEN / "context.toml")
    rules = {rule.name: rule for rule in load_rules()}
    compared = 0
    for query_file in sorted((GOLDEN / "spark").glob("*.sql")):
        rule = rules[query_file.stem]
        assert rule.kind == "event", f"{rule.name}: only single-event rules are exported"
        query = query_file.read_text(encoding="utf-8").strip()
        remote = {row["id"] for row in spark.sql(query).select("event.id").collect()}
        outcome, _new = detect([rule], context, documents.values())
        local = {i for alert in outcome.alerts for i in alert["onepassword"]["alert"]["event_ids"]}
        assert local, f"{rule.name}: no test event matches; the comparison would prove nothing"
        assert remote == local, f"{rule.name}: Spark {sorted(remote)} vs engine {sorted(local)}"
        compared += 1
    assert compared >= 15


@pytest.mark.spark
def test_an_array_field_matches_any_element() -> None:
    """A rule on event.category (a Spark array) matches element-wise, case-insensitively."""
    from sigma.collection import SigmaCollection

    from onepassword_ecs.detect._spark_export import SparkSqlBackend

    rule = SigmaCollection.from_yaml(
        """
title: t
logsource: {product: onepassword}
detection:
  selection:
    event.category: IAM
    related.user|endswith: '@ACME.example'
  condition: selection
"""
    )
    (query,) = SparkSqlBackend().convert(rule)
    assert "exists(event.category, element ->" in query
    spark = SparkSession.builder.getOrCreate()
    raws, documents = _documents()
    frame = spark.createDataFrame(
        [("x", 1, raw) for raw in raws], "source string, line long, value binary"
    )
    normalize_frame(frame).documents.cache().createOrReplaceTempView(SPARK_TABLE)
    got = {row["id"] for row in spark.sql(query).select("event.id").collect()}
    expected = {
        event_id
        for event_id, document in documents.items()
        if "iam" in document["event"].get("category", [])
        and any(
            u.lower().endswith("@acme.example") for u in document.get("related", {}).get("user", [])
        )
    }
    assert expected
    assert got == expected
