"""The Events API over HTTP: one attempt per call, classified into the error tree.

httpx gives explicit connect/read/write/pool timeouts, proxies from the standard
environment variables and TLS verification against a custom CA bundle. Each attempt
first takes a slot from the account's :class:`~._budget.RateBudget`; retries are the
:class:`~._retry.RetryPolicy`'s business.

``--timeout`` bounds the whole attempt, not only each read: the attempt arms the
:mod:`._watchdog` with its deadline, and a request still running then has its socket
shut down (the body is also checked against the deadline between chunks). A stop
(SIGTERM) cuts the request in flight the same way and raises
:class:`~._stopper.Interrupted`.

The token goes into the ``Authorization`` header of each request and nowhere else.
Error messages are built from the method, the path, the status and a short piece of
the response body with the token scrubbed out, never from the request.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

import orjson

from .. import __version__
from .._errors import (
    BadCursorError,
    EventsApiError,
    NotAuthorizedError,
    RateLimitedError,
    TransientApiError,
)
from ._budget import RateBudget
from ._config import Secret, Tunables
from ._retry import RetryPolicy
from ._slots import Ticket
from ._stopper import Interrupted, Stopper
from ._watchdog import WATCHDOG

if TYPE_CHECKING:  # imported when a client is made: httpx pulls in rich when it is installed
    import httpx

__all__ = ["EventsClient", "Introspection", "Page", "parse_retry_after"]

_BODY_EXCERPT = 200


@dataclass(frozen=True)
class Introspection:
    """What the token is: its integration, its account (API 1.4.1+), the features it covers."""

    integration_uuid: str
    account_uuid: str | None
    features: frozenset[str]


@dataclass(frozen=True)
class Page:
    """One response of a stream endpoint."""

    items: list[Any]
    cursor: str
    has_more: bool


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date; None if absent/bad."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    moment = time.time() if now is None else now
    return max(0.0, when.timestamp() - moment)


class EventsClient:
    """Requests to one account's Events API, within its rate budget, with retries."""

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        tunables: Tunables,
        budget: RateBudget,
        retry: RetryPolicy,
        stopper: Stopper | None = None,
    ) -> None:
        self._token = token
        self._budget = budget
        self._retry = retry
        self._max_response_bytes = tunables.max_response_bytes
        timeout = tunables.timeout
        self._timeout = timeout
        self._stopper = stopper
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._in_flight = False
        self._cut: str | None = None
        self._forget_stop = stopper.on_stop(self._stop_cut) if stopper is not None else None
        import httpx  # here, not at the top: `import onepassword_ecs.cli` stays light

        self._httpx = httpx
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            verify=_tls_context(tunables.ca_bundle),
            trust_env=True,
            follow_redirects=False,
            headers={"User-Agent": f"onepassword-ecs/{__version__}"},
        )

    def close(self) -> None:
        if self._forget_stop is not None:
            self._forget_stop()
        self._http.close()

    # --- cutting a request short --------------------------------------------------------

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: keep the socket of each new connection, to cut it."""
        if event.endswith("connect_tcp.complete"):
            stream = info.get("return_value")
            found = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(found, socket.socket):
                with self._lock:
                    self._socket = found

    def _cut_now(self, why: str) -> None:
        with self._lock:
            if not self._in_flight or self._cut is not None:
                return
            self._cut = why
            target = self._socket
        if target is not None:
            with contextlib.suppress(OSError):  # already closed: the request is ending
                target.shutdown(socket.SHUT_RDWR)

    def _stop_cut(self) -> None:
        self._cut_now("stop")

    def _deadline_cut(self) -> None:
        self._cut_now("deadline")

    def _cut_error(self, method: str, path: str) -> Exception | None:
        """What a cut attempt raises: Interrupted on a stop, a retried timeout past the
        deadline; None when the attempt was not cut."""
        if self._cut == "stop" or (self._stopper is not None and self._stopper.stopping):
            return Interrupted()
        if self._cut == "deadline":
            return TransientApiError(
                f"{method} {path}: timed out (no complete answer within "
                f"{self._timeout:g}s; --timeout bounds the whole request)"
            )
        return None

    def _scrub(self, text: str) -> str:
        token = self._token.reveal()
        return text.replace(token, "***") if token else text

    def _read_bounded(
        self, response: httpx.Response, method: str, path: str, deadline: float
    ) -> bytes:
        """The body, refused past ``max_response_bytes``: memory stays bounded whatever
        the server (or a proxy in between) sends. A 1,000-event page is a few MB.
        Checked against the deadline between chunks (the watchdog cuts a stalled read)."""
        parts: list[bytes] = []
        size = 0
        for part in response.iter_bytes():
            if time.monotonic() > deadline:
                self._deadline_cut()
                raise self._httpx.ReadTimeout("past the deadline")
            size += len(part)
            if size > self._max_response_bytes:
                raise EventsApiError(
                    f"{method} {path}: the answer is larger than "
                    f"{self._max_response_bytes} bytes; refused",
                    response.status_code,
                )
            parts.append(part)
        return b"".join(parts)

    def _describe(self, content: bytes) -> str:
        """The API's own message (1.4.1 ``message`` or 1.2.0 ``Error.Message``), scrubbed."""
        message: str | None = None
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict):
            if isinstance(body.get("message"), str):
                message = body["message"]
            elif isinstance(body.get("Error"), dict) and isinstance(
                body["Error"].get("Message"), str
            ):
                message = body["Error"]["Message"]
        if message is None:
            message = content[:_BODY_EXCERPT].decode("utf-8", "replace").strip()
        return self._scrub(message[:_BODY_EXCERPT])

    def _attempt(
        self, method: str, path: str, body: dict[str, Any] | None, ticket: Ticket | None = None
    ) -> Any:
        entry = self._budget.acquire()
        if ticket is not None:
            try:
                ticket.take()  # after the budget: an account waiting for it holds no slot
            except BaseException:
                self._budget.complete(entry)
                raise
        try:
            return self._send(method, path, body, entry)
        except BaseException:
            if ticket is not None:  # a failed attempt holds no page: let another fetch
                ticket.release()
            raise

    def _send(self, method: str, path: str, body: dict[str, Any] | None, entry: int) -> Any:
        headers = {"Authorization": f"Bearer {self._token.reveal()}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            method,
            path,
            headers=headers,
            content=None if body is None else orjson.dumps(body),
            extensions={"trace": self._trace},
        )
        deadline = time.monotonic() + self._timeout
        with self._lock:
            self._in_flight, self._cut = True, None
        alarm = WATCHDOG.arm(deadline, self._deadline_cut)
        try:
            if self._stopper is not None and self._stopper.stopping:
                raise Interrupted
            response = self._http.send(request, stream=True)
            try:
                stream = response.extensions.get("network_stream")
                found = stream.get_extra_info("socket") if stream is not None else None
                if isinstance(found, socket.socket):
                    with self._lock:
                        self._socket = found
                content = self._read_bounded(response, method, path, deadline)
            finally:
                response.close()
        except self._httpx.TimeoutException as exc:
            cut = self._cut_error(method, path)
            if cut is not None:
                raise cut from None
            raise TransientApiError(f"{method} {path}: timed out ({type(exc).__name__})") from None
        except self._httpx.TransportError as exc:
            cut = self._cut_error(method, path)
            if cut is not None:
                raise cut from None
            if _tls_refused(exc):  # retrying will not make an untrusted certificate trusted
                raise EventsApiError(
                    f"{method} {path}: the server's TLS certificate is not trusted "
                    "(a private CA? pass --ca-bundle PATH)"
                ) from None
            raise TransientApiError(
                f"{method} {path}: {type(exc).__name__}: {self._scrub(str(exc))}"
            ) from None
        finally:
            WATCHDOG.disarm(alarm)
            with self._lock:
                self._in_flight = False
            self._budget.complete(entry)
        status = response.status_code
        if status == 200:
            try:
                return orjson.loads(content)
            except orjson.JSONDecodeError:
                raise TransientApiError(
                    f"{method} {path}: 200 with a body that is not JSON", 200
                ) from None
        what = f"{method} {path}: HTTP {status}: {self._describe(content)}"
        if status == 429:
            raise RateLimitedError(what, parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise TransientApiError(what, status)
        if status in (401, 403):
            raise NotAuthorizedError(what, status)
        if status == 400 and body is not None and "cursor" in body:
            raise BadCursorError(what, status)
        raise EventsApiError(what, status)

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        ticket: Ticket | None = None,
    ) -> Any:
        return self._retry.call(lambda: self._attempt(method, path, body, ticket))

    def introspect(self) -> Introspection:
        """``GET /api/v2/auth/introspect``, falling back to the deprecated v1 path on 404."""
        try:
            answer = self.call("GET", "/api/v2/auth/introspect")
            keys = ("uuid", "account_uuid", "features")
        except EventsApiError as exc:
            if exc.status not in (404, 405):
                raise
            answer = self.call("GET", "/api/auth/introspect")
            keys = ("UUID", "AccountUUID", "Features")
        if not isinstance(answer, dict):
            raise EventsApiError("introspect: the answer is not a JSON object", 200)
        integration, account, features = (answer.get(key) for key in keys)
        if not isinstance(features, list):
            raise EventsApiError("introspect: the answer has no features list", 200)
        return Introspection(
            integration_uuid=integration if isinstance(integration, str) else "",
            account_uuid=account if isinstance(account, str) and account else None,
            features=frozenset(f for f in features if isinstance(f, str)),
        )

    def page(
        self, version: str, endpoint: str, body: dict[str, Any], ticket: Ticket | None = None
    ) -> Page:
        """One POST to a stream endpoint; the envelope is checked before it is trusted.

        ``ticket`` is taken before the request is sent and left held when the page is
        returned: the caller gives it back once the page is delivered."""
        path = f"/api/{version}/{endpoint}"
        answer = self.call("POST", path, body, ticket)
        if (
            not isinstance(answer, dict)
            or not isinstance(answer.get("items", []), list)
            or not isinstance(answer.get("cursor"), str)
            or not isinstance(answer.get("has_more", False), bool)
        ):
            raise EventsApiError(
                f"POST {path}: the answer is not an items/cursor/has_more page", 200
            )
        return Page(
            items=answer.get("items") or [],
            cursor=answer["cursor"],
            has_more=bool(answer.get("has_more", False)),
        )


@functools.lru_cache(maxsize=4)
def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """One TLS context per CA bundle for every account of the run.

    Each context loads the whole CA store (about 0.9 MB of OpenSSL memory); httpx's
    default makes one per client, which with 200 accounts was most of the collector's
    memory. A context is safe to share between threads and connections.
    """
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    import httpx

    return httpx.create_ssl_context(trust_env=True)  # what verify=True would build


def _tls_refused(error: BaseException) -> bool:
    """Whether a transport error comes from certificate verification."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
