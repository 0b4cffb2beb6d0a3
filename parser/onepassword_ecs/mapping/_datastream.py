"""``data_stream.*``: which data stream a document goes to, carried in the document.

Why in the document: a ``_bulk`` request, Filebeat or Elastic Agent can then route each
document to ``logs-1password_ecs.<dataset>-<namespace>`` from its own fields, and the
stream's ``constant_keyword`` fields agree with what is stored. The names come from the
ecs room, where the index template's pattern is made from the same constants.

Opt-in in the library (``normalize(..., data_stream_namespace=...)``): a caller that
routes documents elsewhere gets none of it. The CLI adds it through :class:`DataStreamStage`,
a stage, so the conversion loop needs no new option.
"""

from __future__ import annotations

import functools
from typing import Any

from .._errors import NormalizationError
from ..ecs import data_stream_fields, namespace_problem
from ._dataset import Dataset, parse_dataset

__all__ = ["BAD_NAMESPACE", "DataStreamStage", "add_data_stream", "check_namespace"]

BAD_NAMESPACE = "bad_namespace"
"""Reason of the NormalizationError for a namespace no data stream name can hold."""


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` if it can be part of a data stream name, else raise
    ``NormalizationError('bad_namespace')`` saying why (as ``dataset=`` does for a bad
    dataset name: an argument of ``normalize``, not the record, is wrong)."""
    problem = (
        _known_problem(namespace) if isinstance(namespace, str) else namespace_problem(namespace)
    )
    if problem is not None:
        raise NormalizationError(BAD_NAMESPACE, problem)
    assert isinstance(namespace, str)
    return namespace


@functools.lru_cache(maxsize=64)
def _known_problem(namespace: str) -> str | None:
    # A run uses one namespace for millions of records: check it once.
    return namespace_problem(namespace)


def add_data_stream(document: dict[str, Any], dataset: Dataset, namespace: str) -> None:
    """Set ``document['data_stream']`` for a document of ``dataset`` bound for ``namespace``."""
    document["data_stream"] = data_stream_fields(dataset.value, namespace)


class DataStreamStage:
    """A stage adding ``data_stream.*`` to the documents ``normalize`` made.

    The same fields as ``normalize(..., data_stream_namespace=namespace)``; the dataset
    is read back from ``event.dataset``. Picklable, so it runs in worker processes.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = check_namespace(namespace)
        # event.dataset -> data_stream, computed once: this runs for every document.
        self._by_event_dataset = {
            dataset.event_dataset: data_stream_fields(dataset.value, self.namespace)
            for dataset in Dataset
        }

    def __call__(self, document: dict[str, Any]) -> dict[str, Any]:
        event_dataset = document["event"]["dataset"]
        fields = self._by_event_dataset.get(event_dataset)
        if fields is None:  # not one of ours: say which, through the usual parser
            add_data_stream(document, parse_dataset(event_dataset), self.namespace)
        else:
            document["data_stream"] = dict(fields)  # each document its own dict
        return document

    def __repr__(self) -> str:
        return f"DataStreamStage({self.namespace!r})"
