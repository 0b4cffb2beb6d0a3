"""Elasticsearch and OpenSearch as a sink: bulk ``create`` with the event id as ``_id``.

Why ``create`` with ``_id`` = ``event.id``: a page delivered twice (a collector restarted
before its cursor moved, a file converted again) is then a 409 conflict per document,
counted as a duplicate, and never a second copy of the event.

What happens to each document of a batch, from the bulk response's items:

- 200/201: accepted; 409: a duplicate;
- 429 or 5xx: sent again, alone with the other such items, after a backoff that
  doubles up to a ceiling; after the last attempt the run stops with
  :class:`ClusterError` (the cluster cannot take documents; nothing is acknowledged);
- anything else (a mapping conflict, a document too large): a
  :class:`~onepassword_ecs.stream.Rejection` with the cluster's error type as reason
  and its message, which the conversion loop writes to the error stream with the
  document. The rest of the batch is not held up.

A whole request that fails with 429/5xx or cannot reach the cluster is retried the same
way. ``write`` returns once the cluster has answered for every document, and a bulk
answer means the cluster has written the operations to its transaction log (the default
``index.translog.durability: request``), so ``flush`` has nothing left to wait for.

Targets: by default each document goes to the data stream its ``data_stream.*`` fields
name (``logs-1password_ecs.signin_attempts-default``; ``convert`` adds them), or, for a
document without them, the one :func:`~onepassword_ecs.ecs.data_stream_name` gives for
its dataset and the sink's namespace: the names the ``template`` command's index
template matches. With ``index`` set, every document goes to that one index or alias
(for servers without data streams).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from .._errors import ClusterError
from ..ecs import DEFAULT_NAMESPACE, LOGS_COMPONENTS, TEMPLATE_NAME, index_template
from ..ecs import data_stream_name as stream_for_dataset
from ..stream import Batch, Rejection, SinkResult
from ._clients import BulkClient, ClusterAuth, Retryable, display_url, make_client

__all__ = ["DATA_STREAM_TEMPLATE", "ClusterSink", "RetryPolicy", "data_stream_name"]

DATA_STREAM_TEMPLATE = TEMPLATE_NAME
"""The name the data-stream template is installed under (as the ``template`` command)."""

_MAX_REQUEST_BYTES = 8 * 1024 * 1024  # well under the 100 MB http.max_content_length


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a busy or unreachable cluster before giving up.

    With the defaults: 8 tries after the first, waiting about 0.5, 1, 2, 4, 8, 16, 30,
    30 s (with jitter), a little under two minutes in all.
    """

    retries: int = 8
    first_backoff: float = 0.5
    max_backoff: float = 30.0
    request_timeout: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 0)."""
        ceiling = min(self.max_backoff, self.first_backoff * 2.0**attempt)
        return float(ceiling * random.uniform(0.5, 1.0))


def _document_id(document: dict[str, Any], encoded: bytes) -> str:
    """``event.id``, or (like the store) the sha256 of the document's bytes."""
    event = document.get("event")
    value = event.get("id") if isinstance(event, dict) else None
    if isinstance(value, str) and value:
        return value
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


def data_stream_name(document: dict[str, Any], namespace: str) -> str:
    """The data stream ``document`` names (``type-dataset-namespace``), else its dataset's."""
    stream = document.get("data_stream")
    if isinstance(stream, dict):
        parts = [stream.get(key) for key in ("type", "dataset", "namespace")]
        if all(isinstance(part, str) and part for part in parts):
            return "-".join(str(part) for part in parts)
    event = document.get("event")
    dataset = event.get("dataset") if isinstance(event, dict) else None
    short = dataset.removeprefix("1password.") if isinstance(dataset, str) and dataset else None
    return stream_for_dataset(short or "unknown", namespace)


def _error_of(item: dict[str, Any]) -> tuple[int, str, str]:
    """``(status, type, reason)`` of one bulk response item."""
    result: Any = next(iter(item.values()), {}) if item else {}
    if not isinstance(result, dict):
        return 0, "invalid_response", f"unexpected bulk item {item!r:.200}"
    status = result.get("status")
    error = result.get("error")
    if isinstance(error, dict):
        kind = str(error.get("type", "error"))
        reason = str(error.get("reason", ""))
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason = f"{reason} (caused by {cause.get('type')}: {cause.get('reason')})"
    else:
        kind, reason = ("error", str(error)) if error is not None else ("", "")
    return (status if isinstance(status, int) else 0), kind, reason


class ClusterSink:
    """A :class:`~onepassword_ecs.stream.Sink` writing to Elasticsearch or OpenSearch."""

    def __init__(
        self,
        client: BulkClient,
        *,
        name: str,
        index: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._name = name
        self.index = index
        self.namespace = namespace
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    @classmethod
    def open(
        cls,
        flavor: str,
        url: str,
        *,
        auth: ClusterAuth | None = None,
        index: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        install_template: bool = True,
        retry: RetryPolicy | None = None,
    ) -> ClusterSink:
        """Connect to the cluster at ``url`` and, unless told not to, install the template.

        Raises :class:`ClusterError` when the client is not installed, the cluster
        cannot be reached after the retries, or it refuses the template.
        """
        policy = retry or RetryPolicy()
        client = make_client(flavor, url, auth or ClusterAuth(), policy.request_timeout)
        sink = cls(
            client,
            name=f"{flavor} {display_url(url)}",
            index=index,
            namespace=namespace,
            retry=policy,
        )
        try:
            if install_template:
                sink.install_template(flavor)
        except BaseException:
            client.close()
            raise
        return sink

    @property
    def name(self) -> str:
        return self._name

    # --- the template ----------------------------------------------------------------

    def template(self, flavor: str, *, logs_components: bool = True) -> tuple[str, dict[str, Any]]:
        """The template's name and body for this sink's target.

        Data streams: the ``template`` command's template. A plain index: the same
        mappings for exactly that index name, without the data-stream declaration.
        """
        if self.index is None:
            name = DATA_STREAM_TEMPLATE
            body = index_template(name=name, flavor=flavor, logs_components=logs_components)
            return name, body
        name = f"onepassword-ecs-{self.index}"
        body = index_template(
            name=name, pattern=self.index, flavor=flavor, logs_components=logs_components
        )
        del body["data_stream"]
        return name, body

    def install_template(self, flavor: str) -> bool:
        """Put the template unless one of that name exists that we did not write.

        Ours (``_meta.managed_by``) is replaced, so an upgrade brings its mappings;
        someone else's is left alone. Returns whether the template was written.
        """
        # Elasticsearch 8.11+ ships the logs@ components the template is composed of; an
        # older cluster (or an API-compatible server) without them gets the template alone.
        components = flavor == "elasticsearch" and all(
            self._retrying(partial(self._client.has_component_template, name))
            for name in LOGS_COMPONENTS
        )
        name, body = self.template(flavor, logs_components=components)
        present = self._retrying(lambda: self._client.get_template(name))
        if present is not None:
            meta = present.get("_meta")
            if not (isinstance(meta, dict) and meta.get("managed_by") == "onepassword-ecs"):
                return False
        self._retrying(lambda: self._client.put_template(name, body))
        return True

    # --- the Sink protocol -----------------------------------------------------------

    def write(self, batch: Batch) -> SinkResult:
        """Send the batch; return once the cluster answered for every document."""
        encoded = batch.documents()
        actions: list[bytes] = []
        for text in encoded:
            document = orjson.loads(text)
            action: dict[str, Any] = {"_id": _document_id(document, text)}
            if self.index is None:
                action["_index"] = data_stream_name(document, self.namespace)
            actions.append(orjson.dumps({"create": action}))
        accepted = duplicates = 0
        rejected: list[Rejection] = []
        pending = list(range(len(encoded)))
        attempt = 0
        while pending:
            again: list[int] = []
            for request in self._requests(pending, actions, encoded):
                items = self._retrying(partial(self._send, request, actions, encoded))
                for position, item in zip(request, items, strict=True):
                    status, kind, reason = _error_of(item)
                    if status in (200, 201):
                        accepted += 1
                    elif status == 409:
                        duplicates += 1
                    elif status == 429 or 500 <= status <= 599:
                        again.append(position)
                    else:
                        rejected.append(Rejection(position, kind or f"http_{status}", reason))
            if again:
                if attempt >= self.retry.retries:
                    raise ClusterError(
                        f"{self._name}: {len(again)} documents still refused as busy or "
                        f"failing after {attempt + 1} tries; giving up"
                    )
                self._sleep(self.retry.backoff(attempt))
                attempt += 1
            pending = again
        rejected.sort(key=lambda rejection: rejection.index)
        return SinkResult(accepted=accepted, duplicates=duplicates, rejected=rejected)

    def flush(self) -> None:
        """Nothing to wait for: ``write`` returned only after the cluster acknowledged."""

    def close(self) -> None:
        self._client.close()

    # --- internals -------------------------------------------------------------------

    @staticmethod
    def _requests(
        positions: list[int], actions: list[bytes], encoded: list[bytes]
    ) -> list[list[int]]:
        """Split into requests of at most :data:`_MAX_REQUEST_BYTES` each."""
        requests: list[list[int]] = []
        current: list[int] = []
        size = 0
        for position in positions:
            cost = len(actions[position]) + len(encoded[position]) + 2
            if current and size + cost > _MAX_REQUEST_BYTES:
                requests.append(current)
                current, size = [], 0
            current.append(position)
            size += cost
        if current:
            requests.append(current)
        return requests

    def _send(
        self, request: list[int], actions: list[bytes], encoded: list[bytes]
    ) -> list[dict[str, Any]]:
        payload = b"".join(actions[i] + b"\n" + encoded[i] + b"\n" for i in request)
        items = self._client.bulk(payload, self.index)
        if len(items) != len(request):
            raise ClusterError(
                f"the bulk response has {len(items)} items for {len(request)} documents"
            )
        return items

    def _retrying(self, call: Callable[[], Any]) -> Any:
        """``call()``, tried again after a backoff while the cluster is busy or away."""
        attempt = 0
        while True:
            try:
                return call()
            except Retryable as exc:
                if attempt >= self.retry.retries:
                    raise ClusterError(
                        f"{self._name}: {exc}; gave up after {attempt + 1} tries"
                    ) from None
                self._sleep(self.retry.backoff(attempt))
                attempt += 1
            except ClusterError as exc:
                raise ClusterError(f"{self._name}: {exc}") from None
