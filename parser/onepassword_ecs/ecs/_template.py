"""An index template that maps the fields our documents carry.

Why: without a template, Elasticsearch or OpenSearch guesses types from the
first document (an IP becomes text, a geo point two floats, a date sometimes a
string), and detection rules and dashboards built on ECS stop matching. The
template types exactly the ECS fields the mappers can emit
(mappings/emitted_fields.toml, with their ECS 9.4.0 types from the generated
table) and the declared ``onepassword.*`` fields (mappings/onepassword_fields.toml).
Every other leaf under ``onepassword.*``, which the Events API may add over time
with any JSON type, becomes a keyword through dynamic templates, so a field that
is a number in one record and a string in the next cannot make a document
rejectable.

Its name, index pattern and priority (``_datastream.py``) let it sit beside
Elastic's own 1Password integration without clashing with it; docs/mapping.md says why.
"""

from __future__ import annotations

from typing import Any

from .._errors import ArgumentError
from ._datastream import TEMPLATE_NAME, TEMPLATE_PATTERN, TEMPLATE_PRIORITY
from ._fielddefs import VENDOR_ROOT, emitted_fields, vendor_fields
from ._table import EcsField, ecs_table

__all__ = ["FLAVORS", "LOGS_COMPONENTS", "PRIORITY", "index_template"]

FLAVORS = ("elasticsearch", "opensearch")

PRIORITY = TEMPLATE_PRIORITY

# Elasticsearch's own building blocks for logs-*-* data streams (8.11 and later):
# logs@settings brings the lifecycle policy, compression and ignore_malformed;
# logs@mappings the constant data_stream.* fields. Our own mappings win where both
# define a field (the index template's mappings override its components').
# OpenSearch has neither, so they are never composed there.
LOGS_COMPONENTS = ("logs@mappings", "logs@settings")

# The keyword limit ECS uses; the same for undeclared vendor values.
_IGNORE_ABOVE = 1024

# Where we deliberately differ from the type ECS gives a field.
_TYPE_OVERRIDES = {
    # Our timestamps carry nanoseconds (1Password sends up to nine fractional
    # digits); ``date`` would keep milliseconds and sort events of the same
    # millisecond at random.
    "@timestamp": "date_nanos",
}

# Every JSON leaf type a dynamic mapping can detect ("date" is a string that
# date detection recognised). Objects are left out: they stay objects, and the
# leaves inside them get these rules in turn.
_DYNAMIC_LEAF_TYPES = ("string", "long", "double", "boolean", "date")

# OpenSearch lacks some Elasticsearch types; these are the nearest equivalents.
_OPENSEARCH_TYPES = {
    "match_only_text": "text",
    "flattened": "flat_object",
    "constant_keyword": "keyword",
}


def index_template(
    *,
    name: str = TEMPLATE_NAME,
    pattern: str = TEMPLATE_PATTERN,
    flavor: str = "elasticsearch",
    logs_components: bool = True,
) -> dict[str, Any]:
    """Return the body for ``PUT _index_template/<name>`` (composable template).

    ``flavor`` is ``"elasticsearch"`` or ``"opensearch"``; OpenSearch gets
    ``text`` for ``match_only_text`` and ``flat_object`` for ``flattened``.
    The template declares a data stream, as Elastic's ``logs-*-*`` convention
    does, so documents are indexed into ``logs-1password_ecs.<dataset>-<namespace>``
    (the ``data_stream.*`` fields ``normalize(..., data_stream_namespace=...)`` adds).
    On Elasticsearch it is composed of ``logs@mappings`` and ``logs@settings``
    unless ``logs_components`` is false (clusters older than 8.11 lack them).
    ``name`` is recorded in ``_meta`` so a template found on a cluster can be
    traced back to this package. Raises :class:`ArgumentError` (also a
    ``ValueError``) for another flavor, or a name or pattern that is not a non-empty
    string.
    """
    if not isinstance(flavor, str) or flavor not in FLAVORS:
        raise ArgumentError(f"flavor must be one of {', '.join(FLAVORS)}, got {flavor!r}")
    for label, value in (("name", name), ("pattern", pattern)):
        if not isinstance(value, str) or not value.strip():
            raise ArgumentError(f"{label} must be a non-empty string, got {value!r}")
    table = ecs_table()
    properties: dict[str, Any] = {}
    for field in emitted_fields():
        ecs = table.fields[field]
        if field in _TYPE_OVERRIDES:
            ecs = ecs.model_copy(update={"type": _TYPE_OVERRIDES[field]})
        _place(properties, field, _ecs_mapping(ecs, flavor))
    for field, spec in vendor_fields().items():
        # Keyword leaves (and, on Elasticsearch, flattened leaves) longer than
        # ignore_above are stored but not indexed; without it one huge value would
        # exceed Lucene's term limit and reject the whole document.
        capped = spec.type == "keyword" or (spec.type == "flattened" and flavor == "elasticsearch")
        vendor = EcsField(type=spec.type, ignore_above=_IGNORE_ABOVE if capped else None)
        _place(properties, field, _ecs_mapping(vendor, flavor))
    template: dict[str, Any] = {
        "index_patterns": [pattern],
        "priority": PRIORITY,
        "data_stream": {},
    }
    if flavor == "elasticsearch" and logs_components:
        template["composed_of"] = list(LOGS_COMPONENTS)
    template["_meta"] = {
        "description": "1Password Events API records as ECS documents (onepassword-ecs)",
        "ecs_version": table.ecs_version,
        "managed_by": "onepassword-ecs",
        "template_name": name,
    }
    template["template"] = {
        "mappings": {"dynamic_templates": _vendor_dynamic_templates(), "properties": properties}
    }
    return template


def _vendor_dynamic_templates() -> list[dict[str, Any]]:
    """One rule per JSON leaf type: any undeclared ``onepassword.*`` leaf is a keyword.

    One rule per type rather than ``"*"``, which would also match objects and
    turn a nested object into a keyword that cannot hold it.
    """
    return [
        {
            f"{VENDOR_ROOT}_{kind}_as_keyword": {
                "path_match": f"{VENDOR_ROOT}.*",
                "match_mapping_type": kind,
                "mapping": {"type": "keyword", "ignore_above": _IGNORE_ABOVE},
            }
        }
        for kind in _DYNAMIC_LEAF_TYPES
    ]


def _type_name(es_type: str, flavor: str) -> str:
    return _OPENSEARCH_TYPES.get(es_type, es_type) if flavor == "opensearch" else es_type


def _ecs_mapping(field: EcsField, flavor: str) -> dict[str, Any]:
    """The mapping of one field, with the parameters ECS sets for it."""
    mapping: dict[str, Any] = {"type": _type_name(field.type, flavor)}
    if field.ignore_above is not None:
        mapping["ignore_above"] = field.ignore_above
    if not field.index:
        mapping["index"] = False
    if not field.doc_values:
        mapping["doc_values"] = False
    if field.scaling_factor is not None:
        mapping["scaling_factor"] = field.scaling_factor
    if field.multi_fields:
        mapping["fields"] = {
            multi.name: {"type": _type_name(multi.type, flavor)} for multi in field.multi_fields
        }
    return mapping


def _place(properties: dict[str, Any], dotted: str, mapping: dict[str, Any]) -> None:
    """Put ``mapping`` at ``dotted`` inside nested ``properties`` objects.

    A field that is also the parent of others (an ``object`` with declared
    children) keeps its own parameters next to ``properties``.
    """
    *parents, leaf = dotted.split(".")
    level = properties
    for parent in parents:
        level = level.setdefault(parent, {}).setdefault("properties", {})
    level.setdefault(leaf, {}).update(mapping)
