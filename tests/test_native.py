"""The native mapper (mapping/_cnative.c) against the pure path: byte-identical output or
an identical hand-back, for ``normalize_bytes``, ``normalize_tagged`` and ``normalize``,
with and without a data-stream namespace.

Inputs: every golden fixture, the benchmark corpus, Hypothesis records written several
ways (compact, orjson-indented, the standard library's spacing and ASCII escapes), and
a mutation corpus of 50,000+ inputs made deterministically from item usages and
sign-ins by byte edits and value swaps. Each test also checks the native mapper
*took* a share of its inputs, so a mapper that handed everything back would fail.

The same comparisons are what ``scripts/sanitize.sh`` runs under AddressSanitizer and
UndefinedBehaviorSanitizer; ``test_the_suite_passes_on_the_pure_path`` runs the mapping
tests with ``ONEPASSWORD_ECS_PURE=1``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmark_corpus import corpus_lines
from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.golden._cases import discover_cases
from onepassword_ecs.mapping import (
    Dataset,
    _native,
    mapper_implementation,
    normalize,
    normalize_bytes,
    normalize_tagged,
)
from strategies import records

REPO = Path(__file__).resolve().parents[1]
NATIVE = _native._LOADED
MUTATIONS = 50_000

needs_native = pytest.mark.skipif(NATIVE is None, reason="the native mapper is not built here")


def _outcome(function: Callable[..., Any], record: Any, **options: Any) -> Any:
    try:
        result = function(record, **options)
    except NormalizationError as error:
        return ("error", error.reason, error.path, str(error))
    if isinstance(result, dict):
        # The dict itself, and its key order as the caller sees it.
        return result, orjson.dumps(result)
    return result


def _pure(function: Callable[..., Any], record: Any, **options: Any) -> Any:
    _native.disable()
    try:
        return _outcome(function, record, **options)
    finally:
        _native.enable()


def assert_same(record: Any, entry: Callable[..., Any] = normalize_bytes, **options: Any) -> None:
    """The entry point gives the same result (or error) with and without the native mapper."""
    native = _outcome(entry, record, **options)
    pure = _pure(entry, record, **options)
    assert native == pure, (record, options)


def took(record: Any, dataset: int = 0) -> bool:
    """Did the native mapper take ``record`` (rather than hand it back)?"""
    assert NATIVE is not None
    return NATIVE(record, dataset, None, False) is not None


ENTRIES = (normalize_bytes, normalize_tagged, normalize)
NAMESPACES = (None, "default", "prod")


def test_the_implementation_is_named() -> None:
    assert mapper_implementation() == ("native" if NATIVE is not None else "pure")
    _native.disable()
    try:
        assert mapper_implementation() == "pure"
    finally:
        _native.enable()


def test_the_extension_is_built_where_a_compiler_is() -> None:
    """CI has a compiler: the optional build must not have failed silently there."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: the pure path is the expected outcome")
    if os.environ.get("ONEPASSWORD_ECS_PURE", "").strip() not in ("", "0"):
        pytest.skip("ONEPASSWORD_ECS_PURE is set")
    assert NATIVE is not None, "a compiler is present but the native mapper is not built"


@needs_native
@pytest.mark.parametrize("case", discover_cases([REPO / "fixtures"]), ids=lambda case: case.name)
def test_every_golden_fixture(case: Any) -> None:
    raw = case.raw_path.read_bytes()
    for entry in ENTRIES:
        for namespace in NAMESPACES:
            assert_same(raw, entry, data_stream_namespace=namespace)
            assert_same(raw.decode("utf-8", "replace"), entry, data_stream_namespace=namespace)
        assert_same(raw, entry, keep_original=True)


@needs_native
def test_golden_fixtures_of_the_documented_shapes_are_taken() -> None:
    cases = [
        case
        for case in discover_cases([REPO / "fixtures"])
        if case.raw_path.parent.name in ("item_usages", "signin_attempts")
    ]
    taken = sum(took(case.raw_path.read_bytes()) for case in cases)
    assert taken >= len(cases) // 3, (taken, len(cases))


@needs_native
def test_the_benchmark_corpus() -> None:
    lines = corpus_lines(4_000)
    taken = 0
    for number, line in enumerate(lines):
        taken += took(line)
        assert_same(line, normalize_bytes)
        if number % 4 == 0:
            assert_same(line, normalize_tagged, data_stream_namespace="prod")
            assert_same(line, normalize)
        if number % 8 == 0:
            assert_same(line, normalize, data_stream_namespace="default")
            assert_same(line, normalize_bytes, dataset=Dataset.item_usages)
            assert_same(line, normalize_bytes, dataset=Dataset.signin_attempts)
    # 85 % of the corpus is item usages and sign-ins; nearly all of the documented shape.
    assert taken >= 0.75 * len(lines), taken


def _writings(record: dict[str, Any]) -> Iterator[bytes | str]:
    yield orjson.dumps(record)
    yield orjson.dumps(record, option=orjson.OPT_INDENT_2)
    yield json.dumps(record)  # spaces after separators, \\u escapes for non-ASCII
    yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


@needs_native
@given(records(Dataset.item_usages) | records(Dataset.signin_attempts), st.sampled_from(NAMESPACES))
def test_hypothesis_records_written_several_ways(
    record: dict[str, Any], namespace: str | None
) -> None:
    for text in _writings(record):
        for entry in ENTRIES:
            assert_same(text, entry, data_stream_namespace=namespace)


@needs_native
@given(records(Dataset.audit_events))
def test_hypothesis_audit_events_are_handed_back_or_equal(record: dict[str, Any]) -> None:
    text = orjson.dumps(record)
    assert_same(text, normalize_bytes)
    assert_same(text, normalize)


# --- the mutation corpus ------------------------------------------------------------------

_INSERTS = [
    b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b" ", b"\n", b"0", b"9", b"-", b"+",
    b".", b"e", b"n", b"null", b"true", b"1e5", b"\x00", b"\x1f", b"\x7f", b"\xff", b"\xc3\xa9",
    b"\\u0000", b"\\ud800", b'\\"', b"Z", b"T", b"60", b"99999999999999999999",
]  # fmt: skip
_VALUES: list[Any] = [
    None, "", " ", "x", "é", "\u202e", "a\nb", "\\", '"', 0, -1, 1.5, 2**63, 2**63 - 1, True,
    [], {}, ["x"], {"value": "x"}, {"uuid": "U"}, "2024-02-29T23:59:60Z",
    "2024-02-30T10:00:00Z", "2024-01-01T00:00:00+23:59", "2024-01-01T00:00:00-0130",
    "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "2024-01-01 10:00:00.1234567891z",
    "2024-01-01T10:00:00", "not a time", "reveal", "secure_copy", "success", "credentials_ok",
    "mfa_failed", "password_secret_bad", "unknown_thing", "127.0.0.1", "::1", "256.1.1.1",
]  # fmt: skip


def _seeds() -> list[bytes]:
    seeds = [
        case.raw_path.read_bytes().strip()
        for case in discover_cases([REPO / "fixtures"])
        if case.raw_path.parent.name in ("item_usages", "signin_attempts")
    ]
    seeds += [
        line
        for line in corpus_lines(600)
        if b'"item_uuid"' in line or b'"session_uuid"' in line or b'"category"' in line
    ]
    return seeds


def _mutate_value(rng: random.Random, seed: bytes) -> bytes | None:
    try:
        record = orjson.loads(seed)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or not record:
        return None
    key = rng.choice(list(record))
    node = record
    if isinstance(record[key], dict) and record[key] and rng.random() < 0.6:
        node = record[key]
        key = rng.choice(list(node))
    roll = rng.random()
    if roll < 0.1:
        del node[key]
    elif roll < 0.15:
        node[rng.choice(("extra", "sekoia_event_type", "actor_uuid"))] = rng.choice(_VALUES)
    else:
        node[key] = rng.choice(_VALUES)
    style = rng.random()
    if style < 0.6:
        return orjson.dumps(record)
    if style < 0.8:
        return json.dumps(record).encode()
    return orjson.dumps(record, option=orjson.OPT_INDENT_2)


def _mutate_bytes(rng: random.Random, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        at = rng.randrange(len(data) + 1)
        roll = rng.random()
        if roll < 0.3 and data:
            del data[at : at + rng.choice((1, 1, 2, 5))]
        elif roll < 0.6:
            data[at:at] = rng.choice(_INSERTS)
        elif roll < 0.8 and at < len(data):
            data[at] = rng.choice(b'"\\{}[],: 0123456789aZz\x00\xff')
        elif roll < 0.9 and len(data) > 8:
            start = rng.randrange(len(data) - 4)
            data[at:at] = data[start : start + rng.randrange(1, 40)]  # repeats keys, too
        else:
            del data[at:]  # truncated
    return bytes(data)


def mutation_corpus(count: int, seed: int = 23) -> Iterator[bytes]:
    """``count`` deterministic mutants of item usages and sign-ins (byte edits, values of
    other types and shapes, other writings)."""
    rng = random.Random(seed)
    seeds = _seeds()
    made = 0
    while made < count:
        base = rng.choice(seeds)
        mutant = _mutate_value(rng, base) if rng.random() < 0.45 else None
        if mutant is None:
            mutant = _mutate_bytes(rng, base)
        made += 1
        yield mutant


@needs_native
def test_the_mutation_corpus() -> None:
    """50,000 mutants: wherever the native mapper takes one, the pure path writes the same
    bytes; a sample of those it hands back is compared too (the same path runs twice)."""
    taken = handed_back = 0
    for number, mutant in enumerate(mutation_corpus(MUTATIONS)):
        if took(mutant):
            taken += 1
            assert_same(mutant, normalize_bytes)
            if taken % 10 == 0:
                assert_same(mutant, normalize)
                assert_same(mutant, normalize_tagged, data_stream_namespace="prod")
        else:
            handed_back += 1
            if number % 50 == 0:
                assert_same(mutant, normalize_bytes)
    assert taken >= MUTATIONS // 5, (taken, handed_back)
    assert handed_back >= MUTATIONS // 5, (taken, handed_back)


@needs_native
def test_a_record_larger_than_the_stack_buffer_is_whole() -> None:
    """The C code starts in a 4 KiB buffer: a bigger document must grow it, not truncate."""
    record = orjson.loads(corpus_lines(1)[0])
    record = {
        "uuid": "U" * 5000,
        "timestamp": "2024-01-01T00:00:00.123456789123Z",
        "item_uuid": "I" * 3000,
        "vault_uuid": "V" * 3000,
        "action": "reveal",
        "user": {"uuid": "P", "name": "N" * 9000, "email": "e@x.example"},
    }
    text = orjson.dumps(record)
    assert took(text)
    assert_same(text, normalize_bytes)
    assert_same(text, normalize)
    assert len(normalize_bytes(text)) > 20_000


@needs_native
def test_sub_objects_are_memoized_on_their_exact_text() -> None:
    """Two people who differ only in one character of the name are two entries."""
    base = {
        "uuid": "U",
        "timestamp": "2024-01-01T00:00:00Z",
        "item_uuid": "I",
        "vault_uuid": "V",
        "action": "reveal",
    }
    names = ["Ann Lee", "Ann Lea", "Ann Lee ", "Ánn Lee", "Ann\u202eLee"]
    for _ in range(2):
        for name in names:
            text = orjson.dumps({**base, "user": {"uuid": "P", "name": name, "email": "a@x"}})
            assert_same(text, normalize_bytes)
            assert_same(text, normalize)


@needs_native
def test_nothing_but_bytes_and_str_reaches_it() -> None:
    line = corpus_lines(1)[0]
    for record in (bytearray(line), memoryview(line), orjson.loads(line)):
        assert_same(record, normalize_bytes)
        assert_same(record, normalize)
    with pytest.raises(NormalizationError):
        normalize_bytes(line, data_stream_namespace="Bad Namespace")
    with pytest.raises(NormalizationError):
        normalize(line, data_stream_namespace="Bad Namespace")


MAPPING_TESTS = (
    "tests/test_golden.py",
    "tests/test_normalize_bytes.py",
    "tests/test_fast_path.py",
    "tests/test_hostile_records.py",
)


def test_the_suite_passes_on_the_pure_path() -> None:
    """The mapping tests with the native mapper switched off (ONEPASSWORD_ECS_PURE=1)."""
    if NATIVE is None:
        pytest.skip("the native mapper is not built: the whole suite already runs pure")
    env = {**os.environ, "ONEPASSWORD_ECS_PURE": "1"}
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import onepassword_ecs.mapping as m; print(m.mapper_implementation())",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.stdout.strip() == "pure", check.stderr
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *MAPPING_TESTS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@needs_native
@pytest.mark.slow
def test_rss_stays_flat_over_a_million_calls() -> None:
    """scripts/leak_check.py: a million records, memo entries made and replaced all along."""
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "leak_check.py"), "1000000"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout + result.stderr
