"""The stage seam: document → document steps between normalize and the sinks.

Enrichment (names for uuids) and redaction (pseudonyms for people) are stages. A stage
is any picklable callable taking the document ``normalize`` made and returning the
document to deliver (the same dict changed in place, or a new one); it runs in the
worker process that normalized the record, so it must not depend on state only the
parent has. A stage that raises rejects that one record, with reason ``stage_error``
(or the reason of a :class:`~onepassword_ecs.NormalizationError` it raised).

With no stage configured the conversion loop does not even look: the hot path is the
same as before the seam existed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["STAGE_ERROR", "Stage", "apply_stages"]

Stage = Callable[[dict[str, Any]], dict[str, Any]]

STAGE_ERROR = "stage_error"
"""Reason for a record whose document a stage failed on with an unexpected exception."""


def apply_stages(document: dict[str, Any], stages: Sequence[Stage]) -> dict[str, Any]:
    """Run ``document`` through every stage in order."""
    for stage in stages:
        document = stage(document)
    return document
