"""The two official clients behind one small interface: bulk, get and put a template.

Why an adapter: elasticsearch-py and opensearch-py share an ancestry but not their
exception classes nor some argument names, and both are optional extras. Each adapter
imports its client only when constructed, turns the client's exceptions into two kinds
(:class:`Retryable`: overloaded or unreachable, try again later; :class:`ClusterError`:
refused, retrying cannot help) and keeps the client's own retries off, so the sink's
one bounded retry loop is the only one.

Error text is built from status codes and the cluster's ``type``/``reason`` fields,
never from request objects or headers, so credentials cannot leak into a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from .._errors import ClusterError

__all__ = [
    "FLAVORS",
    "BulkClient",
    "ClusterAuth",
    "Retryable",
    "display_url",
    "make_client",
]

FLAVORS = ("elasticsearch", "opensearch")


def _worth_retrying(status: object) -> bool:
    """Too many requests, or a server-side failure that may pass."""
    return isinstance(status, int) and (status == 429 or 500 <= status <= 599)


_EXTRA_HINT = {
    "elasticsearch": 'pip install "onepassword-ecs[elasticsearch]"',
    "opensearch": 'pip install "onepassword-ecs[opensearch]"',
}


class Retryable(Exception):
    """The cluster is busy (429), failing (5xx) or unreachable: worth another try."""


@dataclass(frozen=True, repr=False)
class ClusterAuth:
    """How to authenticate and verify TLS. Secrets come from files or the environment.

    ``repr`` shows which kinds are set, never the values, so the object can appear in
    a log or a traceback safely.
    """

    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def __repr__(self) -> str:
        kinds = [
            name
            for name in ("api_key", "username", "password", "ca_bundle", "client_cert")
            if getattr(self, name) is not None
        ]
        return f"ClusterAuth({', '.join(kinds) or 'none'})"


def display_url(url: str) -> str:
    """``url`` without any user or password part, for messages and summaries."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class BulkClient(Protocol):
    """What the sink needs from a cluster client."""

    def bulk(self, payload: bytes, index: str | None) -> list[dict[str, Any]]:
        """Send one ``_bulk`` body; the response's items, in request order."""
        ...

    def get_template(self, name: str) -> dict[str, Any] | None:
        """The composable index template ``name``, or ``None`` when there is none."""
        ...

    def put_template(self, name: str, body: dict[str, Any]) -> None:
        """Create or replace the composable index template ``name``."""
        ...

    def has_component_template(self, name: str) -> bool:
        """Whether the component template ``name`` exists."""
        ...

    def close(self) -> None: ...


def _reason(status: object, body: object, fallback: str) -> str:
    """``status type: reason`` from an error response body, whatever its shape."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}".rstrip(": ")
    elif isinstance(error, str):
        text = error
    else:
        text = fallback
    return f"HTTP {status} {text}"


def _items(response: Any) -> list[dict[str, Any]]:
    body = response.body if hasattr(response, "body") else response
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ClusterError("the bulk response has no items list")
    return items


def _templates(response: Any, name: str) -> dict[str, Any] | None:
    body = response.body if hasattr(response, "body") else response
    for entry in body.get("index_templates", []) if isinstance(body, dict) else []:
        if isinstance(entry, dict) and entry.get("name") == name:
            template = entry.get("index_template")
            return template if isinstance(template, dict) else {}
    return None


class _TemplateCalls:
    """The index-template calls, the same on both official clients.

    Each client class supplies ``_client`` and ``_call`` (its error translation).
    """

    _client: Any

    def _call(self, action: str, function: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def get_template(self, name: str) -> dict[str, Any] | None:
        try:
            response = self._call(
                "get template", self._client.indices.get_index_template, name=name
            )
        except ClusterError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise
        return _templates(response, name)

    def put_template(self, name: str, body: dict[str, Any]) -> None:
        self._call("put template", self._client.indices.put_index_template, name=name, body=body)


class _Elasticsearch(_TemplateCalls):
    """elasticsearch-py 8 or 9."""

    def __init__(self, url: str, auth: ClusterAuth, timeout: float) -> None:
        try:
            import elasticsearch
        except ImportError:
            raise ClusterError(
                f"--elasticsearch needs the Elasticsearch client: {_EXTRA_HINT['elasticsearch']}"
            ) from None
        options: dict[str, Any] = {
            "request_timeout": timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
        }
        if auth.api_key is not None:
            options["api_key"] = auth.api_key
        if auth.username is not None:
            options["basic_auth"] = (auth.username, auth.password or "")
        if auth.ca_bundle is not None:
            options["ca_certs"] = auth.ca_bundle
        if auth.client_cert is not None:
            options["client_cert"] = auth.client_cert
            options["client_key"] = auth.client_key
        self._module = elasticsearch
        self._client = elasticsearch.Elasticsearch(url, **options)

    def _call(self, action: str, function: Any, **kwargs: Any) -> Any:
        import elastic_transport

        try:
            return function(**kwargs)
        except self._module.ApiError as exc:
            text = _reason(exc.meta.status, exc.body, exc.message)
            if _worth_retrying(exc.meta.status):
                raise Retryable(f"{action}: {text}") from None
            raise ClusterError(f"{action}: {text}") from None
        except elastic_transport.TlsError as exc:
            # An untrusted certificate or a refused client certificate: trying again
            # cannot help, and waiting two minutes to say so would not either.
            raise ClusterError(f"{action}: TLS failed: {exc.message}") from None
        except elastic_transport.TransportError as exc:
            # Connection refused or reset, timeout: the cluster may be restarting.
            raise Retryable(f"{action}: {type(exc).__name__}: {exc.message}") from None

    def bulk(self, payload: bytes, index: str | None) -> list[dict[str, Any]]:
        extra = {"index": index} if index is not None else {}
        return _items(self._call("bulk", self._client.bulk, operations=payload, **extra))

    def has_component_template(self, name: str) -> bool:
        try:
            self._call(
                "get component template", self._client.cluster.get_component_template, name=name
            )
        except ClusterError as exc:
            if "HTTP 404" in str(exc):
                return False
            raise
        return True

    def close(self) -> None:
        self._client.close()


class _OpenSearch(_TemplateCalls):
    """opensearch-py (OpenSearch, Amazon OpenSearch Service with basic auth or certs)."""

    def __init__(self, url: str, auth: ClusterAuth, timeout: float) -> None:
        try:
            import opensearchpy
        except ImportError:
            raise ClusterError(
                f"--opensearch needs the OpenSearch client: {_EXTRA_HINT['opensearch']}"
            ) from None
        options: dict[str, Any] = {"timeout": timeout, "max_retries": 0, "retry_on_timeout": False}
        if auth.api_key is not None:
            # OpenSearch has no Elasticsearch-style API keys; saying so beats a 401.
            raise ClusterError(
                "OpenSearch does not take an API key; use basic auth or client certificates"
            )
        if auth.username is not None:
            options["http_auth"] = (auth.username, auth.password or "")
        if auth.ca_bundle is not None:
            options["ca_certs"] = auth.ca_bundle
        if auth.client_cert is not None:
            options["client_cert"] = auth.client_cert
            options["client_key"] = auth.client_key
        if url.startswith("https:"):
            options["verify_certs"] = True
        self._module = opensearchpy
        self._client = opensearchpy.OpenSearch(hosts=[url], **options)

    def _call(self, action: str, function: Any, **kwargs: Any) -> Any:
        exceptions = self._module.exceptions
        try:
            return function(**kwargs)
        except exceptions.SSLError as exc:  # as for Elasticsearch: retrying cannot help
            raise ClusterError(f"{action}: TLS failed: {exc.error}") from None
        except exceptions.ConnectionError as exc:  # refused, reset, timeout
            raise Retryable(f"{action}: {type(exc).__name__}: {exc.error}") from None
        except exceptions.TransportError as exc:
            status = exc.status_code
            text = _reason(status, exc.info, str(exc.error))
            if _worth_retrying(status):
                raise Retryable(f"{action}: {text}") from None
            raise ClusterError(f"{action}: {text}") from None

    def bulk(self, payload: bytes, index: str | None) -> list[dict[str, Any]]:
        return _items(self._call("bulk", self._client.bulk, body=payload, index=index))

    def has_component_template(self, name: str) -> bool:
        return False  # the logs@ components are Elasticsearch's; never asked for here

    def close(self) -> None:
        self._client.close()


def make_client(flavor: str, url: str, auth: ClusterAuth, timeout: float) -> BulkClient:
    """The adapter for ``flavor``; :class:`ClusterError` when its client is not installed."""
    if flavor == "elasticsearch":
        return _Elasticsearch(url, auth, timeout)
    if flavor == "opensearch":
        return _OpenSearch(url, auth, timeout)
    raise ValueError(f"flavor must be one of {', '.join(FLAVORS)}, got {flavor!r}")
