"""``normalize_bytes`` must be ``orjson.dumps(normalize(line), option=OPT_SORT_KEYS)``
byte for byte (or refuse with the same reason), over the benchmark's realistic corpus,
every golden fixture and the Hypothesis records; and the conversion loop's bytes path
(no stage but the data stream) must write what its dict path writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given

from benchmark_corpus import corpus_lines
from onepassword_ecs import normalize, normalize_bytes
from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.golden._cases import discover_cases
from onepassword_ecs.mapping import DataStreamStage
from onepassword_ecs.stream import Task, convert_chunk
from strategies import records

REPO = Path(__file__).resolve().parents[1]
CORPUS_RECORDS = 3_000


def _both(record: Any, **options: Any) -> tuple[Any, Any]:
    def run(function: Any) -> Any:
        try:
            return function(record, **options)
        except NormalizationError as error:
            return (error.reason, error.path)

    def through_dict(value: Any, **kwargs: Any) -> bytes:
        return orjson.dumps(normalize(value, **kwargs), option=orjson.OPT_SORT_KEYS)

    return run(normalize_bytes), run(through_dict)


def test_the_benchmark_corpus_encodes_identically() -> None:
    for line in corpus_lines(CORPUS_RECORDS):
        fast, slow = _both(line)
        assert fast == slow
        fast, slow = _both(line, data_stream_namespace="prod")
        assert fast == slow


@pytest.mark.parametrize("case", discover_cases([REPO / "fixtures"]), ids=lambda case: case.name)
def test_every_golden_fixture_encodes_identically(case: Any) -> None:
    raw = case.raw_path.read_bytes()
    fast, slow = _both(raw)
    assert fast == slow
    fast, slow = _both(raw, keep_original=True)
    assert fast == slow


@given(records())
def test_hypothesis_records_encode_identically(record: dict[str, Any]) -> None:
    fast, slow = _both(orjson.dumps(record))
    assert fast == slow
    fast, slow = _both(record)
    assert fast == slow


class _Unchanged:
    """A stage that needs the dict and changes nothing: forces the dict path."""

    def __call__(self, document: dict[str, Any]) -> dict[str, Any]:
        return document


def test_the_conversion_loop_writes_the_same_bytes_on_both_paths() -> None:
    lines = [*corpus_lines(500), b'{"uuid": "x"}', b"not json"]
    units = [(number, line) for number, line in enumerate(lines, 1)]
    stage = DataStreamStage("prod")
    fast = convert_chunk(Task({"source": "t"}, units, stages=(stage,)))
    slow = convert_chunk(Task({"source": "t"}, units, stages=(stage, _Unchanged())))
    assert fast.documents == slow.documents
    assert fast.errors == slow.errors
    assert (fast.read, fast.written, fast.rejected, fast.datasets) == (
        slow.read,
        slow.written,
        slow.rejected,
        slow.datasets,
    )
    assert b'"data_stream":{"dataset":' in fast.documents
    assert fast.written == 500
