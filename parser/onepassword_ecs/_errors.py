"""The exception tree of onepassword_ecs.

One root, so that a caller can catch everything this library raises on purpose::

    OnePasswordEcsError
    ├── NormalizationError (also a ValueError)   a record that cannot become a document
    ├── MappingTableError                         a mapping table in mappings/ is malformed
    ├── InputError                                an input cannot be read at all (stream)
    ├── SinkError                                 a destination cannot take documents at all
    │   ├── StoreError                            the event store cannot be opened or written
    │   └── ClusterError                          a search cluster is unreachable or refuses us
    └── InvestigationError                        an investigation cannot be run as asked

``NormalizationError`` carries a short, stable ``reason`` code (for error streams,
metrics and tests) and the JSON ``path`` of the offending field when there is one,
so a person can find the problem in the raw record without reading our code.
"""

from __future__ import annotations

__all__ = [
    "ClusterError",
    "InvestigationError",
    "MappingTableError",
    "NormalizationError",
    "OnePasswordEcsError",
    "SinkError",
    "StoreError",
]


class OnePasswordEcsError(Exception):
    """Root of every exception this library raises deliberately."""


class NormalizationError(OnePasswordEcsError, ValueError):
    """A raw record could not be turned into an ECS document.

    ``reason`` is one of a small set of stable codes (``invalid_json``,
    ``not_an_object``, ``unknown_dataset``, ``missing_timestamp``,
    ``bad_timestamp``, ...); ``path`` is a JSON path such as ``$.timestamp``
    or ``None`` when the problem is the record as a whole.
    """

    def __init__(self, reason: str, message: str, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        self.detail = message
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{message} [{reason}]")

    def __reduce__(self) -> tuple[type[NormalizationError], tuple[str, str, str | None]]:
        # Keep the three fields when errors cross process boundaries (--workers).
        return (type(self), (self.reason, self.detail, self.path))


class MappingTableError(OnePasswordEcsError):
    """A table under mappings/ does not have the shape the mappers need.

    Raised once, when the tables are loaded, naming the file and the entry.
    """


class SinkError(OnePasswordEcsError):
    """A destination cannot take documents at all (as opposed to refusing one document).

    A refused document is a :class:`~onepassword_ecs.stream.Rejection` and the stream
    goes on; this error ends the run, because nothing more could be delivered, and the
    caller (the collector) must not move its cursor.
    """


class StoreError(SinkError):
    """The embedded event store cannot be used as asked.

    Not a store, written by a newer program, missing when opened read-only, or opened
    read-only and written to. The message names the file and says what to do.
    """


class ClusterError(SinkError):
    """An Elasticsearch or OpenSearch cluster cannot be used.

    Unreachable after every retry, authentication refused, or the whole request
    rejected. The message names the cluster by its address (never with credentials)
    and gives the cluster's own reason.
    """


class InvestigationError(OnePasswordEcsError):
    """An investigation cannot be run as asked.

    A time or duration that does not parse, a person, vault or address the store has
    never seen, a name that matches several people, or a missing optional dependency.
    The message says what was asked and what to do instead.
    """
