"""``onepassword-ecs mcp``: the tools answer through the SDK's own client over stdio.

The server is a real subprocess (``python -m onepassword_ecs mcp --store ...``) started
by the SDK's ``stdio_client``; the test talks to it with ``ClientSession`` exactly as an
assistant would: list the tools, check their declared inputs, call each one, and check
the answers against the incidents planted in the test store. The store file must be
byte-identical afterwards (the tools are read-only).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

mcp = pytest.importorskip("mcp", reason="the mcp SDK is in the investigate extra")
from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from onepassword_ecs.investigate import TOOL_NAMES  # noqa: E402

WINDOW = {"since": "2026-10-24", "until": "2026-10-31"}


def session_with(store: Path, test: Callable[[ClientSession], Awaitable[None]]) -> None:
    async def main() -> None:
        server = StdioServerParameters(
            command=sys.executable, args=["-m", "onepassword_ecs", "mcp", "--store", str(store)]
        )
        with anyio.fail_after(120):  # a hang guard, far above the few seconds it takes
            async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                await test(session)

    anyio.run(main)


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def error(session: ClientSession, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error
    return " ".join(getattr(part, "text", "") for part in result.content)


def test_tools_answer_through_a_real_client_session(
    activity_store: Path, activity: ModuleType
) -> None:
    planted = activity.PLANTED
    before = hashlib.sha256(activity_store.read_bytes()).hexdigest()

    async def scenario(session: ClientSession) -> None:
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(listed) == set(TOOL_NAMES)
        for tool in listed.values():
            assert tool.annotations and tool.annotations.read_only_hint is True
            assert tool.annotations.open_world_hint is False
            assert tool.description
        limit = listed["search_events"].input_schema["properties"]["limit"]
        assert limit["type"] == "integer" and limit["maximum"] == 200
        assert listed["user_timeline"].input_schema["required"] == ["user"]

        found = await call(session, "anomalies", **WINDOW, limit=5)
        top = [(f["kind"], f["subject"]["label"]) for f in found["findings"][:3]]
        assert ("password_spray", planted.spray_ip) in top
        assert ("self_granted_access", planted.insider_email) in top
        assert ("new_country", planted.victim_email) in top

        timeline = await call(session, "user_timeline", user=planted.victim_name, **WINDOW)
        assert timeline["highlights"][0].startswith(f"new country: {planted.attacker_country}")
        exports = [e for e in timeline["timeline"]["events"] if "export" in e["flags"]]
        assert exports and all(e["ip"] == planted.attacker_ip for e in exports)

        profile = await call(session, "user_profile", user=planted.victim_email, **WINDOW)
        new = {row["value"] for row in profile["profile"]["countries"] if row["new"]}
        assert new == {planted.attacker_country}
        assert "timeline" not in profile

        vault = await call(session, "vault_access", vault=planted.finance_vault, **WINDOW)
        assert vault["notable"]["events"][0]["flags"] == ["self-grant"]
        assert vault["notable"]["events"][0]["user"] == planted.insider_email

        search = await call(session, "search_events", ip=planted.spray_ip, limit=10, **WINDOW)
        assert search["shown"] == 10 and search["more"] is True
        assert {e["outcome"] for e in search["events"]} == {"failure"}
        exported = await call(session, "search_events", action="export", dataset="item", **WINDOW)
        assert [e["user"] for e in exported["events"]] == [planted.victim_email]

        alerts = await call(session, "alerts", **WINDOW)
        assert alerts == {"alerts_table": True, "shown": 0, "alerts": []}  # schema 2: empty

        summary = await call(session, "report_summary", **WINDOW)
        sections = {s["key"]: s for s in summary["sections"]}
        assert sections["failures_by_address"]["rows"][0] == [
            planted.spray_ip,
            planted.spray_targets,
        ]

        # Typed inputs are enforced before a tool runs; our own errors reach the client.
        assert "less than or equal to 200" in await error(session, "search_events", limit=10**6)
        assert "pattern" in await error(session, "vault_access", vault="../../etc/passwd")
        assert "nobody called" in await error(session, "user_timeline", user="nobody@x.example")
        since_error = await error(session, "anomalies", since="last tuesday")
        assert "expected an RFC 3339 time" in since_error

    session_with(activity_store, scenario)
    assert hashlib.sha256(activity_store.read_bytes()).hexdigest() == before


def test_mcp_refuses_a_missing_store(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", "mcp", "--store", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 2
    assert "no such store" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("line", "code", "message"),
    [
        (b"not json at all", -32700, "Parse error"),
        (b'{"jsonrpc": "2.0", "id": 7, "method": ', -32700, "Parse error"),
        (b"\xff\xfe garbage", -32700, "Parse error"),
        (b'{"jsonrpc": "2.0", "hello": 1}', -32600, "Invalid Request"),
    ],
)
def test_malformed_json_rpc_gets_an_error_reply_and_the_server_reads_on(
    tmp_path: Path, line: bytes, code: int, message: str
) -> None:
    """Issue 21, item 19: JSON-RPC 2.0 answers what it cannot read (``"id": null``),
    and the connection stays usable: the request after it is answered."""
    import json
    import subprocess

    from onepassword_ecs.sinks import EventStore

    store = tmp_path / "events.db"
    EventStore.open(store).close()
    with subprocess.Popen(
        [sys.executable, "-m", "onepassword_ecs", "mcp", "--store", str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        try:
            # Standard input stays open until both replies are read, as a client keeps it.
            process.stdin.write(line + b"\n" + b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}\n')
            process.stdin.flush()
            replies = [json.loads(reply) for reply in _read_lines(process.stdout, 2)]
            process.stdin.close()
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert replies[0] == {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
    assert replies[1] == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert process.returncode == 0


def _read_lines(stream: Any, count: int, timeout: float = 60) -> list[bytes]:
    """``count`` lines from a subprocess's output, failing after ``timeout`` seconds."""
    import os
    import select
    import time

    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < count:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([stream], [], [], max(left, 0))
        assert ready, f"no reply from the MCP server; got {data!r}"
        chunk = os.read(stream.fileno(), 65536)
        assert chunk, f"the MCP server closed its output; got {data!r}"
        data += chunk
    return data.splitlines()[:count]
