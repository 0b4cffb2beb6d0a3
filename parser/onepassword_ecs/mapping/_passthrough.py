"""Carry raw fields with no ECS place into ``onepassword.*`` without breaking the index.

The rule is "nothing lost": every raw field reaches the output. Fields the API adds later
arrive here untouched, under the same nesting as in the raw record. But a value that
Elasticsearch cannot index would make it refuse the *whole* document, which loses far
more than one field. So each unknown value is checked for what dynamic mapping accepts
(no nulls or empty arrays, no arrays mixing kinds, integers within 64 bits, finite
floats, sane key names, bounded depth and field count); a value that fails is kept as
JSON text in ``onepassword.malformed``, keyed by its raw path, a ``flattened`` field
that indexes anything.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import orjson

__all__ = ["MALFORMED", "MAX_DEPTH", "Passthrough", "json_text"]

MALFORMED = "malformed"
# Elasticsearch's default index.mapping.depth.limit is 20; onepassword.* starts at depth 2.
MAX_DEPTH = 18
# Unknown leaf fields one record may add before the rest is kept as text: the default
# index.mapping.total_fields.limit is 1000 for the whole index.
MAX_UNKNOWN_LEAVES = 200
_INT64 = (-(2**63), 2**63 - 1)
_FLOAT32_MAX = 3.4028234663852886e38


class _Unindexable(Exception):
    """Internal signal: this value cannot be indexed as it is."""


def json_text(value: Any) -> str:
    """The value as compact JSON text (what ``onepassword.malformed`` and ``event.original`` keep).

    orjson first; for what orjson refuses (integers beyond 64 bits, nesting past 255
    levels) a small encoder with an explicit stack, so no depth can make it fail.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return _encode_without_recursion(value)


class _Literal(str):
    """Punctuation already written out, on the encoder's stack beside values."""


def _encode_without_recursion(value: Any) -> str:
    parts: list[str] = []
    todo: list[Any] = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, _Literal):
            parts.append(item)
        elif isinstance(item, Mapping):
            entries = list(item.items())
            todo.append(_Literal("}"))
            for index in range(len(entries) - 1, -1, -1):
                key, entry = entries[index]
                todo.append(entry)
                todo.append(_Literal(json.dumps(str(key), ensure_ascii=False) + ":"))
                if index:
                    todo.append(_Literal(","))
            todo.append(_Literal("{"))
        elif isinstance(item, list | tuple):
            todo.append(_Literal("]"))
            for index in range(len(item) - 1, -1, -1):
                todo.append(item[index])
                if index:
                    todo.append(_Literal(","))
            todo.append(_Literal("["))
        else:
            parts.append(json.dumps(item, ensure_ascii=False, default=repr))
    return "".join(parts)


def join_path(path: str, key: object) -> str:
    """Raw path of ``key`` under ``path``: dotted, with odd keys quoted (``a["b.c"]``).

    Quoting keeps a raw key such as ``"session.ip"`` apart from the path ``session.ip``.
    """
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    quoted = json.dumps(key if isinstance(key, str) else str(key), ensure_ascii=False)
    return f"{path}[{quoted}]"


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_@-]*[A-Za-z0-9@-][A-Za-z0-9_@-]*")


def _valid_key(key: object) -> bool:
    """A key Elasticsearch maps as a field: a non-empty name, no dots, no padding, not only
    underscores, and not starting with ``@`` (kept for ``@timestamp``-like metadata)."""
    return (
        isinstance(key, str)
        and key.strip("_") != ""
        and "." not in key
        and key == key.strip()
        and not key.startswith("@")
    )


def _scalar_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    return "object"


@cache
def _declared() -> tuple[dict[str, str], frozenset[str]]:
    """Declared ``onepassword.*`` types by raw path, and the paths that are objects.

    Loaded on the first unknown value only: records of one stream may carry another
    stream's field names (``aux_id`` in an item usage), which must still fit the type
    the index template gives them.
    """
    from ..ecs import vendor_fields

    types: dict[str, str] = {
        name.removeprefix("onepassword."): spec.type for name, spec in vendor_fields().items()
    }
    objects = frozenset(prefix for name in types for prefix in _prefixes(name))
    return types, objects


def _index_accepts_date(value: str) -> bool:
    from ..ecs import index_accepts_date

    return index_accepts_date(value)


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def _fits(value: Any, declared: str) -> bool:
    """A value the declared type accepts (the validator's rules, for the types we declare)."""
    if declared == "keyword":
        return isinstance(value, str)
    if declared == "long":
        return value.__class__ is int and _INT64[0] <= value <= _INT64[1]
    if declared == "float":
        return value.__class__ in (int, float) and abs(value) <= _FLOAT32_MAX
    if declared == "date":
        # Kept as sent only when an index takes it as it is (a lower-case "z", a leap
        # second or ten fractional digits would be refused); otherwise it is malformed,
        # and its exact text is kept there.
        return isinstance(value, str) and _index_accepts_date(value)
    if declared == "boolean":
        return isinstance(value, bool)
    return isinstance(value, dict)  # flattened, object


class Passthrough:
    """Collects the ``onepassword.*`` object of one document.

    ``vendor`` is the object that becomes ``onepassword``; ``malformed`` collects values
    that had to be kept as text. One instance per record.
    """

    __slots__ = ("_children", "_leaves", "malformed", "vendor")

    def __init__(self) -> None:
        self.vendor: dict[str, Any] = {}
        self.malformed: dict[str, str] = {}
        self._leaves = 0
        self._children = False  # child() may have left an empty object behind

    def bad(self, path: str, value: Any) -> None:
        """Keep a value that did not fit its declared place (wrong type, bad date)."""
        if value is not None:
            self.malformed[path] = json_text(value)

    def child(self, key: str) -> dict[str, Any]:
        """The nested vendor object ``onepassword.<key>``, created on first use."""
        found: dict[str, Any] | None = self.vendor.get(key)
        if found is None:
            found = self.vendor[key] = {}
            self._children = True
        return found

    def unknown(
        self, target: dict[str, Any], source: Mapping[str, Any], known: frozenset[str], path: str
    ) -> None:
        """Copy every key of ``source`` not in ``known`` into ``target`` (see module doc)."""
        for key, value in source.items():
            if key in known or value is None:
                continue
            self.put(target, key, value, path)

    def put(self, target: dict[str, Any], key: str, value: Any, path: str) -> None:
        """Store one unknown value at ``target[key]`` if indexable, else as malformed text."""
        raw_path = join_path(path, key)
        if not _valid_key(key) or (target is self.vendor and key == MALFORMED):
            self.bad(raw_path, value)
            return
        try:
            cleaned = self._clean(value, raw_path.count(".") + 1, raw_path)
        except _Unindexable:
            self.bad(raw_path, value)
            return
        if cleaned is not None:
            target[key] = cleaned

    def _clean(self, value: Any, depth: int, path: str) -> Any:
        """Return an indexable copy of ``value`` (None when nothing is left).

        ``path`` is the raw path, checked against the declared ``onepassword.*`` types.
        """
        if value is None:
            return None
        types, objects = _declared()
        declared = types.get(path)
        if declared is not None and not _fits(value, declared):
            raise _Unindexable
        if path in objects and not isinstance(value, Mapping):
            raise _Unindexable
        if isinstance(value, str | bool):
            self._count_leaf()
            return value
        if isinstance(value, int):
            if not _INT64[0] <= value <= _INT64[1]:
                raise _Unindexable
            self._count_leaf()
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _Unindexable
            self._count_leaf()
            return value
        if depth > MAX_DEPTH:
            raise _Unindexable
        if isinstance(value, Mapping):
            if declared == "flattened":
                return value
            result: dict[str, Any] = {}
            for key, item in value.items():
                if not _valid_key(key):
                    raise _Unindexable
                cleaned = self._clean(item, depth + 1, f"{path}.{key}")
                if cleaned is not None:
                    result[key] = cleaned
            return result or None
        if isinstance(value, list):
            if path in objects:
                raise _Unindexable
            items = [self._clean(item, depth + 1, path) for item in value if item is not None]
            items = [item for item in items if item is not None]
            if not items:
                return None
            kinds = {_scalar_kind(item) for item in items}
            if len(kinds) > 1 or any(isinstance(item, list) for item in items):
                raise _Unindexable
            return items
        raise _Unindexable

    def _count_leaf(self) -> None:
        self._leaves += 1
        if self._leaves > MAX_UNKNOWN_LEAVES:
            raise _Unindexable

    def finish(self) -> dict[str, Any] | None:
        """The finished ``onepassword`` object, without empty children."""
        vendor = self.vendor
        if self._children:
            vendor = {key: value for key, value in vendor.items() if value != {}}
        if self.malformed:
            vendor[MALFORMED] = self.malformed
        return vendor or None
