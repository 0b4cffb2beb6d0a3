"""An index template that maps the fields our documents carry.

Why: without a template, Elasticsearch or OpenSearch guesses types from the
first document (an IP becomes text, a geo point two floats, a date sometimes a
string), and detection rules and dashboards built on ECS stop matching. The
template types exactly the ECS fields the mappers can emit
(mappings/emitted_fields.toml, with their ECS 9.4.0 types from the generated
table) and the declared ``onepassword.*`` fields (mappings/onepassword_fields.toml).
Undeclared ``onepassword.*`` strings, which the Events API may add over time,
become keywords through a dynamic template.
"""

from __future__ import annotations

from typing import Any

from .._errors import ArgumentError
from ._fielddefs import VENDOR_ROOT, emitted_fields, vendor_fields
from ._table import EcsField, ecs_table

__all__ = ["FLAVORS", "PRIORITY", "index_template"]

FLAVORS = ("elasticsearch", "opensearch")

# Above the priority (100) of Elasticsearch's built-in ``logs-*-*`` template, which
# also matches ``logs-1password.*-*``: two matching templates may not share a priority,
# and ours must win for its mappings to apply.
PRIORITY = 200

# The keyword limit ECS uses; the same for undeclared vendor strings.
_IGNORE_ABOVE = 1024

# OpenSearch lacks some Elasticsearch types; these are the nearest equivalents.
_OPENSEARCH_TYPES = {
    "match_only_text": "text",
    "flattened": "flat_object",
    "constant_keyword": "keyword",
}


def index_template(
    *,
    name: str = "logs-1password",
    pattern: str = "logs-1password.*",
    flavor: str = "elasticsearch",
) -> dict[str, Any]:
    """Return the body for ``PUT _index_template/<name>`` (composable template).

    ``flavor`` is ``"elasticsearch"`` or ``"opensearch"``; OpenSearch gets
    ``text`` for ``match_only_text`` and ``flat_object`` for ``flattened``.
    The template declares a data stream, as Elastic's ``logs-*-*`` convention
    does, so documents are indexed into ``logs-1password.<dataset>-<namespace>``.
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
        _place(properties, field, _ecs_mapping(table.fields[field], flavor))
    for field, spec in vendor_fields().items():
        # Keyword leaves (and, on Elasticsearch, flattened leaves) longer than
        # ignore_above are stored but not indexed; without it one huge value would
        # exceed Lucene's term limit and reject the whole document.
        capped = spec.type == "keyword" or (spec.type == "flattened" and flavor == "elasticsearch")
        vendor = EcsField(type=spec.type, ignore_above=_IGNORE_ABOVE if capped else None)
        _place(properties, field, _ecs_mapping(vendor, flavor))
    return {
        "index_patterns": [pattern],
        "priority": PRIORITY,
        "data_stream": {},
        "_meta": {
            "description": "1Password Events API records as ECS documents (onepassword-ecs)",
            "ecs_version": table.ecs_version,
            "managed_by": "onepassword-ecs",
            "template_name": name,
        },
        "template": {
            "mappings": {
                "dynamic_templates": [
                    {
                        "onepassword_strings_as_keyword": {
                            "path_match": f"{VENDOR_ROOT}.*",
                            "match_mapping_type": "string",
                            "mapping": {"type": "keyword", "ignore_above": _IGNORE_ABOVE},
                        }
                    }
                ],
                "properties": properties,
            }
        },
    }


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
