"""The rule pack as Spark SQL over the lake the Spark job writes (``rules export --target spark``).

pySigma's Databricks backend (``pySigma-backend-databricks``, which installs beside the
pinned pySigma 1.5.1) writes Spark SQL conditions: dotted ECS names are struct field
access on the job's nested columns (``event.action``, ``onepassword.object_type``),
values compare case-insensitively through ``lower()`` as Sigma means them, and a
field-to-field comparison is plain ``=``. Two adaptations make it ours:

- a whole query, ``SELECT * FROM onepassword_ecs WHERE ...``, over a table or view of
  the job's output (docs/spark.md says how to register one);
- ECS arrays (``event.category``, ``event.type``, ``related.*``) are Spark arrays in the
  lake, where Sigma's "any value matches" is ``exists(field, v -> ...)``; the backend
  would apply ``lower()`` to the array itself, which Spark refuses.

Correlations are not exported: the backend has none, and a hand-written ``GROUP BY
window(...)`` is a fixed or hopping window, which misses a burst across a window edge
(the same reason ES|QL and Splunk get none); a true sliding window needs a self-join
per event, which is the local engine's job, not a scheduled query's.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from sigma.backends.databricks import DatabricksBackend  # type: ignore[attr-defined]
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.conversion.deferred import DeferredQueryExpression
from sigma.conversion.state import ConversionState

from ..ecs import ecs_table, emitted_fields

__all__ = ["SPARK_TABLE", "SparkSqlBackend", "array_fields"]

SPARK_TABLE = "onepassword_ecs"
"""The table or view the exported queries read: the job's output, registered by you."""

# The lambda variable standing for one element of an array column.
_ELEMENT = "element"


@functools.cache
def array_fields() -> frozenset[str]:
    """The emitted ECS fields that are arrays (ECS ``normalize: array``): Spark arrays."""
    table = ecs_table().fields
    return frozenset(name for name in emitted_fields() if table[name].array)


class SparkSqlBackend(DatabricksBackend):
    """The Databricks backend, with array fields matched element-wise and whole queries."""

    name = "spark"

    def convert_condition_field_eq_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        if cond.field in array_fields():
            element = copy.copy(cond)
            element.field = _ELEMENT
            inner = super().convert_condition_field_eq_val(element, state)
            if isinstance(inner, str):
                return f"exists({cond.field}, {_ELEMENT} -> {inner})"
            return inner
        result: str | DeferredQueryExpression = super().convert_condition_field_eq_val(cond, state)
        return result

    def finalize_query_default(
        self, rule: Any, query: Any, index: int, state: ConversionState
    ) -> Any:
        condition = super().finalize_query_default(rule, query, index, state)
        return f"SELECT * FROM {SPARK_TABLE} WHERE {condition}"
