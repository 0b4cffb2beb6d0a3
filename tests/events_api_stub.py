"""A stand-in for the 1Password Events API: a real HTTP server on 127.0.0.1.

It behaves as the API documents (see docs/collector.md) and reproduces, on demand,
every failure the collector must survive:

* opaque cursors that walk the stream in *ingestion* order, so an event added late
  with an old timestamp comes after newer ones (:meth:`StubEventsApi.add`);
* the same cursor back on an empty page when there is nothing new;
* ``has_more=true`` with an empty page and a new cursor (``empty_pages``);
* 429 with or without ``Retry-After``, 500, or any status, optionally answered too
  late for the client's timeout, or trickled one byte at a time (:meth:`fail_next`);
* pages that repeat records already delivered with ``has_more=true`` and a new cursor,
  for ever (``replay``);
* 400 for a cursor it no longer knows (:meth:`forget_cursors`);
* 401 for a stream the token does not cover, or an unknown token;
* v1 and v2 shapes: v1 endpoints drop the v2 MSP fields, the v1 introspection
  answers with capitalised keys, the v2 introspection can be switched off (404);
* the rate limit (600 a minute by default, configurable): every request's arrival
  time is recorded, a request over the limit gets 429, and :meth:`max_in_window`
  lets a test assert the limit was never exceeded.

It runs in a thread of the test process (``ThreadingHTTPServer``); the collector under
test may be a subprocess. Nothing here is imported by the package.
"""

from __future__ import annotations

import base64
import copy
import ssl
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

FEATURES = ("auditevents", "itemusages", "signinattempts")

# Fields the v1 endpoints do not have (API 1.3.0/1.4.0 added them for MSP accounts).
_V2_ONLY_TOP = ("account_uuid", "actor_type", "actor_account_uuid")
_V2_ONLY_USER = ("user_type", "user_account_uuid")


@dataclass
class Fault:
    """One scripted failure for an upcoming request."""

    status: int
    retry_after: str | None = None
    endpoint: str | None = None
    body: bytes | None = None
    stall: float = 0.0
    trickle: float = 0.0
    """Seconds between the answer's bytes (headers and body): a server that never
    lets a read time out."""


@dataclass
class RequestRecord:
    """What the stub saw: when, what, which answer."""

    at: float
    method: str
    path: str
    body: Any
    status: int
    authorization: str | None


@dataclass
class StubState:
    tokens: dict[str, frozenset[str]]
    account_uuid: str = "ACCOUNTAAAAAAAAAAAAAAAAAAA"
    integration_uuid: str = "INTEGRATIONBBBBBBBBBBBBBBB"
    introspect_v2: bool = True
    rate_limit: tuple[int, float] = (600, 60.0)
    rate_limit_retry_after: bool = True
    delay: float = 0.0
    empty_pages: int = 0
    replay: bool = False
    generation: int = 1
    events: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {feature: [] for feature in FEATURES}
    )
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[RequestRecord] = field(default_factory=list)
    arrivals: deque[float] = field(default_factory=deque)
    rate_limited: int = 0
    nonce: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _encode_cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode("ascii").rstrip("=")


def _decode_cursor(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _v1_shape(record: dict[str, Any]) -> dict[str, Any]:
    shaped = copy.deepcopy(record)
    for key in _V2_ONLY_TOP:
        shaped.pop(key, None)
    for key in ("actor_details", "user", "target_user"):
        if isinstance(shaped.get(key), dict):
            for inner in _V2_ONLY_USER:
                shaped[key].pop(inner, None)
    return shaped


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, each answer on a kept-alive
    # connection would wait for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads ``requests`` instead."""

    trickle = 0.0

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = body if isinstance(body, bytes) else orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not self.trickle:
            self.wfile.write(payload)
            return
        for position in range(len(payload)):
            time.sleep(self.trickle)
            self.wfile.write(payload[position : position + 1])
            self.wfile.flush()

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = "<invalid json>"
        stub = self.server.stub
        arrived = time.time()
        self.trickle = 0.0
        status, answer, headers = self._route(method, body, arrived)
        with stub.lock:
            stub.requests.append(
                RequestRecord(
                    arrived, method, self.path, body, status, self.headers.get("Authorization")
                )
            )
        if stub.delay:
            time.sleep(stub.delay)
        self._answer(status, answer, headers)

    def _error(self, status: int, message: str, v1: bool) -> tuple[int, Any, dict[str, str]]:
        if v1:
            return status, {"Error": {"Message": message}}, {}
        return status, {"status": status, "message": message}, {}

    def _route(self, method: str, body: Any, arrived: float) -> tuple[int, Any, dict[str, str]]:
        stub = self.server.stub
        path = self.path.split("?")[0]
        v1 = path.startswith("/api/v1/") or path == "/api/auth/introspect"
        with stub.lock:
            count, window = stub.rate_limit
            while stub.arrivals and stub.arrivals[0] <= arrived - window:
                stub.arrivals.popleft()
            stub.arrivals.append(arrived)
            if len(stub.arrivals) > count:
                stub.rate_limited += 1
                retry = str(max(1, int(window))) if stub.rate_limit_retry_after else None
                status, answer, headers = self._error(429, "Too Many Requests", v1)
                return status, answer, ({"Retry-After": retry} if retry else headers)
            endpoint = path.rsplit("/", 1)[-1]
            fault = None
            if stub.faults and stub.faults[0].endpoint in (None, endpoint):
                fault = stub.faults.popleft()
        if fault is not None:
            self.trickle = fault.trickle
            if fault.stall:  # answer too late: the client's read timeout fires first
                time.sleep(fault.stall)
            if fault.body is not None:
                return fault.status, fault.body, {}
            status, answer, headers = self._error(fault.status, "scripted failure", v1)
            if fault.retry_after is not None:
                headers = {"Retry-After": fault.retry_after}
            return status, answer, headers
        auth = self.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ")
        features = stub.tokens.get(token) if auth.startswith("Bearer ") else None
        if features is None:
            return self._error(401, "Unauthorized", v1)
        if method == "GET" and path == "/api/v2/auth/introspect":
            if not stub.introspect_v2:
                return 404, {"status": 404, "message": "Not Found"}, {}
            return (
                200,
                {
                    "uuid": stub.integration_uuid,
                    "issued_at": "2025-01-01T00:00:00Z",
                    "features": sorted(features),
                    "account_uuid": stub.account_uuid,
                },
                {},
            )
        if method == "GET" and path == "/api/auth/introspect":
            return (
                200,
                {
                    "UUID": stub.integration_uuid,
                    "IssuedAt": "2025-01-01T00:00:00Z",
                    "Features": sorted(features),
                },
                {},
            )
        parts = path.strip("/").split("/")
        if (
            method != "POST"
            or len(parts) != 3
            or parts[:1] != ["api"]
            or parts[1] not in ("v1", "v2")
            or parts[2] not in FEATURES
        ):
            return self._error(404, "Not Found", v1)
        if parts[2] not in features:
            return self._error(401, "Unauthorized: token not scoped to this resource", v1)
        return self._page(parts[2], body, v1)

    def _page(self, endpoint: str, body: Any, v1: bool) -> tuple[int, Any, dict[str, str]]:
        stub = self.server.stub
        if not isinstance(body, dict):
            return self._error(400, "Bad Request", v1)
        with stub.lock:
            if "cursor" in body:
                state = _decode_cursor(body["cursor"])
                if state is None or state.get("g") != stub.generation or state.get("e") != endpoint:
                    return self._error(400, "Bad Request: invalid cursor", v1)
                given = body["cursor"]
            else:
                limit = body.get("limit", 100)
                if not isinstance(limit, int) or not 1 <= limit <= 1000:
                    return self._error(400, "Bad Request: limit", v1)
                start = _parse_time(body.get("start_time")) if "start_time" in body else None
                end = _parse_time(body.get("end_time")) if "end_time" in body else None
                if ("start_time" in body and start is None) or ("end_time" in body and end is None):
                    return self._error(400, "Bad Request: time", v1)
                state = {
                    "e": endpoint,
                    "g": stub.generation,
                    "p": 0,
                    "l": limit,
                    "s": body.get("start_time"),
                    "t": body.get("end_time"),
                    "n": 0,
                }
                given = None
            if stub.replay and given is not None:  # the first page again, for ever
                stub.nonce += 1
                moved = {**state, "n": stub.nonce}
                again = [
                    _v1_shape(r) if v1 else copy.deepcopy(r)
                    for r in stub.events[endpoint][: state["l"]]
                ]
                return 200, {"items": again, "cursor": _encode_cursor(moved), "has_more": True}, {}
            if stub.empty_pages > 0 and given is not None:
                stub.empty_pages -= 1
                stub.nonce += 1
                moved = {**state, "n": stub.nonce}
                return 200, {"items": [], "cursor": _encode_cursor(moved), "has_more": True}, {}
            start = _parse_time(state["s"]) if state["s"] else None
            end = _parse_time(state["t"]) if state["t"] else None
            events = stub.events[endpoint]
            items: list[dict[str, Any]] = []
            position = state["p"]
            while position < len(events) and len(items) < state["l"]:
                record = events[position]
                position += 1
                # A hostile item (not an object) has no time: it is always sent.
                when = _parse_time(record.get("timestamp")) if isinstance(record, dict) else None
                if when is not None and start is not None and when < start:
                    continue
                if when is not None and end is not None and when >= end:
                    continue
                items.append(_v1_shape(record) if v1 else copy.deepcopy(record))
            has_more = position < len(events)
            if not items and given is not None and position == state["p"]:
                return 200, {"items": [], "cursor": given, "has_more": False}, {}
            cursor = _encode_cursor({**state, "p": position})
            return 200, {"items": items, "cursor": cursor, "has_more": has_more}, {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: StubState

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, kill -9) is expected here, not an error."""
        error = sys.exc_info()[1]
        if not isinstance(error, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class StubEventsApi:
    """The stand-in API: start it, feed it events, script failures, read what it saw."""

    def __init__(
        self,
        tokens: dict[str, frozenset[str]] | None = None,
        *,
        tls: tuple[str, str] | None = None,
        **options: Any,
    ) -> None:
        """``tls``: (certificate file, key file) to serve HTTPS instead of HTTP."""
        self.state = StubState(tokens=tokens or {}, **options)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self.state
        self._scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}"

    def start(self) -> StubEventsApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def add(self, endpoint: str, records: list[dict[str, Any]]) -> None:
        """Ingest records now, after everything ingested before (whatever their time)."""
        with self.state.lock:
            self.state.events[endpoint].extend(copy.deepcopy(records))

    def fail_next(
        self,
        status: int,
        *,
        count: int = 1,
        retry_after: str | None = None,
        endpoint: str | None = None,
        body: bytes | None = None,
        stall: float = 0.0,
        trickle: float = 0.0,
    ) -> None:
        with self.state.lock:
            for _ in range(count):
                self.state.faults.append(Fault(status, retry_after, endpoint, body, stall, trickle))

    def forget_cursors(self) -> None:
        """Every cursor handed out so far becomes unknown: requests with it get 400."""
        with self.state.lock:
            self.state.generation += 1

    def set(self, **options: Any) -> None:
        with self.state.lock:
            for name, value in options.items():
                setattr(self.state, name, value)

    @property
    def requests(self) -> list[RequestRecord]:
        with self.state.lock:
            return list(self.state.requests)

    def max_in_window(self, seconds: float) -> int:
        """The most requests that arrived within any ``seconds``-long window."""
        times = sorted(r.at for r in self.requests)
        best = 0
        first = 0
        for last, moment in enumerate(times):
            while times[first] <= moment - seconds:
                first += 1
            best = max(best, last - first + 1)
        return best
