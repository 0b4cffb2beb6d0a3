"""``normalize_bytes``: one record's document as canonical JSON bytes, for writers.

Why a function of its own: a writer (the CLI, the collector) needs only the bytes
``orjson.dumps(normalize(line), option=OPT_SORT_KEYS)``, never the dict. So for JSON
text of the documented shape the document is assembled by the dataset's fast mapper in
its encoded form: keys inserted already in sorted order, memoized sub-objects as shared
``orjson.Fragment`` objects, encoded without sorting (see ``_fast``). Any other record is the
careful document encoded with sorted keys. tests/test_normalize_bytes.py holds the
result to that composition byte for byte over the benchmark corpus, every golden
fixture and the Hypothesis strategies; docs/performance.md, "The bytes path", has the
figures.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import orjson

from .._errors import NormalizationError
from ..ecs import data_stream_fields
from . import _native
from ._dataset import Dataset, detect_dataset
from ._datastream import check_namespace
from ._native import DATASET_CODES
from ._normalize import FAST_MAPPERS, decoded, internal_error, map_decoded, normalize

__all__ = ["normalize_bytes", "normalize_tagged"]

_SORT = orjson.OPT_SORT_KEYS
_dumps = orjson.dumps
_EVENT_DATASET = {dataset: dataset.event_dataset for dataset in Dataset}  # enum properties are slow


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
    found = _native_attempt(
        record, dataset, keep_original, assume_timezone, data_stream_namespace, tagged=False
    )
    if found is not None:
        return found  # type: ignore[no-any-return]
    return normalize_tagged(
        record,
        dataset=dataset,
        keep_original=keep_original,
        assume_timezone=assume_timezone,
        data_stream_namespace=data_stream_namespace,
    )[0]


def _native_attempt(
    record: Any,
    dataset: Dataset | str | None,
    keep_original: bool,
    assume_timezone: str | None,
    data_stream_namespace: str | None,
    *,
    tagged: bool,
) -> Any:
    """The native mapper's answer (bytes, or ``(bytes, dataset)`` when ``tagged``), or
    None: when it is not built, when an option asks for what only Python does
    (``keep_original``, an assumed zone, a dataset given by name), or when it hands the
    record back."""
    native = _native.native_map
    if (
        native is None
        or keep_original
        or assume_timezone is not None
        or not (dataset is None or dataset.__class__ is Dataset)
        or not (data_stream_namespace is None or data_stream_namespace.__class__ is str)
    ):
        return None
    streams = None if data_stream_namespace is None else _streams(data_stream_namespace)
    return native(record, DATASET_CODES.get(dataset, -1), streams, tagged)


def normalize_tagged(
    record: Mapping[str, Any] | str | bytes | bytearray | memoryview,
    *,
    dataset: Dataset | str | None = None,
    keep_original: bool = False,
    assume_timezone: str | None = None,
    data_stream_namespace: str | None = None,
) -> tuple[bytes, str]:
    """:func:`normalize_bytes` and the document's ``event.dataset``, which the conversion
    loop counts per dataset without holding the document.

    JSON text of the common shape takes the fast mapper with ``encoded=True``: its
    document, keys already in sorted order and memoized parts as ``orjson.Fragment``,
    is encoded without sorting. Everything else (``keep_original``, an assumed zone, a
    dict, a record off the common shape) is the careful document encoded with sorted
    keys. Before either, the native mapper (``_native``) when it is built: it takes
    records of the documented shapes and hands every other back.
    """
    found = _native_attempt(
        record, dataset, keep_original, assume_timezone, data_stream_namespace, tagged=True
    )
    if found is not None:
        return found  # type: ignore[no-any-return]
    if keep_original or assume_timezone is not None or not isinstance(record, bytes | str):
        document = normalize(
            record,
            dataset=dataset,
            keep_original=keep_original,
            assume_timezone=assume_timezone,
            data_stream_namespace=data_stream_namespace,
        )
        return _dumps(document, option=_SORT), document["event"]["dataset"]
    stream = None
    if data_stream_namespace is not None:
        stream = _stream_fragment(check_namespace(data_stream_namespace))
    data, from_text = decoded(record)
    which = detect_dataset(data, dataset)
    fast = FAST_MAPPERS.get(which) if from_text else None
    if fast is not None:
        try:
            encoded = fast(data, stream and stream[which], True)
        except NormalizationError:
            raise
        except Exception as exc:  # a mapper bug must not end the caller's stream
            raise internal_error(exc) from exc
        if encoded is not None:
            return _dumps(encoded), _EVENT_DATASET[which]
    # The fast mapper, if any, has declined: the careful one, without asking it again.
    document = map_decoded(
        data, which, None, try_fast=False, data_stream_namespace=data_stream_namespace
    )
    return _dumps(document, option=_SORT), document["event"]["dataset"]


@functools.lru_cache(maxsize=16)
def _streams(namespace: str) -> tuple[bytes, bytes]:
    """The item-usage and sign-in ``data_stream`` objects' JSON for the native mapper
    (checking ``namespace`` first, as the pure path does)."""
    fragments = _stream_fragment(check_namespace(namespace))
    return (
        _dumps(fragments[Dataset.item_usages]),
        _dumps(fragments[Dataset.signin_attempts]),
    )


@functools.lru_cache(maxsize=16)
def _stream_fragment(namespace: str) -> dict[Dataset, orjson.Fragment]:
    """Each dataset's ``data_stream`` object for ``namespace``, encoded once."""
    return {
        dataset: orjson.Fragment(
            orjson.dumps(data_stream_fields(dataset.value, namespace), option=_SORT)
        )
        for dataset in Dataset
    }
