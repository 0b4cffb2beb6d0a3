"""``data_stream.*`` in the documents: opt-in in the library, on by default in the CLI.

The fields must name the stream the index template matches
(``logs-1password_ecs.<dataset>-<namespace>``), agree between the library and the
CLI, and a namespace no index name can hold must be refused before anything is read.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import Dataset, NormalizationError, normalize, validate
from onepassword_ecs.cli import main
from onepassword_ecs.mapping import DataStreamStage

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples" / "events.ndjson"
RECORDS = {
    Dataset.signin_attempts: {
        "uuid": "S1",
        "timestamp": "2024-05-01T10:00:00Z",
        "category": "success",
        "type": "credentials_ok",
    },
    Dataset.item_usages: {
        "uuid": "I1",
        "timestamp": "2024-05-01T10:00:00.123456789Z",
        "item_uuid": "item",
        "vault_uuid": "vault",
        "action": "reveal",
    },
    Dataset.audit_events: {
        "uuid": "A1",
        "timestamp": "2024-05-01T10:00:00Z",
        "actor_uuid": "ACTOR",
        "action": "create",
        "object_type": "vault",
        "object_uuid": "vault",
    },
}


def run(argv: list[str], stdin: bytes) -> tuple[int, list[bytes], str]:
    out, err = io.BytesIO(), io.StringIO()
    status = main(argv, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue().splitlines(), err.getvalue()


def ndjson(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


def canonical(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


@pytest.mark.parametrize("dataset", list(Dataset))
def test_library_adds_data_stream_only_when_asked(dataset: Dataset) -> None:
    record = RECORDS[dataset]
    plain = normalize(record)
    assert "data_stream" not in plain
    document = normalize(record, data_stream_namespace="prod")
    assert document["data_stream"] == {
        "type": "logs",
        "dataset": f"1password_ecs.{dataset.value}",
        "namespace": "prod",
    }
    assert document["event"]["dataset"] == f"1password.{dataset.value}"
    assert {k: v for k, v in document.items() if k != "data_stream"} == plain
    assert validate(document) == []


@pytest.mark.parametrize("namespace", ["", "a-b", "Prod", "with space", "x" * 101, 7])
def test_library_refuses_a_namespace_no_stream_name_can_hold(namespace: Any) -> None:
    for record in (RECORDS[Dataset.signin_attempts], b"not even json"):
        with pytest.raises(NormalizationError) as caught:
            normalize(record, data_stream_namespace=namespace)
        assert caught.value.reason == "bad_namespace"
        assert "namespace" in caught.value.detail


def test_stage_is_picklable_and_matches_the_library() -> None:
    stage = pickle.loads(pickle.dumps(DataStreamStage("team_a")))
    for record in RECORDS.values():
        assert stage(normalize(record)) == normalize(record, data_stream_namespace="team_a")
    with pytest.raises(NormalizationError, match="may not contain '-'"):
        DataStreamStage("team-a")


def test_cli_output_is_the_library_output_with_namespace_default() -> None:
    raw = EXAMPLES.read_bytes()
    status, lines, _ = run(["convert", "-q", "--errors", "/dev/null"], raw)
    assert status == 1  # the example holds one bad record
    expected = []
    for text in raw.splitlines():
        try:
            expected.append(canonical(normalize(text, data_stream_namespace="default")))
        except NormalizationError:
            continue
    assert lines == expected and len(lines) == 3
    assert {orjson.loads(x)["data_stream"]["namespace"] for x in lines} == {"default"}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_cli_namespace_option(workers: str) -> None:
    records = [RECORDS[d] for d in Dataset] * 2
    status, lines, _ = run(
        ["convert", "-q", "--namespace", "eu.prod", "--workers", workers], ndjson(records)
    )
    assert status == 0
    assert lines == [canonical(normalize(r, data_stream_namespace="eu.prod")) for r in records]


def test_cli_no_data_stream_gives_the_plain_library_output() -> None:
    records = list(RECORDS.values())
    status, lines, _ = run(["convert", "-q", "--no-data-stream"], ndjson(records))
    assert status == 0
    assert lines == [canonical(normalize(r)) for r in records]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--namespace", "bad-ns"], "may not contain '-'"),
        (["--namespace", "Prod"], "must be lower case"),
        (["--namespace", ""], "must not be empty"),
        (["--namespace", "x", "--no-data-stream"], "not allowed with argument"),
    ],
)
def test_cli_refuses_a_bad_namespace_before_reading(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines, err = run(["convert", *argv], ndjson(list(RECORDS.values())))
    assert status == 2
    assert lines == []
    assert message in err + capsys.readouterr().err  # argparse writes to sys.stderr
