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
from ._audit import map_audit_event
from ._common import ECS_VERSION
from ._dataset import Dataset, detect_dataset
from ._datastream import add_data_stream, check_namespace
from ._item_usage import map_item_usage
from ._passthrough import json_text
from ._signin import map_signin_attempt

__all__ = ["ECS_VERSION", "normalize"]

_MAPPERS: dict[Dataset, Callable[[dict[str, Any]], dict[str, Any]]] = {
    Dataset.audit_events: map_audit_event,
    Dataset.item_usages: map_item_usage,
    Dataset.signin_attempts: map_signin_attempt,
}


def _decode(record: str | bytes | bytearray | memoryview) -> Any:
    try:
        return orjson.loads(record)
    except orjson.JSONDecodeError as exc:
        raise NormalizationError("invalid_json", f"not valid JSON: {exc}") from None


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
    data_stream_namespace: str | None = None,
) -> dict[str, Any]:
    """Turn one 1Password Events API record into one ECS 9.4.0 document.

    ``record`` is a dict or its JSON text (str or bytes). ``dataset`` forces the stream
    (a :class:`Dataset` or its name); otherwise it is detected (see ``detect_dataset``).
    ``keep_original`` adds ``event.original`` with the raw JSON text.
    ``data_stream_namespace`` (such as ``"default"``) adds ``data_stream.type``,
    ``.dataset`` and ``.namespace``: the document then names the data stream
    ``logs-1password_ecs.<dataset>-<namespace>`` that the index template types.

    Returns a JSON-ready nested dict. The input is never modified. Raises only
    :class:`NormalizationError`, whose ``reason`` and ``path`` say what was wrong.
    """
    if data_stream_namespace is not None:
        check_namespace(data_stream_namespace)  # the caller's mistake, whatever the record
    if (
        record.__class__ is bytes
        or record.__class__ is str
        or isinstance(record, bytearray | memoryview)
    ):
        data = _decode(record)
    else:
        data = record
        _check_unicode(data)
    if data.__class__ is not dict and isinstance(data, Mapping):
        data = dict(data)
    if data.__class__ is not dict:
        kind = "array" if isinstance(data, list) else type(data).__name__
        if data is None:
            kind = "null"
        raise NormalizationError("not_an_object", f"expected a JSON object, got {kind}", "$")
    which = detect_dataset(data, dataset)
    try:
        document = _MAPPERS[which](data)
        if keep_original:
            document["event"]["original"] = _original_text(record, data)
        if data_stream_namespace is not None:
            add_data_stream(document, which, data_stream_namespace)
    except NormalizationError:
        raise
    except Exception as exc:  # a mapper bug must not end the caller's stream
        raise NormalizationError(
            "internal_error",
            f"onepassword-ecs failed on this record ({type(exc).__name__}: {exc}); "
            "please report it with the record",
        ) from exc
    return document
