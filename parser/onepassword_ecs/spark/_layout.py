"""The shape of a document column by column, as plain data (no pyspark needed).

Why a layer below the Spark schema: the executors check every document against it
before Spark parses the document (a value Spark's JSON reader cannot put in its typed
column would otherwise become a silent null), and the rule export needs the same
field types, without importing pyspark. Both are derived from the sources the index
template uses: the pinned ECS table for ``emitted_fields.toml`` and the declarations
of ``onepassword_fields.toml``, so the lake, the template and the validator cannot
drift apart.

A layout is a tree: ``dict`` nodes are objects (Spark structs), string leaves are one
of the :data:`KINDS`; an ECS field whose ``normalize`` says ``array`` is the kind
prefixed with ``array:``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Union

from ..ecs import ecs_table, emitted_fields, vendor_fields

__all__ = [
    "KINDS",
    "NANOS_COLUMN",
    "TIMESTAMP",
    "UNMAPPED_COLUMN",
    "Layout",
    "document_layout",
    "kind_of",
]

Layout = Mapping[str, Union[str, "Layout"]]

TIMESTAMP = "@timestamp"
NANOS_COLUMN = "@timestamp_ns"
"""The document's ``@timestamp`` text, nine fractional digits: Spark keeps microseconds."""
UNMAPPED_COLUMN = "unmapped"
"""JSON text of what has no column (undeclared ``onepassword.*`` leaves), same nesting."""

# Elasticsearch type (ECS table or onepassword declaration) -> leaf kind. The kinds are
# what the executors check a JSON value against and what the Spark schema maps to a
# column type. Dates other than @timestamp stay text: nanoseconds, and lossless.
KINDS: Mapping[str, str] = MappingProxyType(
    {
        "keyword": "string",
        "constant_keyword": "string",
        "wildcard": "string",
        "match_only_text": "string",
        "text": "string",
        "ip": "string",
        "date": "string",
        "date_nanos": "string",
        "long": "long",
        "integer": "long",
        "short": "long",
        "byte": "long",
        # Doubles even where ES says float: a JSON number normalize wrote must come
        # back as the same number.
        "float": "double",
        "half_float": "double",
        "scaled_float": "double",
        "double": "double",
        "boolean": "boolean",
        "geo_point": "geo_point",
        # Any JSON under it: kept as its JSON text in a string column.
        "flattened": "json",
    }
)


def kind_of(es_type: str, array: bool = False) -> str:
    """The leaf kind of an Elasticsearch type (``array:`` prefixed for ECS arrays)."""
    kind = KINDS[es_type]
    return f"array:{kind}" if array else kind


def _place(tree: dict[str, Any], dotted: str, kind: str) -> None:
    *parents, leaf = dotted.split(".")
    level = tree
    for parent in parents:
        level = level.setdefault(parent, {})
    if leaf not in level:
        level[leaf] = kind


def _freeze(tree: dict[str, Any]) -> Layout:
    return MappingProxyType(
        {k: _freeze(v) if isinstance(v, dict) else v for k, v in sorted(tree.items())}
    )


@functools.cache
def document_layout() -> Layout:
    """The layout of a document: every emitted ECS field and declared vendor field.

    ``@timestamp`` is the kind ``timestamp`` (a Spark timestamp, with the text beside it
    in :data:`NANOS_COLUMN`); an ``object`` declaration with no declared children is
    ``json``, since nothing says what it holds.
    """
    table = ecs_table().fields
    tree: dict[str, Any] = {}
    for name in emitted_fields():
        field = table[name]
        _place(tree, name, "timestamp" if name == TIMESTAMP else kind_of(field.type, field.array))
    declared = vendor_fields()
    for name, spec in declared.items():
        if spec.type == "object":
            if not any(other.startswith(name + ".") for other in declared):
                _place(tree, name, "json")
            continue
        _place(tree, name, kind_of(spec.type))
    return _freeze(tree)
