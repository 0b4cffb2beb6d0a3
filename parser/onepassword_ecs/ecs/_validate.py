"""Check a document against ECS 9.4.0 and against what Elasticsearch will index.

Why: a mapper bug (a dotted key, an IP that is not one, a category/type pair
ECS does not expect) otherwise surfaces far away, as a rejected bulk request or
as a document that silently fails to match Elastic's detection rules. This
checker catches it at the source, with the field's path and a readable reason.

What is checked (see ``validate``): the document is nested objects; every leaf
is an ECS field or a ``onepassword.*`` field (declared ones are type-checked,
undeclared ones only need to be indexable, because the Events API adds fields
over time and we pass them through); values have their field's type;
ECS array fields are arrays; the categorization fields use allowed values and
expected category/type pairs; ``@timestamp`` and ``ecs.version`` are present;
there are no nulls, empty arrays or empty objects.

The ECS table is loaded on the first call, not at import.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ._fielddefs import VENDOR_ROOT, vendor_fields
from ._table import EcsField, ecs_namespaces, ecs_table, namespaces_of

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_TERM_BYTES",
    "Problem",
    "StructureProblem",
    "index_accepts_date",
    "structure_problem",
    "validate",
]

# Elasticsearch's default index.mapping.depth.limit: a field at a.b.c has depth 3.
MAX_DEPTH = 20
# Values a document or record may hold once written out as JSON (a shared sub-object
# counts once per place it appears): far beyond any real record, small enough that
# walking or encoding it stays bounded in time and memory.
MAX_NODES = 1 << 21
# Lucene's limit on one indexed term; a longer keyword value cannot be indexed.
MAX_TERM_BYTES = 32766

_LONG_RANGE = (-(2**63), 2**63 - 1)
_INTEGER_RANGE = (-(2**31), 2**31 - 1)
_FLOAT32_MAX = 3.4028234663852886e38
_DOUBLE_MAX = sys.float_info.max
# java.time's ZoneOffset (used by Elasticsearch's date parser) stops at ±18:00.
_MAX_UTC_OFFSET = timedelta(hours=18)

_STRING_TYPES = frozenset({"keyword", "wildcard", "constant_keyword", "match_only_text"})
_FLOAT_TYPES = frozenset({"float", "double", "scaled_float"})
_OBJECT_TYPES = frozenset({"object", "nested"})
# ECS keeps these two single-valued; the other categorization fields are arrays.
_SINGLE_VALUED = frozenset({"event.kind", "event.outcome"})

# RFC 3339 date-time, upper-case T and Z as Elasticsearch's strict parser wants them,
# at most nanosecond precision.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)


def index_accepts_date(value: str) -> bool:
    """Whether Elasticsearch's strict date parser takes ``value`` as a ``date`` field.

    RFC 3339 with upper-case ``T`` and ``Z``, at most nine fractional digits, a real
    calendar date and time (no leap second), an offset within ±18:00. The mappers use
    this to decide whether a raw date can be passed through as it is.
    """
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    offset = parsed.utcoffset()
    return offset is None or abs(offset) <= _MAX_UTC_OFFSET


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a document.

    ``path`` is the dotted field name (``client.ip``), with ``[i]`` for an array
    element (``related.ip[1]``); it is ``""`` for the document as a whole.
    ``message`` says what is wrong in words a person can act on.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True, slots=True)
class _Schema:
    """ECS fields and declared vendor fields merged, plus what the checks derive from them."""

    version: str
    fields: Mapping[str, EcsField]
    namespaces: frozenset[str]
    expected_types: Mapping[str, frozenset[str]]
    required: tuple[str, ...]


@functools.cache
def _schema() -> _Schema:
    table = ecs_table()
    vendor = {
        name: EcsField(type=spec.type, ignore_above=1024 if spec.type == "keyword" else None)
        for name, spec in vendor_fields().items()
    }
    return _Schema(
        version=table.ecs_version,
        fields={**table.fields, **vendor},
        namespaces=ecs_namespaces() | namespaces_of(vendor) | {VENDOR_ROOT},
        expected_types={
            category: frozenset(types) for category, types in table.expected_event_types.items()
        },
        required=tuple(sorted(name for name, field in table.fields.items() if field.required)),
    )


@dataclass(frozen=True, slots=True)
class StructureProblem:
    """Why a Python value cannot be written out as JSON in bounded space.

    ``kind`` is ``"cycle"`` (a container holds itself, directly or further down),
    ``"too_large"`` (shared sub-objects make it more than ``MAX_NODES`` values once
    written out) or ``"flagged"`` (a container of the class the caller asked about);
    ``path`` is where, as keys and indexes from the top.
    """

    kind: str
    path: tuple[Any, ...]


# Classes that hold no other value: most of what a walk meets, so checked first (an
# isinstance test against the Mapping ABC costs several times more).
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _children(node: Any) -> Iterator[tuple[Any, Any]] | None:
    kind = node.__class__
    if kind is dict or (kind not in _LEAVES and isinstance(node, Mapping)):
        pairs: Iterator[tuple[Any, Any]] = iter(node.items())
        return pairs
    if kind is list or (kind not in _LEAVES and isinstance(node, list | tuple)):
        return enumerate(node)
    return None


class _Found(Exception):
    """Internal: a structure problem, its path collected while the recursion unwinds."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind
        self.keys: list[Any] = []


def structure_problem(
    value: Any, *, max_nodes: int = MAX_NODES, flagged: type | None = None
) -> StructureProblem | None:
    """Find a cycle, an explosion of shared sub-objects, or a ``flagged`` container.

    Why: a dict that contains itself makes every recursive walk (ours, ``json.dumps``,
    a bulk encoder) loop until memory runs out, and a few levels of an object listed
    twice in itself double at each level. One depth-first walk keeps the ids of the
    containers on the current path (a cycle) and the written-out size of each container
    already finished (met again, it is counted without being walked again), so time and
    memory are linear in the number of distinct containers. The walk recurses (fast on
    the small records this runs on for every dict passed to ``normalize``); past the
    interpreter's recursion limit it goes on with an explicit stack.
    """
    if _children(value) is None:
        return None
    try:
        # Most values are small trees: a plain count settles them. A cycle or too many
        # values exhausts its depth or node budget (bounded time), and a flagged
        # container stops it; then the exact walk says which and where.
        if _plain_count(value, _PLAIN_DEPTH, [max_nodes], flagged):
            return None
    except (_Found, RecursionError):
        pass
    try:
        _size(value, set(), {}, max_nodes, flagged)
    except _Found as found:
        return StructureProblem(found.kind, tuple(reversed(found.keys)))
    except RecursionError:
        return _structure_problem_deep(value, max_nodes, flagged)
    return None


# How deep the plain count goes before handing over to the exact walk (a cycle makes
# it go on for ever; a real record is a few levels deep).
_PLAIN_DEPTH = 64


def _plain_count(node: Any, depth: int, budget: list[int], flagged: type | None) -> bool:
    """True when ``node`` is a tree within ``depth`` levels and ``budget`` values, with no
    ``flagged`` container; False (or _Found) as soon as it may not be."""
    if depth == 0:
        return False
    budget[0] -= len(node)
    if budget[0] < 0:
        return False
    items = node.values() if node.__class__ is dict or isinstance(node, Mapping) else node
    for child in items:
        kind = child.__class__
        if kind in _LEAVES:
            continue
        if kind is flagged:
            raise _Found("flagged")
        if (kind is dict or kind is list or isinstance(child, Mapping | list | tuple)) and (
            not _plain_count(child, depth - 1, budget, flagged)
        ):
            return False
    return True


def _found(kind: str, key: Any) -> _Found:
    found = _Found(kind)
    found.keys.append(key)
    return found


def _size(
    node: Any, on_path: set[int], sizes: dict[int, int], max_nodes: int, flagged: type | None
) -> int:
    """Written-out size of ``node`` (a container); raises _Found on a problem."""
    identity = id(node)
    on_path.add(identity)
    size = 1 + len(node)
    items = node.items() if node.__class__ is dict or isinstance(node, Mapping) else enumerate(node)
    for key, child in items:
        kind = child.__class__
        if kind in _LEAVES:
            continue
        if kind is flagged:
            raise _found("flagged", key)
        if not (kind is dict or kind is list or isinstance(child, Mapping | list | tuple)):
            continue
        child_id = id(child)
        if child_id in on_path:
            raise _found("cycle", key)
        known = sizes.get(child_id)
        if known is None:
            try:
                known = _size(child, on_path, sizes, max_nodes, flagged)
            except _Found as inner:
                inner.keys.append(key)
                raise
        size += known - 1
        if size > max_nodes:
            raise _found("too_large", key)
    on_path.discard(identity)
    sizes[identity] = size
    return size


def _structure_problem_deep(
    value: Any, max_nodes: int, flagged: type | None
) -> StructureProblem | None:
    """structure_problem with an explicit stack, for values nested past the recursion
    limit (rare: only then is this slower walk paid for)."""
    first = _children(value)
    if first is None:
        return None
    # Frames: [container, its children, written-out size so far, key in its parent].
    frames: list[list[Any]] = [[value, first, 1, None]]
    on_path = {id(value)}
    sizes: dict[int, int] = {}
    while frames:
        frame = frames[-1]
        for key, child in frame[1]:
            if child.__class__ in _LEAVES:
                frame[2] += 1
                continue
            if child.__class__ is flagged:
                return StructureProblem("flagged", _path_of(frames, key))
            grandchildren = _children(child)
            if grandchildren is None:
                frame[2] += 1
                continue
            identity = id(child)
            if identity in on_path:
                return StructureProblem("cycle", _path_of(frames, key))
            known = sizes.get(identity)
            if known is not None:
                frame[2] += known
                if frame[2] > max_nodes:
                    return StructureProblem("too_large", _path_of(frames, key))
                continue
            on_path.add(identity)
            frames.append([child, grandchildren, 1, key])
            break
        else:
            frames.pop()
            on_path.discard(id(frame[0]))
            sizes[id(frame[0])] = frame[2]
            if frame[2] > max_nodes:
                return StructureProblem("too_large", _path_of(frames, frame[3]))
            if frames:
                frames[-1][2] += frame[2]
    return None


def _path_of(frames: list[list[Any]], last: Any) -> tuple[Any, ...]:
    return (*(frame[3] for frame in frames[1:]), last) if last is not None else ()


def _structure_message(problem: StructureProblem) -> str:
    if problem.kind == "cycle":
        return "this object contains itself (a cycle): it cannot be written as JSON"
    return (
        f"shared sub-objects make this document more than {MAX_NODES} values once written as JSON"
    )


def validate(doc: Mapping[str, Any]) -> list[Problem]:
    """Return every problem found in ``doc``, in a stable order (by path, then message).

    An empty list means the document is ECS 9.4.0 as far as this checker can
    tell and will index under the package's template. The rules, in short:

    * nested objects only: keys are non-empty strings without dots, without
      leading/trailing whitespace and not made only of ``_``; depth ≤ 20;
    * every field is an ECS 9.4.0 field or under ``onepassword.*``; declared
      ``onepassword.*`` fields (mappings/onepassword_fields.toml) are typed like
      ECS fields, undeclared ones only need to be indexable (no arrays mixing
      objects, strings, numbers and booleans; integers within 64 bits);
    * values match the field type (keyword → string of at most 32766 UTF-8
      bytes, ip → IPv4/IPv6 without zone id, date → RFC 3339 date-time,
      geo_point → ``{"lat", "lon"}`` in range, long → 64-bit integer,
      integer → 32-bit integer, float/double → finite number, boolean → bool,
      object/nested/flattened → object); fields ECS normalizes as arrays are arrays;
    * ``event.kind``/``category``/``type``/``outcome`` use ECS allowed values,
      ``event.kind`` and ``event.outcome`` are single values, and every
      ``event.type`` is expected for at least one of the event's categories
      (elastic-package's rule; no restriction when no category is given);
    * ``@timestamp`` and ``ecs.version`` are present;
    * no null values, empty arrays or empty objects anywhere.
    """
    if not isinstance(doc, Mapping):
        return [Problem("", f"expected a JSON object at the top level, got {_got(doc)}")]
    broken = structure_problem(doc)
    if broken is not None:
        # Walking a cycle would never end: this is the one problem reported.
        return [Problem(_dotted(broken.path), _structure_message(broken))]
    walker = _Walker(_schema())
    walker.schema_object(doc, "", "", 0)
    walker.document_rules(doc)
    return sorted(walker.problems, key=lambda problem: (_path_order(problem.path), problem.message))


class _Walker:
    """Walks one document, collecting problems."""

    def __init__(self, schema: _Schema) -> None:
        self.schema = schema
        self.problems: list[Problem] = []

    def report(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    # --- structure ---------------------------------------------------------------

    def members(
        self, obj: Mapping[Any, Any], where: str, depth: int, *, flattened: bool = False
    ) -> Iterator[tuple[str, str, Any]]:
        """Yield (key, path, value) for each well-formed key; report the others."""
        if not obj:
            self.report(where, "empty object; leave it out instead")
            return
        for key, value in sorted(
            obj.items(), key=lambda item: (type(item[0]).__name__, str(item[0]))
        ):
            child_where = f"{where}.{key}" if where else str(key)
            problem = _key_problem(key, flattened=flattened)
            if problem is not None:
                self.report(child_where, problem)
            elif depth + 1 > MAX_DEPTH:
                self.report(
                    child_where,
                    f"nested {depth + 1} levels deep; Elasticsearch's default "
                    f"index.mapping.depth.limit is {MAX_DEPTH}",
                )
            else:
                yield key, child_where, value

    def schema_object(self, obj: Mapping[Any, Any], name: str, where: str, depth: int) -> None:
        """An object whose keys must be ECS or onepassword.* names."""
        for key, child_where, value in self.members(obj, where, depth):
            self.schema_value(value, f"{name}.{key}" if name else key, child_where, depth + 1)

    def schema_value(self, value: Any, name: str, where: str, depth: int) -> None:
        spec = self.schema.fields.get(name)
        if spec is not None:
            self.field(value, spec, name, where, depth)
        elif name in self.schema.namespaces:
            if isinstance(value, Mapping):
                self.schema_object(value, name, where, depth)
            elif value is None:
                self.report(where, "null value; leave it out instead")
            else:
                self.report(where, f"expected an object holding {name}.* fields, got {_got(value)}")
        elif name.split(".", 1)[0] == VENDOR_ROOT:
            # Undeclared vendor field: passed through, so it only has to be indexable.
            self.free_value(value, where, depth)
        else:
            self.report(
                where,
                f"not an ECS {self.schema.version} field (nor a parent of one), "
                f"and not under {VENDOR_ROOT}.*",
            )

    # --- typed fields ------------------------------------------------------------

    def field(self, value: Any, spec: EcsField, name: str, where: str, depth: int) -> None:
        """A value (or array of values) of a known field."""
        if isinstance(value, list | tuple):
            if not value:
                self.report(where, "empty array; leave the field out instead")
            elif name in _SINGLE_VALUED:
                self.report(where, f"{name} takes a single value, got an array")
            else:
                for index, item in enumerate(value):
                    self.single(item, spec, name, f"{where}[{index}]", depth)
            return
        if spec.array and value is not None:
            self.report(
                where,
                f"ECS normalizes {name} as an array: expected a list of {spec.type} values, "
                f"got {_got(value)}",
            )
        self.single(value, spec, name, where, depth)

    def single(self, value: Any, spec: EcsField, name: str, where: str, depth: int) -> None:
        """One value of a field of type ``spec.type``."""
        kind = spec.type
        if value is None:
            self.report(where, "null value; leave the field out instead")
        elif kind in _STRING_TYPES:
            self.string(value, spec, name, where)
        elif kind == "ip":
            self.ip(value, where)
        elif kind == "date":
            self.date(value, where)
        elif kind == "geo_point":
            self.geo_point(value, where)
        elif kind in ("long", "integer"):
            self.integer(value, kind, where)
        elif kind in _FLOAT_TYPES:
            self.number(value, kind, where)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.report(where, f"expected a boolean (true or false), got {_got(value)}")
        elif not isinstance(value, Mapping):
            self.report(where, f"expected an object ({kind} field), got {_got(value)}")
        elif kind == "flattened":
            self.free_value(value, where, depth, flattened=True)
        elif kind in _OBJECT_TYPES and name in self.schema.namespaces:
            self.schema_object(value, name, where, depth)
        elif kind in _OBJECT_TYPES:
            # A free-form object such as labels: any keys, values of object_type if given.
            leaf = EcsField(type=spec.object_type) if spec.object_type else None
            self.free_value(value, where, depth, leaf=leaf)
        else:  # pragma: no cover - the table builder only lets known types through
            self.report(where, f"field type {kind!r} is not supported by this validator")

    def string(self, value: Any, spec: EcsField, name: str, where: str) -> None:
        if not isinstance(value, str):
            self.report(where, f"expected a string ({spec.type}), got {_got(value)}")
            return
        size = _utf8_size(value)
        if size is None:
            self.report(where, "not valid Unicode text (it contains a lone surrogate)")
        elif (
            spec.type == "keyword"
            and (spec.index or spec.doc_values)
            and spec.ignore_above is None  # longer values are kept, not indexed
            and size > MAX_TERM_BYTES
        ):
            self.report(where, _too_long(size))
        if spec.allowed is not None and value not in spec.allowed:
            self.report(
                where,
                f"{_show(value)} is not an allowed ECS {self.schema.version} value for "
                f"{name} (allowed: {', '.join(spec.allowed)})",
            )

    def ip(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            self.report(where, f"expected an IPv4/IPv6 address string, got {_got(value)}")
        elif "%" in value:
            self.report(
                where, f"expected an IPv4/IPv6 address without a zone id, got {_show(value)}"
            )
        else:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                self.report(where, f"expected an IPv4/IPv6 address, got {_show(value)}")

    def date(self, value: Any, where: str) -> None:
        if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
            self.report(
                where,
                "expected an RFC 3339 date-time string such as 2024-01-02T03:04:05.000Z, "
                f"got {_got(value)}",
            )
            return
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.report(where, f"not a real date and time: {_show(value)}")
            return
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > _MAX_UTC_OFFSET:
            self.report(where, f"UTC offset beyond ±18:00 cannot be parsed: {_show(value)}")

    def geo_point(self, value: Any, where: str) -> None:
        if not isinstance(value, Mapping):
            self.report(
                where, f'expected a geo_point object {{"lat": ..., "lon": ...}}, got {_got(value)}'
            )
            return
        keys = sorted(str(key) for key in value)
        if keys != ["lat", "lon"]:
            self.report(
                where, f"expected a geo_point with exactly the keys lat and lon, got {keys}"
            )
        for axis, limit in (("lat", 90), ("lon", 180)):
            if axis not in value:
                continue
            coordinate = value[axis]
            if not _is_number(coordinate):
                self.report(f"{where}.{axis}", f"expected a number, got {_got(coordinate)}")
            elif not (_is_finite(coordinate) and -limit <= coordinate <= limit):
                self.report(
                    f"{where}.{axis}", f"expected a number in [-{limit}, {limit}], got {coordinate}"
                )

    def integer(self, value: Any, kind: str, where: str) -> None:
        if not _is_int(value):
            self.report(where, f"expected an integer ({kind}), got {_got(value)}")
            return
        low, high = _LONG_RANGE if kind == "long" else _INTEGER_RANGE
        if not low <= value <= high:
            bits = 64 if kind == "long" else 32
            self.report(where, f"{value} is outside the signed {bits}-bit range of {kind}")

    def number(self, value: Any, kind: str, where: str) -> None:
        if not _is_number(value):
            self.report(where, f"expected a number ({kind}), got {_got(value)}")
        elif not _is_finite(value):
            self.report(where, f"expected a finite number ({kind}), got {value}")
        elif kind == "float" and abs(value) > _FLOAT32_MAX:
            self.report(where, f"{value} is too large for a 32-bit float")

    # --- untyped content (undeclared vendor fields, flattened, free objects) -------

    def free_value(
        self,
        value: Any,
        where: str,
        depth: int,
        *,
        flattened: bool = False,
        leaf: EcsField | None = None,
    ) -> None:
        """A value with no declared type: it only has to be indexable.

        Inside a flattened field everything is indexed as keywords, so dotted keys
        and mixed arrays are fine there; elsewhere dynamic mapping gives each
        field one type, so an array must not mix kinds of values.
        """
        if value is None:
            self.report(where, "null value; leave it out instead")
        elif isinstance(value, Mapping):
            for _key, child_where, child in self.members(value, where, depth, flattened=flattened):
                self.free_value(child, child_where, depth + 1, flattened=flattened, leaf=leaf)
        elif isinstance(value, list | tuple):
            if not value:
                self.report(where, "empty array; leave it out instead")
                return
            kinds = sorted(_kinds(value))
            if len(kinds) > 1 and not flattened:
                self.report(
                    where,
                    f"array mixes {' and '.join(kinds)}; every value of one field needs one type",
                )
            for index, item in enumerate(value):
                self.free_value(item, f"{where}[{index}]", depth, flattened=flattened, leaf=leaf)
        elif leaf is not None:
            self.single(value, leaf, "", where, depth)
        else:
            self.scalar(value, where)

    def scalar(self, value: Any, where: str) -> None:
        # Undeclared onepassword.* strings and flattened leaves: the shipped template maps
        # both with ignore_above, so a long string is stored but not indexed, never refused.
        if isinstance(value, str):
            if _utf8_size(value) is None:
                self.report(where, "not valid Unicode text (it contains a lone surrogate)")
        elif _is_int(value):
            if not _LONG_RANGE[0] <= value <= _LONG_RANGE[1]:
                self.report(where, f"{value} is outside the signed 64-bit range of long")
        elif isinstance(value, float):
            if not math.isfinite(value):
                self.report(where, f"expected a finite number, got {value}")
        elif not isinstance(value, bool):
            self.report(where, f"not a JSON value: {_got(value)}")

    # --- rules about the document as a whole --------------------------------------

    def document_rules(self, doc: Mapping[str, Any]) -> None:
        for name in self.schema.required:
            if _lookup(doc, name) is _MISSING:
                self.report(name, f"required by ECS {self.schema.version} but missing")
        self.expected_event_types(doc)

    def expected_event_types(self, doc: Mapping[str, Any]) -> None:
        """Every event.type must be expected for one of the event's categories."""
        categories = _lookup(doc, "event.category")
        types = _lookup(doc, "event.type")
        if categories is _MISSING or types is _MISSING:
            return
        named = [
            value
            for value in _as_list(categories)
            if isinstance(value, str) and value in self.schema.expected_types
        ]
        expected = frozenset().union(*(self.schema.expected_types[value] for value in named))
        if not expected:
            return  # no category, or none that lists expected types: no restriction
        allowed = self.schema.fields["event.type"].allowed or ()
        type_list = types if isinstance(types, list | tuple) else [types]
        for index, value in enumerate(type_list):
            # Values that are not allowed at all were reported already.
            if isinstance(value, str) and value in allowed and value not in expected:
                where = f"event.type[{index}]" if isinstance(types, list | tuple) else "event.type"
                self.report(
                    where,
                    f"{_show(value)} is not an expected event.type for event.category "
                    f"{named} (expected: {', '.join(sorted(expected))})",
                )


# --- helpers ---------------------------------------------------------------------

_MISSING: Any = object()


def _lookup(doc: Mapping[str, Any], name: str) -> Any:
    """The value at a dotted name in a nested document, or _MISSING."""
    node: Any = doc
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _key_problem(key: object, *, flattened: bool) -> str | None:
    if not isinstance(key, str):
        return f"keys must be strings, got {type(key).__name__} {key!r}"
    if not key:
        return "empty key; Elasticsearch cannot map a field with no name"
    if key != key.strip():
        return f"key {key!r} has leading or trailing whitespace"
    if not key.strip("_"):
        return f"key {key!r} is made only of underscores"
    if "." in key and not flattened:
        return f"key {key!r} contains a dot; write nested objects, not dotted names"
    return None


def _kinds(values: list[Any] | tuple[Any, ...]) -> set[str]:
    """The JSON kinds in an array (nested arrays are flattened, as Elasticsearch does)."""
    kinds: set[str] = set()
    for value in values:
        if isinstance(value, list | tuple):
            kinds |= _kinds(value)
        elif isinstance(value, Mapping):
            kinds.add("objects")
        elif isinstance(value, str):
            kinds.add("strings")
        elif isinstance(value, bool):
            kinds.add("booleans")
        elif isinstance(value, int | float):
            kinds.add("numbers")
    return kinds


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: int | float) -> bool:
    if isinstance(value, int):
        return abs(value) <= _DOUBLE_MAX
    return math.isfinite(value)


def _utf8_size(value: str) -> int | None:
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _too_long(size: int) -> str:
    return (
        f"{size} bytes of UTF-8 is more than the {MAX_TERM_BYTES} bytes a keyword term "
        "can hold; the value cannot be indexed"
    )


def _show(value: str, limit: int = 60) -> str:
    """A short repr of a string for a message (long values are cut)."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"


def _got(value: Any) -> str:
    """Describe a value for 'expected X, got Y' messages."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _show(value)
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a Python {type(value).__name__}"


def _dotted(parts: tuple[Any, ...]) -> str:
    """A structure path in the validator's notation: ``a.b[2].c``."""
    text = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _path_order(path: str) -> str:
    # Zero-pad array indices so that [2] sorts before [10].
    return re.sub(r"\[(\d+)\]", lambda match: f"[{int(match[1]):012d}]", path)
