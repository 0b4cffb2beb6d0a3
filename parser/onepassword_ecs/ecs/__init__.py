"""ECS 9.4.0 conformance: the pinned field table, ``validate``, the index template (and
the data stream names it matches) and the declarations of the ``onepassword.*`` vendor
fields.

The lowest room but one: it knows what a valid document looks like and nothing of
1Password records, so the mappers, the sinks and the tests can all lean on it.
"""

from __future__ import annotations

from ._datastream import (
    DATA_STREAM_DATASET_PREFIX,
    DEFAULT_NAMESPACE,
    TEMPLATE_NAME,
    TEMPLATE_PATTERN,
    data_stream_fields,
    data_stream_name,
    namespace_problem,
)
from ._fielddefs import VENDOR_ROOT, VendorField, emitted_fields, vendor_fields
from ._table import EcsField, ecs_table
from ._template import FLAVORS, LOGS_COMPONENTS, index_template
from ._validate import (
    MAX_NODES,
    Problem,
    StructureProblem,
    index_accepts_date,
    structure_problem,
    validate,
)

__all__ = [
    "DATA_STREAM_DATASET_PREFIX",
    "DEFAULT_NAMESPACE",
    "FLAVORS",
    "LOGS_COMPONENTS",
    "MAX_NODES",
    "TEMPLATE_NAME",
    "TEMPLATE_PATTERN",
    "VENDOR_ROOT",
    "EcsField",
    "Problem",
    "StructureProblem",
    "VendorField",
    "data_stream_fields",
    "data_stream_name",
    "ecs_table",
    "emitted_fields",
    "index_accepts_date",
    "index_template",
    "namespace_problem",
    "structure_problem",
    "validate",
    "vendor_fields",
]
