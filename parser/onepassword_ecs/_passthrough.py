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

import math
from collections.abc import Mapping
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


class _Unindexable(Exception):
    """Internal signal: this value cannot be indexed as it is."""


def json_text(value: Any) -> str:
    """The value as compact JSON text; repr() for what JSON cannot express."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return repr(value)


def _valid_key(key: object) -> bool:
    return (
        isinstance(key, str)
        and key != ""
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
        raw_path = f"{path}.{key}" if path else str(key)
        if not _valid_key(key) or (target is self.vendor and key == MALFORMED):
            self.malformed[raw_path] = json_text(value)
            return
        try:
            cleaned = self._clean(value, raw_path.count(".") + 1)
        except _Unindexable:
            self.malformed[raw_path] = json_text(value)
            return
        if cleaned is not None:
            target[key] = cleaned

    def _clean(self, value: Any, depth: int) -> Any:
        """Return an indexable copy of ``value`` (None when nothing is left)."""
        if value is None:
            return None
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
            result: dict[str, Any] = {}
            for key, item in value.items():
                if not _valid_key(key):
                    raise _Unindexable
                cleaned = self._clean(item, depth + 1)
                if cleaned is not None:
                    result[key] = cleaned
            return result or None
        if isinstance(value, list):
            items = [self._clean(item, depth) for item in value if item is not None]
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
