"""JSON text → Python values, refusing what a fast parser lets through silently.

orjson is the hot path, but it quietly accepts two things a security pipeline must not:
an object with a repeated key (``{"timestamp": A, "timestamp": B}`` becomes B, so a
forged value can hide behind a real one) and integers beyond 64 bits (read as floats:
``99999999999999999999999`` would be kept as ``1e+23``). Both leave a trace that costs
little to look for on the decoded value:

* every string of the text, keys included, is written with two quotes (plus one per
  escaped quote inside it). When the quotes of the text (one C-speed count) are exactly
  twice the strings and keys of the decoded value (one walk of a small structure),
  nothing was dropped. Otherwise (a repeat, or just an escaped quote) a count that
  escapes cannot fool decides: every key is followed, after optional whitespace, by
  ``":``, so the text without its whitespace holds at least as many ``":`` as it has
  keys;
* a big integer comes back as a float of magnitude at least 2**63.

Before either: when orjson's own encoding of the decoded value is byte for byte the
text (compact JSON, as the Events API and our corpus write it), nothing can have been
dropped or rounded, since an encoding never repeats a key and writes every float with a
fraction or exponent. That costs one encode and one comparison, less than the walk.

Only when a count disagrees is the text decoded again, by the standard library's
parser, which keeps every integer exact and shows each object's key/value pairs before
they become a dict. docs/performance.md has the measured cost.

Also here: a precise reason for text that is not JSON because it is not UTF-8
(``invalid_utf8``, with the byte offset) or holds lone surrogates (``invalid_unicode``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import orjson

from .._errors import NormalizationError

__all__ = [
    "DuplicateKeys",
    "JsonObject",
    "decode_json",
    "decode_record",
    "duplicate_key_error",
]

# JSON's whitespace (RFC 8259 section 2): all that may sit between a key and its colon.
_JSON_WHITESPACE = b" \t\r\n"
# A float this large came from an integer literal orjson could not keep as an integer.
_BIG = 9.2e18


class JsonObject(dict[str, Any]):
    """A record of a page or array that :func:`decode_json` read from JSON text in one
    pass: a tree (no cycle, nothing shared) of valid Unicode without repeated keys, so
    ``normalize`` skips the checks a dict built in Python needs."""

    __slots__ = ()


class DuplicateKeys(dict[str, Any]):
    """An object whose text repeated ``duplicate``: decoded, so the walk that finds it
    (``duplicate_key_error``) can name its path, never let through."""

    __slots__ = ("duplicate",)

    def __init__(self, pairs: list[tuple[str, Any]], duplicate: str) -> None:
        super().__init__(pairs)
        self.duplicate = duplicate


def _keep_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            return DuplicateKeys(pairs, key)
        seen.add(key)
    raise AssertionError("unreachable: fewer keys than pairs without a repeat")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large for a double")
    return value


_STRICT = json.JSONDecoder(
    object_pairs_hook=_keep_pairs,
    parse_float=_finite_float,
    parse_constant=_refuse_constant,
)


def _text_of(record: str | bytes | bytearray | memoryview) -> str | None:
    """The record as str for the standard parser, or None when it is not UTF-8."""
    if isinstance(record, str):
        return record
    try:
        return bytes(record).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode_carefully(record: str | bytes | bytearray | memoryview) -> Any:
    """The standard library's parse: exact integers, repeated keys marked, not dropped."""
    text = _text_of(record)
    if text is None:
        raise _not_utf8(record)
    try:
        value = _STRICT.decode(text)
    except RecursionError:
        # Deeper than this interpreter's recursion allows (orjson goes to 1024 levels):
        # the caller keeps orjson's reading.
        return None
    except ValueError as exc:  # JSONDecodeError, a non-finite number, a huge integer
        raise NormalizationError("invalid_json", f"not valid JSON: {exc}") from None
    if _holds_lone_surrogate(value):
        # The standard parser accepts "\ud800"; orjson, which refuses it, may not have
        # got that far in the text (it stopped at a number too long for a double).
        raise _lone_surrogate(record)
    return value


def _holds_lone_surrogate(value: Any) -> bool:
    todo = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            todo.extend(node.keys())
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, str) and not node.isascii():
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def _not_utf8(record: str | bytes | bytearray | memoryview) -> NormalizationError:
    raw = bytes(record) if not isinstance(record, str) else b""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.end]
        return NormalizationError(
            "invalid_utf8",
            f"not UTF-8 text: byte offset {exc.start} starts an invalid sequence "
            f"(0x{bad.hex()}: {exc.reason})",
        )
    raise AssertionError("unreachable: the bytes decode")  # pragma: no cover


def _lone_surrogate(record: str | bytes | bytearray | memoryview) -> NormalizationError:
    text = record if isinstance(record, str) else ""
    offset = next((index for index, char in enumerate(text) if "\ud800" <= char <= "\udfff"), None)
    where = f" at character offset {offset}" if offset is not None else ""
    return NormalizationError(
        "invalid_unicode",
        f"the text holds a lone surrogate{where}, which is not valid Unicode text",
    )


def _tokens(node: dict[str, Any]) -> int:
    """Strings in ``node`` and everything inside it, keys included (each is written with
    two quotes); -1 when a float may be a big integer."""
    inner = _tokens_in(node.values())
    return inner if inner < 0 else len(node) + inner


def _tokens_in(values: Iterable[Any]) -> int:
    """Strings among ``values`` (an object's values or a list's items) and inside them."""
    count = 0
    for child in values:
        kind = child.__class__
        if kind is str:
            count += 1
            continue
        if kind is dict:
            inner = _tokens(child)
        elif kind is list:
            inner = _tokens_in(child)
        elif kind is float and not -_BIG < child < _BIG:
            return -1
        else:
            continue
        if inner < 0:
            return -1
        count += inner
    return count


def _counts_deep(value: Any) -> tuple[int, int]:
    """(strings and keys, keys) of ``value`` with an explicit stack: for values nested
    deeper than the recursion limit (orjson reads 1024 levels), and for _keys. The first
    is -1 when a float may be a big integer."""
    tokens = keys = 0
    big = False
    todo = [value]
    while todo:
        node = todo.pop()
        kind = node.__class__
        if kind is dict:
            keys += len(node)
            tokens += len(node)
            todo.extend(node.values())
        elif kind is list:
            todo.extend(node)
        elif kind is str:
            tokens += 1
        elif kind is float and not -_BIG < node < _BIG:
            big = True
    return (-1 if big else tokens), keys


def _keys(value: Any) -> int:
    """Keys of every object in ``value`` (for text with escapes, see _nothing_dropped)."""
    return _counts_deep(value)[1]


def _nothing_dropped(record: str | bytes | bytearray | memoryview, data: Any, tokens: int) -> bool:
    """True when no key of the text can be missing from ``data`` (module docstring).

    Each string of the text, keys included, is written with two quotes, plus one per
    escaped quote inside it; so a repeated key (or the value it dropped) always leaves
    more quotes than twice the decoded strings, and equality proves nothing was dropped.
    Escaped quotes also break equality: then every key is still followed by ``":`` once
    whitespace is removed, so the text holds at least as many of those as it has keys.
    """
    if record.__class__ is bytes:
        if record.count(b'"') == 2 * tokens:
            return True
    elif isinstance(record, str):
        if record.count('"') == 2 * tokens:
            return True
        return "".join(record.split()).count('":') <= _keys(data)
    raw = bytes(record)
    if raw.count(b'"') == 2 * tokens:
        return True
    return raw.translate(None, _JSON_WHITESPACE).count(b'":') <= _keys(data)


def decode_json(record: str | bytes | bytearray | memoryview) -> Any:
    """Decode one JSON text exactly (see the module docstring), keeping repeated keys
    visible: an object that repeated one comes back as a :class:`DuplicateKeys`.

    For a container of records (an array, or a page's ``items``), whose records are
    judged one by one later; those records come back as :class:`JsonObject` when the
    fast path read them. Raises ``NormalizationError`` with reason ``invalid_json``,
    ``invalid_utf8`` (with the byte offset) or ``invalid_unicode``.
    """
    value, careful = _decode(record)
    if careful:
        return value
    if value.__class__ is list:
        return _as_records(value)
    if value.__class__ is dict and value.get("items").__class__ is list and value.keys() <= _PAGE:
        value["items"] = _as_records(value["items"])
    return value


# An Events API response page: its records in items, beside the cursor.
_PAGE = frozenset({"items", "cursor", "has_more"})


def _as_records(items: list[Any]) -> list[Any]:
    return [JsonObject(item) if item.__class__ is dict else item for item in items]


def decode_record(record: str | bytes | bytearray | memoryview) -> Any:
    """:func:`decode_json` for one record: a repeated key is a ``duplicate_key`` error
    naming its path."""
    if record.__class__ is bytes:
        # The hot path (every NDJSON line), inlined: one parse, one walk, one count.
        try:
            data = orjson.loads(record)
        except orjson.JSONDecodeError:
            pass
        else:
            if data.__class__ is dict:
                # Compact text the way orjson writes it (what most senders write): the
                # text *is* the encoding of the decoded dict, and an encoding never
                # repeats a key nor spells a float as an integer. One C encode and one
                # memcmp, cheaper than the walk and the count below.
                try:
                    same = orjson.dumps(data) == record
                except orjson.JSONEncodeError:  # nested past orjson's 255 levels
                    same = False
                if same:
                    return data
                try:
                    tokens = _tokens(data)
                except RecursionError:
                    tokens = -1
                if tokens >= 0 and record.count(b'"') == 2 * tokens:
                    return data
    data, careful = _decode(record)
    if careful:
        problem = duplicate_key_error(data)
        if problem is not None:
            raise problem
    return data


def _decode(record: str | bytes | bytearray | memoryview) -> tuple[Any, bool]:
    """(value, whether the careful parser produced it)."""
    try:
        data = orjson.loads(record)
    except orjson.JSONDecodeError as exc:
        message = str(exc)
        if "UTF-8" in message or "surrogate" in message:
            if not isinstance(record, str) and _text_of(record) is None:
                raise _not_utf8(record) from None
            # UTF-8 bytes (or a str) holding a lone surrogate, itself or as "\ud800".
            raise _lone_surrogate(record) from None
        if "infinity" in message:  # maybe an integer too long for a double: look closer
            careful = _decode_carefully(record)
            if careful is not None:
                return careful, True
        raise NormalizationError("invalid_json", f"not valid JSON: {exc}") from None
    try:
        if data.__class__ is dict:
            tokens = _tokens(data)
        elif data.__class__ is list:
            tokens = _tokens_in(data)
        else:
            return data, False
    except RecursionError:
        tokens = _counts_deep(data)[0]
    if tokens < 0 or not _nothing_dropped(record, data, tokens):
        careful = _decode_carefully(record)
        if careful is not None:
            return careful, True
    return data, False


def duplicate_key_error(value: Any) -> NormalizationError | None:
    """The error for the first object in ``value`` that repeated a key, with its path.

    Walks with an explicit stack, only through what :func:`decode_json` can build (no
    cycles), in document order.
    """
    todo: list[tuple[Any, str]] = [(value, "$")]
    while todo:
        node, path = todo.pop()
        if isinstance(node, dict):
            if node.__class__ is DuplicateKeys:
                key = node.duplicate
                return NormalizationError(
                    "duplicate_key",
                    f"the key {key!r} appears more than once in this object; JSON readers "
                    "disagree on which value counts, so the record is refused rather than "
                    "guessed",
                    _child_path(path, key),
                )
            todo.extend((child, _child_path(path, key)) for key, child in reversed(node.items()))
        elif isinstance(node, list):
            todo.extend(
                (child, f"{path}[{index}]") for index, child in reversed(list(enumerate(node)))
            )
    return None


def _child_path(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"
