"""The Spark room in local mode (local[2]): the job's output read back is normalize's.

One SparkSession for the whole test session (it is never stopped: the JVM goes with
the process), and one job run over a corpus that covers the cases at once: every
golden record as its pretty-printed file, the same records as one gzip NDJSON file
without ``.gz`` in its name, the bad fixtures as lines, a page and an array with a bad
item. The rejected records are compared with what ``onepassword-ecs convert
--errors`` writes for the same file, a real process.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

pyspark = pytest.importorskip("pyspark")

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql.types import ArrayType, DataType, StructType  # noqa: E402

from onepassword_ecs import normalize, normalize_bytes  # noqa: E402
from onepassword_ecs.spark import (  # noqa: E402
    EXIT_REJECTED,
    EXIT_USAGE,
    NANOS_COLUMN,
    document_from_row,
    document_layout,
    document_schema,
    main,
    split_unmapped,
)
from onepassword_ecs.spark._executor import _checked, _prepared  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
DATASETS = ("audit_events", "item_usages", "signin_attempts")


def _golden_pairs() -> list[tuple[Path, Path]]:
    pairs = []
    for dataset in DATASETS:
        for raw in sorted((FIXTURES / dataset).glob("*.json")):
            if raw.name.endswith(".expected.json"):
                continue
            pairs.append((raw, raw.with_name(raw.name[: -len(".json")] + ".expected.json")))
    return pairs


GOLDEN = _golden_pairs()
# The tests that start Spark (a JVM, a minute or more on a loaded 2-core machine) carry
# the `spark` marker: the default run leaves them out, CI runs them on their own
# (.ci/run: `python -m pytest -m spark`). The schema tests need no JVM and always run.


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    session = (
        SparkSession.builder.master("local[2]")
        .appName("onepassword-ecs-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _canonical(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def _bad_lines() -> list[bytes]:
    """The bad fixtures that are one line each, plus a page and an array with bad items."""
    lines = []
    for case in sorted((FIXTURES / "bad").glob("*.input")):
        data = case.read_bytes()
        body = data[:-1] if data.endswith(b"\n") else data
        if body.strip() and b"\n" not in body and b"\r" not in body:
            lines.append(body)
    good = orjson.loads((FIXTURES / "audit_events" / "create_vault.json").read_bytes())
    lines.append(
        orjson.dumps({"items": [good, {"nope": 1}, good], "cursor": "c", "has_more": False})
    )
    lines.append(orjson.dumps([{"timestamp": "yesterday"}, good]))
    return lines


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark-corpus")
    pretty = folder / "pretty"
    pretty.mkdir()
    for raw, _ in GOLDEN:
        (pretty / f"{raw.parent.name}-{raw.name}").write_bytes(raw.read_bytes())
    compact = b"".join(orjson.dumps(orjson.loads(raw.read_bytes())) + b"\n" for raw, _ in GOLDEN)
    # gzip recognised by its magic bytes, as convert does: no .gz in the name.
    (folder / "rotated.log.1").write_bytes(gzip.compress(compact))
    (folder / "bad.ndjson").write_bytes(b"\n".join(_bad_lines()) + b"\n\n")
    return folder


def _run(corpus: Path, output: Path, *extra: str) -> tuple[int, str]:
    err = io.StringIO()
    status = main(
        [
            str(corpus / "pretty" / "*.json"),
            str(corpus / "rotated.log.1"),
            str(corpus / "bad.ndjson"),
            "-o",
            str(output),
            *extra,
        ],
        err=err,
    )
    return status, err.getvalue()


@pytest.fixture(scope="session")
def job(
    spark: SparkSession, corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("spark-out") / "lake"
    status, summary = _run(corpus, output)
    return {"output": output, "status": status, "summary": summary}


def _expected_documents() -> list[bytes]:
    return [_canonical(normalize(raw.read_bytes())) for raw, _ in GOLDEN]


@pytest.mark.spark
def test_job_output_read_back_is_normalize(
    spark: SparkSession,
    job: dict[str, Any],
    convert_bad: tuple[list[bytes], list[dict[str, Any]]],
) -> None:
    rows = spark.read.parquet(str(job["output"])).collect()
    produced = Counter(_canonical(document_from_row(row)) for row in rows)
    # Each golden record twice (its pretty file, its line in the gzip file), and what
    # convert makes of bad.ndjson's good parts (the page, the arrays).
    expected = Counter(_expected_documents() * 2 + convert_bad[0])
    assert len(convert_bad[0]) >= 3
    assert produced == expected
    for row in rows:
        stamp = row[NANOS_COLUMN]
        micros = row["@timestamp"].isoformat(timespec="microseconds")
        assert micros == stamp[:26]  # microseconds, cut toward zero
        assert str(row["date"]) == stamp[:10]  # read back as a date partition
        assert "1password." + row["dataset"] == row["event"]["dataset"]


@pytest.mark.spark
def test_partitions_are_dataset_and_utc_date(job: dict[str, Any]) -> None:
    output: Path = job["output"]
    folders = {p.relative_to(output).as_posix() for p in output.glob("dataset=*/date=*")}
    expected = set()
    for raw, _ in GOLDEN:
        document = normalize(raw.read_bytes())
        name = document["event"]["dataset"].removeprefix("1password.")
        expected.add(f"dataset={name}/date={document['@timestamp'][:10]}")
    assert folders == expected


@pytest.fixture(scope="session")
def convert_bad(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[bytes], list[dict[str, Any]]]:
    """What ``onepassword-ecs convert`` (a real process) makes of bad.ndjson."""
    folder = tmp_path_factory.mktemp("convert-bad")
    errors, out = folder / "errors.ndjson", folder / "out.ndjson"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "onepassword_ecs",
            "convert",
            "-q",
            "--no-data-stream",
            "-o",
            str(out),
            "--errors",
            str(errors),
            str(corpus / "bad.ndjson"),
        ],
        check=False,
        timeout=120,
    )
    documents = [_canonical(orjson.loads(line)) for line in out.read_bytes().splitlines()]
    return documents, [orjson.loads(line) for line in errors.read_bytes().splitlines()]


@pytest.mark.spark
def test_rejected_records_are_converts_error_lines(
    spark: SparkSession,
    job: dict[str, Any],
    corpus: Path,
    convert_bad: tuple[list[bytes], list[dict[str, Any]]],
) -> None:
    rejected = [
        {k: v for k, v in row.asDict().items() if v is not None and k != "source_sha256"}
        for row in spark.read.json(str(job["output"] / "_rejected")).collect()
    ]
    assert rejected, "the bad records must land in _rejected"
    assert {row["source"] for row in rejected} == {
        (corpus / "bad.ndjson").as_uri().replace("file:///", "file:/")
    }
    expected = convert_bad[1]
    for line in expected:
        line.pop("source")
    got = [{k: v for k, v in row.items() if k != "source"} for row in rejected]
    key = lambda entry: (entry["line"], entry.get("index", -1))  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)
    # Every one-line bad fixture is rejected with its reason, and the page's bad item too.
    reasons = Counter(row["reason"] for row in rejected)
    for case in (FIXTURES / "bad").glob("*.reason"):
        data = case.with_suffix(".input").read_bytes().rstrip(b"\n")
        if data.strip() and b"\n" not in data and b"\r" not in data and data[:1] != b"[":
            assert reasons[case.read_text().strip()] > 0, case.name
    assert any(row.get("index") == 1 for row in rejected)


@pytest.mark.spark
def test_summary_and_exit_status(
    job: dict[str, Any], convert_bad: tuple[list[bytes], list[dict[str, Any]]]
) -> None:
    assert job["status"] == EXIT_REJECTED
    summary = job["summary"]
    documents = 2 * len(GOLDEN) + len(convert_bad[0])
    rejected = len(convert_bad[1])
    read = documents + rejected
    assert summary.startswith(
        f"onepassword-ecs: {read:,} records read, {documents:,} written, {rejected:,} rejected\n"
    ), summary
    reasons = Counter(line["reason"] for line in convert_bad[1])
    listed = ", ".join(f"{reason} {count:,}" for reason, count in sorted(reasons.items()))
    assert f"  rejected by reason: {listed}\n" in summary


def _tree(output: Path) -> dict[str, bytes]:
    return {
        p.relative_to(output).as_posix(): p.read_bytes()
        for p in sorted(output.rglob("*"))
        if p.is_file() and not p.name.startswith((".", "_SUCCESS"))
    }


def _contents(spark: SparkSession, output: Path) -> tuple[Counter[bytes], Counter[bytes]]:
    documents = Counter(
        _canonical(document_from_row(row)) for row in spark.read.parquet(str(output)).collect()
    )
    rejected = Counter(
        orjson.dumps(row.asDict(), option=orjson.OPT_SORT_KEYS)
        for row in spark.read.json(str(output / "_rejected")).collect()
    )
    return documents, rejected


@pytest.mark.spark
def test_rerun_into_the_same_output_is_idempotent(
    spark: SparkSession, corpus: Path, tmp_path: Path
) -> None:
    output = tmp_path / "lake"
    first_status, _ = _run(corpus, output)
    before = _contents(spark, output)
    files_before = len(_tree(output))
    # A partition of another run, which the re-run must leave alone.
    other = output / "dataset=audit_events" / "date=1999-01-01"
    other.mkdir(parents=True)
    (other / "part-keep.parquet").write_bytes(
        next(output.glob("dataset=audit_events/date=*/*.parquet")).read_bytes()
    )
    second_status, _ = _run(corpus, output)
    (other / "part-keep.parquet").unlink()
    other.rmdir()
    assert first_status == second_status == EXIT_REJECTED
    assert _contents(spark, output) == before
    assert len(_tree(output)) == files_before


def test_delta_without_delta_spark_exits_2(corpus: Path, tmp_path: Path) -> None:
    # delta-spark is not a dependency: the message names it.
    if importlib.util.find_spec("delta") is not None:
        pytest.skip("delta-spark is installed here")
    status, err = _run(corpus, tmp_path / "lake", "--format", "delta")
    assert status == EXIT_USAGE
    assert "delta-spark" in err
    assert not (tmp_path / "lake").exists()


@pytest.mark.spark
def test_no_matching_input_exits_2(spark: SparkSession, tmp_path: Path) -> None:
    err = io.StringIO()
    status = main([str(tmp_path / "nothing-*.json"), "-o", str(tmp_path / "lake")], err=err)
    assert status == EXIT_USAGE
    assert "nothing-" in err.getvalue()


# --- the schema -----------------------------------------------------------------------


def _column(schema: DataType, path: list[str]) -> DataType | None:
    node: DataType = schema
    for part in path:
        while isinstance(node, ArrayType):
            node = node.elementType
        if not isinstance(node, StructType) or part not in node.fieldNames():
            return None
        node = node[part].dataType
    return node


def _leaves(value: Any, prefix: list[str]) -> list[list[str]]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in _leaves(item, [*prefix, key])]
    return [prefix]


@pytest.mark.parametrize(("raw", "expected"), GOLDEN, ids=[p[0].stem for p in GOLDEN])
def test_every_golden_field_has_a_column(raw: Path, expected: Path) -> None:
    """Every leaf of a golden document is a column, or an undeclared onepassword leaf."""
    document = orjson.loads(expected.read_bytes())
    schema = document_schema()
    moved, _ = split_unmapped(orjson.loads(expected.read_bytes()), document_layout())
    for path in _leaves(document, []):
        if path[0] == "onepassword" and moved is not None:
            node: Any = moved
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                continue  # kept losslessly in the unmapped JSON column
        column = _column(schema, path)
        if path == ["onepassword", "malformed"]:
            assert column is not None  # flattened: its JSON text
            continue
        assert column is not None, ".".join(path)
    if moved is not None:
        assert set(moved) == {"onepassword"}, moved


def test_schema_is_nested_and_typed() -> None:
    schema = document_schema()
    names = schema.fieldNames()
    assert not [name for name in names if "." in name]
    assert schema["@timestamp"].dataType.typeName() == "timestamp"
    assert schema[NANOS_COLUMN].dataType.typeName() == "string"
    assert _column(schema, ["client", "geo", "location", "lat"]).typeName() == "double"  # type: ignore[union-attr]
    assert isinstance(_column(schema, ["event", "category"]), ArrayType)
    assert _column(schema, ["client", "ip"]).typeName() == "string"  # type: ignore[union-attr]
    assert _column(schema, ["onepassword", "aux_id"]).typeName() == "long"  # type: ignore[union-attr]
    assert _column(schema, ["onepassword", "session", "uuid"]) is not None


def test_unmapped_keeps_what_has_no_column() -> None:
    document = {
        "@timestamp": "2025-01-01T00:00:00.000000000Z",
        "event": {"category": "not-a-list", "dataset": "1password.audit_events"},
        "onepassword": {"aux_id": "12", "future": {"deep": [1, 2]}, "session": {}},
    }
    moved, changed = split_unmapped(document, document_layout())
    assert changed
    assert moved == {
        "event": {"category": "not-a-list"},
        "onepassword": {"aux_id": "12", "future": {"deep": [1, 2]}, "session": {}},
    }
    assert document == {
        "@timestamp": "2025-01-01T00:00:00.000000000Z",
        "event": {"dataset": "1password.audit_events"},
    }


def _corpus_documents(count: int) -> list[bytes]:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from benchmark_corpus import corpus_lines
    finally:
        sys.path.remove(str(ROOT / "tests"))
    return [normalize_bytes(line) for line in corpus_lines(count)]


def test_fast_check_agrees_with_the_full_check() -> None:
    """The executors check only the onepassword object and the top-level keys; on the
    goldens and the benchmark corpus that gives what checking every leaf gives."""
    layout = document_layout()
    texts = [_canonical(orjson.loads(expected.read_bytes())) for _, expected in GOLDEN]
    texts += _corpus_documents(3000)
    for text in texts:
        assert _prepared(text, layout) == _checked(text, layout), text
        moved, _ = split_unmapped(orjson.loads(text), layout)
        assert moved is None or set(moved) == {"onepassword"}, moved


def test_a_value_that_does_not_fit_its_column_goes_to_unmapped() -> None:
    """Past the fast check (an ECS leaf of the wrong type), pyarrow refuses the batch and
    the chunk is redone with the full check: the value is kept in unmapped, not lost."""
    good = normalize((FIXTURES / "audit_events" / "create_vault.json").read_bytes())
    odd = {**good, "user": {**good["user"], "name": 42}}
    line = orjson.dumps(odd) + b"\n"
    # Through the converter the record would be re-mapped, so feed its document as is.
    import pyarrow as pa  # type: ignore[import-untyped]

    from onepassword_ecs.spark._executor import _batch

    layout = document_layout()
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        _batch([_prepared(line.strip(), layout)], [], 1)
    row = _checked(line.strip(), layout)
    assert orjson.loads(row[1] or "{}") == {"user": {"name": 42}}
    assert "name" not in row[0]["user"]


def test_a_conf_without_equals_exits_2_before_spark_starts(tmp_path: Path) -> None:
    err = io.StringIO()
    status = main(["in.ndjson", "-o", str(tmp_path / "lake"), "--conf", "spark.x"], err=err)
    assert status == EXIT_USAGE
    assert "KEY=VALUE" in err.getvalue()
