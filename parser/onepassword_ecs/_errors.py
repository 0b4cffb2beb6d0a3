"""The exception tree of onepassword_ecs.

One root, so that a caller can catch everything this library raises on purpose::

    OnePasswordEcsError
    ├── NormalizationError (also a ValueError)   a record that cannot become a document
    ├── ArgumentError (also ValueError, TypeError) a public function called with an
    │                                             argument it cannot use
    ├── MappingTableError                         a mapping table in mappings/ is malformed
    ├── InputError                                an input cannot be read at all (stream)
    ├── SinkError                                 a destination cannot take documents at all
    │   ├── StoreError                            the event store cannot be opened or written
    │   └── ClusterError                          a search cluster is unreachable or refuses us
    ├── InvestigationError                        an investigation cannot be run as asked
    ├── DetectionError                            a rule, context file or export target is unusable
    ├── StageConfigError                          a stage cannot run as configured
    │   └── LookupFileError                       a lookup file is unreadable or holds secrets
    └── CollectorError                            the collector cannot go on as asked
        ├── CollectorConfigError                  bad option, config file, token or URL (exit 2)
        └── EventsApiError                        the Events API refused or could not be reached
            ├── TransientApiError                 429, 5xx, timeout, connection: retried
            │   └── RateLimitedError              429, with the server's Retry-After if any
            ├── BadCursorError                    400 on a cursor request: cursor not accepted
            └── NotAuthorizedError                401/403: permanent for that stream

Collector errors never carry the API token: messages are built from the status, the
endpoint path and a scrubbed, shortened response body, never from request headers.

``NormalizationError`` carries a short, stable ``reason`` code (for error streams,
metrics and tests; the documented codes are ``REASONS``) and the JSON ``path`` of the
offending field when there is one, so a person can find the problem in the raw record
without reading our code.
"""

from __future__ import annotations

__all__ = [
    "REASONS",
    "ArgumentError",
    "BadCursorError",
    "ClusterError",
    "CollectorConfigError",
    "CollectorError",
    "DetectionError",
    "EventsApiError",
    "InvestigationError",
    "LookupFileError",
    "MappingTableError",
    "NormalizationError",
    "NotAuthorizedError",
    "OnePasswordEcsError",
    "RateLimitedError",
    "SinkError",
    "StageConfigError",
    "StoreError",
    "TransientApiError",
]

# Every reason code a NormalizationError may carry, with what it means. A code is a
# promise to the people who count and alert on them: add codes, never rename one.
REASONS: dict[str, str] = {
    "invalid_json": "the text is not one JSON value",
    "invalid_utf8": "the bytes are not UTF-8 text (the message gives the byte offset)",
    "invalid_unicode": "the text or object holds a lone surrogate, which is not Unicode",
    "duplicate_key": "an object repeats a key (the path names it)",
    "cyclic_structure": "a Python object contains itself",
    "record_too_large": "the record is larger than the configured or built-in bound",
    "not_an_object": "the record is not a JSON object",
    "unknown_dataset": "no dataset given and none recognised from the record",
    "missing_timestamp": "the record has no timestamp",
    "bad_timestamp": "the timestamp is not an RFC 3339 date-time (the message says why)",
    "bad_namespace": "the data_stream_namespace argument cannot name a data stream",
    "internal_error": "a bug in this library; please report it with the record",
}


class OnePasswordEcsError(Exception):
    """Root of every exception this library raises deliberately."""


class NormalizationError(OnePasswordEcsError, ValueError):
    """A raw record could not be turned into an ECS document.

    ``reason`` is one of the stable codes in ``REASONS``; ``path`` is a JSON path
    such as ``$.timestamp`` or ``None`` when the problem is the record as a whole.
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


class ArgumentError(OnePasswordEcsError, ValueError, TypeError):
    """A public function was called with an option it cannot use (a flavor that does
    not exist, a name that is not a string, an unknown time zone).

    Unlike a NormalizationError it is about the call, not the record: retrying with
    another record cannot help. Also a ``ValueError`` and a ``TypeError``, so code that
    caught those from earlier versions keeps working.
    """


class MappingTableError(OnePasswordEcsError):
    """A table under mappings/ does not have the shape the mappers need.

    Raised once, when the tables are loaded, naming the file and the entry.
    """


class StageConfigError(OnePasswordEcsError):
    """A stage (enrichment, redaction) cannot run as configured: an unknown field or
    mode, a missing redaction key. Raised before any record is read; the message never
    holds a secret.
    """


class LookupFileError(StageConfigError):
    """A lookup file cannot be used: unreadable, of an unknown shape, or holding secrets.

    The message names the file and the entry, never a value from it.
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


class CollectorError(OnePasswordEcsError):
    """The collector (``onepassword-ecs collect``) cannot go on as asked."""


class CollectorConfigError(CollectorError):
    """A usage or configuration problem found before polling: the run exits 2."""


class EventsApiError(CollectorError):
    """The Events API answered with an error status, or could not be reached.

    ``status`` is the HTTP status, or ``None`` for timeouts and connection errors.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class TransientApiError(EventsApiError):
    """Worth retrying with backoff: 429, 5xx, a timeout, a refused or dropped connection."""


class RateLimitedError(TransientApiError):
    """429 Too Many Requests; ``retry_after`` is the server's wait in seconds, if it sent one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, 429)


class BadCursorError(EventsApiError):
    """400 on a request that carried a cursor: the API no longer accepts that cursor."""


class NotAuthorizedError(EventsApiError):
    """401 or 403: the token does not cover this stream (or no longer works)."""


class DetectionError(OnePasswordEcsError):
    """The detections cannot run as asked.

    A rule file that is not valid Sigma (or names a rule twice), a context file with an
    unknown key or a malformed value, an unknown export target. The message names the
    file and the entry; the CLI reports it as a usage error.
    """
