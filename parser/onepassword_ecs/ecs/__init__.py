"""ECS 9.4.0 conformance: the pinned field table, ``validate``, the index template and
the declarations of the ``onepassword.*`` vendor fields.

The lowest room but one: it knows what a valid document looks like and nothing of
1Password records, so the mappers, the sinks and the tests can all lean on it.
"""

from __future__ import annotations

from ._fielddefs import VENDOR_ROOT, VendorField, emitted_fields, vendor_fields
from ._table import EcsField, ecs_table
from ._template import FLAVORS, index_template
from ._validate import MAX_NODES, Problem, StructureProblem, structure_problem, validate

__all__ = [
    "FLAVORS",
    "MAX_NODES",
    "VENDOR_ROOT",
    "EcsField",
    "Problem",
    "StructureProblem",
    "VendorField",
    "ecs_table",
    "emitted_fields",
    "index_template",
    "structure_problem",
    "validate",
    "vendor_fields",
]
