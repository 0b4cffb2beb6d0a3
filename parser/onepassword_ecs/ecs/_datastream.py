"""Where documents are stored: data stream names, and the index template defaults.

Why one module: the template's index pattern and the ``data_stream.*`` fields the
documents carry must agree, or ``_bulk`` puts a document into a stream whose template
does not type it. Both are derived from the constants here.

The choices, justified at length in docs/mapping.md ("Index template and data streams"):

* Our streams are ``logs-1password_ecs.<dataset>-<namespace>``, not Elastic's
  ``logs-1password.<dataset>-<namespace>``. Elastic's 1Password integration installs one
  template per dataset matching ``logs-1password.<dataset>-*`` at priority 200 and an
  ingest pipeline that expects *raw* records; sharing its stream names would either
  fail to install (same priority, overlapping patterns) or hand our documents to its
  pipeline and mappings (different priority, whoever is higher wins the other's streams).
  ``logs-1password_ecs.*-*`` cannot match any name ``logs-1password.*`` matches: the
  character after ``1password`` differs (``_`` against ``.``).
* Priority 150: above Elasticsearch's built-in ``logs-*-*`` (100) and ``logs-*.otel-*``
  (120) templates, which also match our names, so ours applies; below Fleet's
  integration templates (200), so even a user who widens our pattern over Elastic's
  streams cannot take them over, and installing either never fails on equal priorities.
* ``event.dataset`` stays ``1password.<dataset>``, Elastic's value, so rules and
  searches written against the integration's events match ours too;
  ``data_stream.dataset`` is ``1password_ecs.<dataset>``, naming where they are stored.
"""

from __future__ import annotations

import re

__all__ = [
    "DATA_STREAM_DATASET_PREFIX",
    "DATA_STREAM_TYPE",
    "DEFAULT_NAMESPACE",
    "TEMPLATE_NAME",
    "TEMPLATE_PATTERN",
    "TEMPLATE_PRIORITY",
    "data_stream_fields",
    "data_stream_name",
    "namespace_problem",
]

DATA_STREAM_TYPE = "logs"
DATA_STREAM_DATASET_PREFIX = "1password_ecs"
DEFAULT_NAMESPACE = "default"

TEMPLATE_NAME = f"{DATA_STREAM_TYPE}-{DATA_STREAM_DATASET_PREFIX}"
TEMPLATE_PATTERN = f"{DATA_STREAM_TYPE}-{DATA_STREAM_DATASET_PREFIX}.*-*"
TEMPLATE_PRIORITY = 150

# Elasticsearch's rules for the namespace part of a data stream name: lower case, at
# most 100 bytes, no '-' (it separates the parts) and none of the characters an index
# name may not hold. Checked here so a bad namespace fails once, up front, instead of
# every document being refused by the cluster.
_NAMESPACE_MAX_BYTES = 100
_NAMESPACE_FORBIDDEN = re.compile(r'[-\\/*?"<>|,# :]')


def namespace_problem(namespace: object) -> str | None:
    """Why ``namespace`` cannot be a data stream namespace, or None when it can."""
    if not isinstance(namespace, str):
        return f"the namespace must be a string, got {type(namespace).__name__}"
    if not namespace:
        return "the namespace must not be empty"
    if len(namespace.encode("utf-8")) > _NAMESPACE_MAX_BYTES:
        return f"the namespace must be at most {_NAMESPACE_MAX_BYTES} bytes long"
    if namespace != namespace.lower():
        return f"the namespace {namespace!r} must be lower case"
    bad = _NAMESPACE_FORBIDDEN.search(namespace)
    if bad is not None:
        return (
            f"the namespace {namespace!r} may not contain {bad.group()!r} (a data stream "
            "namespace excludes '-', spaces and \\ / * ? \" < > | , # :)"
        )
    if not namespace.isprintable():
        return f"the namespace {namespace!r} may not contain control characters"
    return None


def data_stream_fields(dataset: str, namespace: str) -> dict[str, str]:
    """The ``data_stream`` object of a document of ``dataset`` (short name, such as
    ``signin_attempts``) bound for ``namespace``."""
    return {
        "dataset": f"{DATA_STREAM_DATASET_PREFIX}.{dataset}",
        "namespace": namespace,
        "type": DATA_STREAM_TYPE,
    }


def data_stream_name(dataset: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    """The data stream a document of ``dataset`` goes to: ``type-dataset-namespace``."""
    fields = data_stream_fields(dataset, namespace)
    return f"{fields['type']}-{fields['dataset']}-{fields['namespace']}"
