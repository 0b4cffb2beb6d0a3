"""``normalize_bytes``: one record's document as canonical JSON bytes, for writers.

Why a function of its own: a writer (the CLI, the collector) needs only the bytes
``orjson.dumps(normalize(line), option=OPT_SORT_KEYS)``, never the dict. Giving that
its own name is the seam where a faster encoding can go (documents assembled from
cached, already-encoded subtrees with keys written in sorted order) without touching a
caller; the equivalence test (tests/test_normalize_bytes.py) holds any such change to
the byte-identical result over the benchmark corpus, every golden fixture and the
Hypothesis strategies. Today it is exactly that composition: see docs/performance.md,
"The bytes path", for what was measured and what is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ._dataset import Dataset
from ._normalize import normalize

__all__ = ["normalize_bytes", "normalize_tagged"]

_SORT = orjson.OPT_SORT_KEYS


def normalize_bytes(
    record: Mapping[str, Any] | str | bytes | bytearray | memoryview,
    *,
    dataset: Dataset | str | None = None,
    keep_original: bool = False,
    assume_timezone: str | None = None,
    data_stream_namespace: str | None = None,
) -> bytes:
    """``orjson.dumps(normalize(record, ...), option=OPT_SORT_KEYS)``, byte for byte.

    Same arguments and the same ``NormalizationError``s as :func:`normalize`; the
    result is one line of canonical JSON (keys sorted, no newline).
    """
    return normalize_tagged(
        record,
        dataset=dataset,
        keep_original=keep_original,
        assume_timezone=assume_timezone,
        data_stream_namespace=data_stream_namespace,
    )[0]


def normalize_tagged(
    record: Mapping[str, Any] | str | bytes | bytearray | memoryview,
    *,
    dataset: Dataset | str | None = None,
    keep_original: bool = False,
    assume_timezone: str | None = None,
    data_stream_namespace: str | None = None,
) -> tuple[bytes, str]:
    """:func:`normalize_bytes` and the document's ``event.dataset``, which the conversion
    loop counts per dataset without holding the document."""
    document = normalize(
        record,
        dataset=dataset,
        keep_original=keep_original,
        assume_timezone=assume_timezone,
        data_stream_namespace=data_stream_namespace,
    )
    return orjson.dumps(document, option=_SORT), document["event"]["dataset"]
