"""The investigations as MCP tools, for any AI assistant that speaks the protocol.

``onepassword-ecs mcp --store PATH`` serves these tools over standard input and output
with the official ``mcp`` SDK: search events, a person's timeline and profile, vault
access, anomalies, alerts and the report's figures. What makes them safe to hand to an
assistant:

* **read-only**: every call opens the store with ``readonly=True`` (SQLite refuses any
  write) and closes it when done; the tools are annotated read-only and closed-world;
* **typed inputs**: each argument has a type, and limits have bounds the SDK checks
  before the tool runs (a ``limit`` of a million is an error, not a slow query);
* **bounded results**: at most :data:`MAX_EVENTS` events per answer, long texts cut at
  :data:`MAX_TEXT`; an answer says when it was cut;
* **no secrets**: events leave as :class:`EventView` rows (the named fields only,
  never ``event.original``); the server holds no credential, and error messages name
  only what was asked.

The SDK is an optional dependency (the ``investigate`` extra), imported only here.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import tzinfo
from typing import Annotated, Any, Literal

from pydantic import Field

from .._errors import InvestigationError
from ._access import access_report
from ._anomalies import find_anomalies
from ._profile import investigate_user
from ._queries import Investigation
from ._report import report_data
from ._window import Window, parse_duration, parse_time, resolve_window

__all__ = ["MAX_EVENTS", "MAX_TEXT", "TOOL_NAMES", "build_server", "serve_stdio"]

MAX_EVENTS = 200
MAX_TEXT = 2000
TOOL_NAMES = (
    "search_events",
    "user_timeline",
    "user_profile",
    "vault_access",
    "anomalies",
    "alerts",
    "report_summary",
)

Since = Annotated[
    str | None,
    Field(
        description="window start: 2026-10-24, 2026-10-24T08:00:00Z, or a duration ago "
        "such as 7d; default: 7 days before the window end",
        max_length=40,
    ),
]
Until = Annotated[
    str | None,
    Field(
        description="window end (exclusive), same forms; default: after the newest event",
        max_length=40,
    ),
]
Baseline = Annotated[
    str,
    Field(description="the period before the window to compare with, e.g. 30d", max_length=10),
]
Limit = Annotated[int, Field(ge=1, le=MAX_EVENTS, description="most events to return")]
Person = Annotated[
    str | None, Field(max_length=200, description="only this person: uuid, e-mail or name")
]
Address = Annotated[str | None, Field(max_length=45, description="source address")]
Action = Annotated[str | None, Field(max_length=64, description="event.action, e.g. export")]
Country = Annotated[str | None, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 code")]
Text = Annotated[str | None, Field(max_length=200, description="a substring of the event")]
Who = Annotated[
    str, Field(min_length=1, max_length=200, description="a person: user uuid, e-mail or name")
]
Vault = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9]{26}$", description="a vault uuid (26 letters and digits)")
]


def _answer(result: dict[str, Any]) -> dict[str, Any]:
    """The tool's answer with long strings and lists cut, so it stays small."""
    return {key: _clip(value) for key, value in result.items()}


def _clip(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, dict):
        return {key: _clip(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clip(item) for item in value[:MAX_EVENTS]]
    return value


class _Tools:
    """The tool bodies: each opens the store read-only, answers, and closes it."""

    def __init__(self, store: str | os.PathLike[str], zone: tzinfo, zone_name: str) -> None:
        self.store = store
        self.zone = zone
        self.zone_name = zone_name

    def _window(
        self, investigation: Investigation, since: str | None, until: str | None, baseline: str
    ) -> Window:
        return resolve_window(
            parse_time(since) if since else None,
            parse_time(until) if until else None,
            newest_ns=investigation.newest_ns(),
            baseline=parse_duration(baseline),
        )

    def search_events(
        self,
        since: Since = None,
        until: Until = None,
        user: Person = None,
        ip: Address = None,
        action: Action = None,
        outcome: Literal["success", "failure", "unknown"] | None = None,
        country: Country = None,
        dataset: Literal["signin", "item", "audit"] | None = None,
        text: Text = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        """Events matching every given filter in the window, newest `limit` (oldest first)."""
        with Investigation.open(self.store) as investigation:
            window = self._window(investigation, since, until, "1d")
            person = investigation.resolve_user(user) if user else None
            events = list(
                investigation.search(
                    since=window.since,
                    until=window.until,
                    person=person,
                    ip=ip,
                    action=action,
                    outcome=outcome,
                    country=country,
                    dataset=dataset,
                    text=text,
                    newest=limit + 1,
                )
            )
        more = len(events) > limit
        events = events[-limit:]
        return _answer(
            {
                "window": {"since": window.as_dict()["since"], "until": window.as_dict()["until"]},
                "shown": len(events),
                "more": more,
                "events": [event.as_dict() for event in events],
            }
        )

    def user_timeline(
        self,
        user: Who,
        since: Since = None,
        until: Until = None,
        baseline: Baseline = "30d",
        limit: Limit = 50,
    ) -> dict[str, Any]:
        """A person's events (as actor or affected user) in the window, newest `limit`,
        each marked with what is new compared with their baseline (country, address,
        app, hour) and with exports, self-grants and failures."""
        with Investigation.open(self.store) as investigation:
            window = self._window(investigation, since, until, baseline)
            person = investigation.resolve_user(user)
            report = investigate_user(
                investigation, person, window, zone=self.zone, zone_name=self.zone_name, limit=limit
            )
        result = report.as_dict()
        return _answer({key: result[key] for key in ("person", "window", "highlights", "timeline")})

    def user_profile(
        self, user: Who, since: Since = None, until: Until = None, baseline: Baseline = "30d"
    ) -> dict[str, Any]:
        """A person's usual countries, addresses, apps, OS, active hours, vaults, items
        and actions, in the window and in the baseline before it; new values flagged."""
        with Investigation.open(self.store) as investigation:
            window = self._window(investigation, since, until, baseline)
            person = investigation.resolve_user(user)
            report = investigate_user(
                investigation, person, window, zone=self.zone, zone_name=self.zone_name, limit=1
            )
        result = report.as_dict()
        keep = ("person", "window", "time_zone", "events", "highlights", "profile")
        return _answer({key: result[key] for key in keep})

    def vault_access(
        self, vault: Vault, since: Since = None, until: Until = None, limit: Limit = 50
    ) -> dict[str, Any]:
        """Who used or changed the vault in the window: per person counts by action,
        countries, first and last time; then notable events (grants, exports,
        self-grants) and the newest `limit` events."""
        with Investigation.open(self.store) as investigation:
            window = self._window(investigation, since, until, "1d")
            events = investigation.vault_events(vault, window.since, window.until)
            report = access_report("vault", vault.lower(), window, events, limit=limit)
        result = report.as_dict()
        result["people"] = result["people"][:limit]
        result["notable"]["events"] = result["notable"]["events"][:limit]
        return _answer(result)

    def anomalies(
        self,
        since: Since = None,
        until: Until = None,
        baseline: Baseline = "30d",
        limit: Annotated[int, Field(ge=1, le=50, description="most findings")] = 20,
    ) -> dict[str, Any]:
        """Ranked outliers across everyone (self-granted access, password sprays, new
        countries, first exports, new apps and addresses, volume, unusual hours), each
        with its evidence: counts, the baseline, and up to five events."""
        with Investigation.open(self.store) as investigation:
            window = self._window(investigation, since, until, baseline)
            findings = find_anomalies(investigation, window, zone=self.zone, limit=limit)
        return _answer(
            {"window": window.as_dict(), "findings": [finding.as_dict() for finding in findings]}
        )

    def alerts(
        self,
        since: Since = None,
        until: Until = None,
        user: Person = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        """Alerts written by the detection engine in the window (when the store has an
        alerts table), newest `limit`, optionally about one person."""
        with Investigation.open(self.store) as investigation:
            window = self._window(investigation, since, until, "1d")
            person = investigation.resolve_user(user) if user else None
            present = investigation.has_alerts()
            rows = investigation.alerts(window.since, window.until, person, limit=limit)
        return _answer({"alerts_table": present, "shown": len(rows), "alerts": rows})

    def report_summary(
        self,
        since: Since = None,
        until: Until = None,
        baseline: Baseline = "30d",
        user: Person = None,
        vault: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9]{26}$")] = None,
    ) -> dict[str, Any]:
        """The HTML report's figures as tables: sign-ins per day by outcome, failures by
        person and address, sign-in countries, item usage by action and vault, admin
        changes per day, alerts by rule and severity, and the anomaly list."""
        with Investigation.open(self.store) as investigation:
            window = self._window(investigation, since, until, baseline)
            person = investigation.resolve_user(user) if user else None
            data = report_data(investigation, window, zone=self.zone, person=person, vault=vault)
        return _answer(data.as_dict())


def build_server(store: str | os.PathLike[str], *, zone: tzinfo, zone_name: str) -> Any:
    """An MCP server (not yet running) whose tools read ``store``."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
        from mcp.types import ToolAnnotations
    except ImportError:
        raise InvestigationError(
            "the MCP server needs the mcp SDK: pip install 'onepassword-ecs[investigate]'"
        ) from None
    from .. import __version__

    server = MCPServer(
        "onepassword-ecs",
        version=__version__,
        instructions="Read-only questions about 1Password activity (sign-ins, item usages, "
        "admin changes) stored by onepassword-ecs. Times are UTC; people may be named by "
        "uuid, e-mail or name; vaults by uuid.",
    )
    tools = _Tools(store, zone, zone_name)
    annotations = ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    for name in TOOL_NAMES:
        body = _reported(getattr(tools, name), ToolError)
        server.add_tool(body, name=name, annotations=annotations, structured_output=True)
    return server


def _reported(
    body: Callable[..., dict[str, Any]], tool_error: type[Exception]
) -> Callable[..., dict[str, Any]]:
    """The tool body, with our errors passed to the assistant as the SDK's ToolError.

    The SDK hides the text of any other exception (it may hold internals); ours say
    only what was asked and what to do, so the assistant may read them.
    """

    @functools.wraps(body)
    def tool(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return body(*args, **kwargs)
        except InvestigationError as exc:
            raise tool_error(str(exc)) from None

    return tool


def serve_stdio(server: Any) -> None:
    """Run ``server`` (from :func:`build_server`) on standard input and output.

    What ``server.run("stdio")`` does, and one thing more JSON-RPC 2.0 requires: a line
    that is not JSON gets a ``-32700 Parse error`` reply, and JSON that is not a
    JSON-RPC message a ``-32600 Invalid Request`` one (``"id": null`` both: no id can be
    read from it). The SDK only logs such lines, so a client that sent one waits for an
    answer that never comes. Should the SDK change its internals, the server still
    runs as the SDK runs it.
    """
    import anyio

    lowlevel = getattr(server, "_lowlevel_server", None)
    if lowlevel is None:  # pragma: no cover - a different SDK: its own stdio loop
        server.run("stdio")
        return

    async def main() -> None:
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read_stream, write_stream):
            await lowlevel.run(
                _AnswerMalformed(read_stream, write_stream),
                write_stream,
                lowlevel.create_initialization_options(),
            )

    anyio.run(main)


class _AnswerMalformed:
    """The transport's read stream, answering the lines it could not read as messages.

    The stdio transport hands on an exception for such a line; this replies to it on
    the transport's own write stream (one writer: no torn lines) and reads on.
    Everything else (messages, the sender's context) passes through unchanged.
    """

    def __init__(self, inner: Any, write_stream: Any) -> None:
        self._inner = inner
        self._write = write_stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # last_context and friends

    async def _answered(self, item: Any) -> bool:
        if not isinstance(item, Exception):
            return False
        from mcp.shared.message import SessionMessage
        from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
        from pydantic import ValidationError

        if not isinstance(item, ValidationError):
            return False
        parse = any(error.get("type") == "json_invalid" for error in item.errors())
        code, text = (PARSE_ERROR, "Parse error") if parse else (INVALID_REQUEST, "Invalid Request")
        reply = JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=code, message=text))
        await self._write.send(SessionMessage(reply))
        return True

    async def receive(self) -> Any:
        while True:
            item = await self._inner.receive()
            if not await self._answered(item):
                return item

    def __aiter__(self) -> _AnswerMalformed:
        return self

    async def __anext__(self) -> Any:
        while True:
            item = await self._inner.__anext__()
            if not await self._answered(item):
                return item

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _AnswerMalformed:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> bool | None:
        result: bool | None = await self._inner.__aexit__(*exc)
        return result
