"""``normalize``: one raw record in, one ECS document out, or a NormalizationError.

This is the only entry point the CLI, the golden checks and library users call, so it
owns the promises: JSON text or a dict in; the dataset decided once; nothing but
``NormalizationError`` out, even when a mapper has a bug (the record is then reported
as ``internal_error`` instead of crashing a stream of millions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from .._errors import NormalizationError
from ..ecs import MAX_NODES, structure_problem
from . import _native
from ._audit import map_audit_event
from ._common import ECS_VERSION
from ._dataset import Dataset, detect_dataset
from ._datastream import add_data_stream, check_namespace
from ._decode import DuplicateKeys, JsonObject, decode_record, duplicate_key_error
from ._fast import fast_item_usage, fast_signin_attempt
from ._fast_audit import fast_audit_event
from ._item_usage import map_item_usage
from ._native import DATASET_CODES
from ._passthrough import json_text
from ._signin import map_signin_attempt
from ._timestamps import AssumedZone, assumed_zone

__all__ = [
    "ECS_VERSION",
    "FAST_MAPPERS",
    "decoded",
    "internal_error",
    "map_decoded",
    "normalize",
]

_MAPPERS: dict[Dataset, Callable[[dict[str, Any], AssumedZone | None], dict[str, Any]]] = {
    Dataset.audit_events: map_audit_event,
    Dataset.item_usages: map_item_usage,
    Dataset.signin_attempts: map_signin_attempt,
}
# The straight-line mappers for the common shape (None: take the careful mapper).
FastMapper = Callable[[dict[str, Any], Any, bool], dict[str, Any] | None]
FAST_MAPPERS: dict[Dataset, FastMapper] = {
    Dataset.audit_events: fast_audit_event,
    Dataset.item_usages: fast_item_usage,
    Dataset.signin_attempts: fast_signin_attempt,
}

_BY_EVENT_DATASET = {dataset.event_dataset: dataset for dataset in Dataset}


def _check_structure(data: Any) -> None:
    """Refuse a Python object no JSON text could hold, before anything walks it.

    A container that holds itself would make the mappers' pass-through (and any
    encoder) loop until memory runs out; shared sub-objects nested a few dozen levels
    write out as more values than there are atoms. A record from a page that repeated a
    key (decode_json marks it) is refused here too, with its path.
    """
    if data.__class__ is DuplicateKeys:
        raise duplicate_key_error(data) or AssertionError("a DuplicateKeys names its key")
    problem = structure_problem(data, flagged=DuplicateKeys)
    if problem is None:
        return
    path = _json_path(problem.path)
    if problem.kind == "cycle":
        raise NormalizationError(
            "cyclic_structure",
            "the record contains itself (a cycle): no JSON text can hold it",
            path,
        )
    if problem.kind == "flagged":
        found = duplicate_key_error(data)
        if found is not None:
            raise found
    raise NormalizationError(
        "record_too_large",
        f"shared sub-objects make this record more than {MAX_NODES} values once written as JSON",
        path,
    )


def _json_path(parts: tuple[Any, ...]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            path += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            path += f".{part}"
        else:
            path += f"[{json_text(str(part))}]"
    return path


def _check_unicode(data: Any) -> None:
    """Refuse a Python object holding lone surrogates (``json.loads`` makes them from
    ``"\\ud800"``): no UTF-8 document can carry them, so no index could take the result.

    JSON text decoded here never holds them (orjson refuses them), so only objects pay
    for this check.
    """
    try:
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        if "surrogates" in str(exc):
            raise NormalizationError(
                "invalid_unicode",
                "a string holds a lone surrogate, which is not valid Unicode text",
            ) from None


def _original_text(record: Any, data: Mapping[str, Any]) -> str:
    if isinstance(record, str):
        return record.strip()
    if isinstance(record, bytes | bytearray | memoryview):
        return bytes(record).decode("utf-8", "replace").strip()
    return json_text(data)


def normalize(
    record: Mapping[str, Any] | str | bytes | bytearray | memoryview,
    *,
    dataset: Dataset | str | None = None,
    keep_original: bool = False,
    assume_timezone: str | None = None,
    data_stream_namespace: str | None = None,
) -> dict[str, Any]:
    """Turn one 1Password Events API record into one ECS 9.4.0 document.

    ``record`` is a dict or its JSON text (str or bytes). ``dataset`` forces the stream
    (a :class:`Dataset` or its name); otherwise it is detected (see ``detect_dataset``).
    ``keep_original`` adds ``event.original`` with the raw JSON text.
    ``assume_timezone`` (``"UTC"``, an offset such as ``"+02:00"`` or an IANA zone name;
    off by default) is the zone to read timestamps that carry no offset in, for exports
    from other systems (``2021-12-03 19:52:52``); ``event.timezone`` then names it.
    ``data_stream_namespace`` (such as ``"default"``) adds ``data_stream.type``,
    ``.dataset`` and ``.namespace``: the document then names the data stream
    ``logs-1password_ecs.<dataset>-<namespace>`` that the index template types.

    Returns a JSON-ready nested dict. The input is never modified. Raises
    :class:`NormalizationError`, whose ``reason`` and ``path`` say what was wrong with
    the record, or :class:`ArgumentError` for an ``assume_timezone`` that is not a zone.
    """
    if data_stream_namespace is not None:
        check_namespace(data_stream_namespace)  # the caller's mistake, whatever the record
    native = _native.native_map
    if (
        native is not None
        and not keep_original
        and assume_timezone is None
        and (dataset is None or dataset.__class__ is Dataset)
    ):
        # The native mapper's bytes, decoded: the same document as the fast mapper's
        # (tests/test_native.py), and data_stream added the way map_decoded adds it.
        found = native(record, DATASET_CODES.get(dataset, -1), None, True)
        if found is not None:
            document: dict[str, Any] = orjson.loads(found[0])
            if data_stream_namespace is not None:
                add_data_stream(document, _BY_EVENT_DATASET[found[1]], data_stream_namespace)
            return document
    zone = assumed_zone(assume_timezone) if assume_timezone is not None else None
    data, from_text = decoded(record)
    which = detect_dataset(data, dataset)
    return map_decoded(
        data,
        which,
        zone,
        try_fast=from_text and zone is None,
        original=record if keep_original else None,
        data_stream_namespace=data_stream_namespace,
    )


def decoded(
    record: Mapping[str, Any] | str | bytes | bytearray | memoryview,
) -> tuple[dict[str, Any], bool]:
    """The record as a dict, and whether it was read from JSON text here.

    Only records read from JSON text may take the fast mappers: a caller's dict may
    hold values no JSON text can (str subclasses, tuples) that the careful mappers
    report and the fast ones would not look at.
    """
    from_text = True
    if (
        record.__class__ is bytes
        or record.__class__ is str
        or isinstance(record, bytearray | memoryview)
    ):
        data = decode_record(record)
    elif record.__class__ is JsonObject:
        data = record  # read from JSON text by decode_json: a tree of valid Unicode
    else:
        from_text = False
        data = record
        _check_structure(data)
        _check_unicode(data)
        if data.__class__ is not dict and isinstance(data, Mapping):
            data = dict(data)
    if data.__class__ is not dict and data.__class__ is not JsonObject:
        kind = "array" if isinstance(data, list) else type(data).__name__
        if data is None:
            kind = "null"
        raise NormalizationError("not_an_object", f"expected a JSON object, got {kind}", "$")
    return data, from_text


def map_decoded(
    data: dict[str, Any],
    which: Dataset,
    zone: AssumedZone | None,
    *,
    try_fast: bool,
    original: Any = None,
    data_stream_namespace: str | None = None,
) -> dict[str, Any]:
    """The document for a decoded record of dataset ``which``: with ``try_fast`` (only
    for records read from JSON text, with no assumed zone) the fast mapper when it
    takes the record (see ``_fast``), else the careful one.

    ``original`` is the record as given, for ``event.original`` (None: not kept).
    """
    try:
        document = None
        if try_fast:
            fast = FAST_MAPPERS.get(which)
            if fast is not None:
                document = fast(data, None, False)
        if document is None:
            document = _MAPPERS[which](data, zone)
        if original is not None:
            document["event"]["original"] = _original_text(original, data)
        if data_stream_namespace is not None:
            add_data_stream(document, which, data_stream_namespace)
    except NormalizationError:
        raise
    except Exception as exc:  # a mapper bug must not end the caller's stream
        raise internal_error(exc) from exc
    return document


def internal_error(exc: Exception) -> NormalizationError:
    """The error a record gets when a mapper fails on it (a bug, not the record's fault)."""
    return NormalizationError(
        "internal_error",
        f"onepassword-ecs failed on this record ({type(exc).__name__}: {exc}); "
        "please report it with the record",
    )
