"""The README's "From 1Password to Elasticsearch in five minutes", run as written.

Its shell blocks run in ``sh``, in order, against two real servers on 127.0.0.1: a
stand-in for the Events API (answers pages of this repository's raw fixtures, one
cursor after the other, and only to the right bearer token) and noida-db for
Elasticsearch. The only change to the text is the API's address. Every record served
must end up stored, and the token must not be on any command line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest

from search_server import (  # noqa: F401  (search_server is the fixture)
    SearchServer,
    install_logs_components,
    search_server,
)

REPO = Path(__file__).resolve().parents[1]
SECTION = "## From 1Password to Elasticsearch in five minutes"
API_ORIGIN = "https://events.1password.com"
TOKEN = "test-token-not-a-secret"
PAGE_SIZE = 7


def five_minute_script() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert SECTION in readme, "the README lost its first section"
    assert readme.index(SECTION) == readme.index("\n## ") + 1, "it must be the first section"
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 4  # fetch, convert, template, load
    return "\n".join(blocks)


def fixture_records(dataset: str) -> list[Any]:
    paths = sorted((REPO / "fixtures" / dataset).glob("*.json"))
    return [orjson.loads(p.read_bytes()) for p in paths if not p.name.endswith(".expected.json")]


class FakeEventsApi(BaseHTTPRequestHandler):
    """POST /api/v2/signinattempts: pages of PAGE_SIZE records, cursor = next page number."""

    records: ClassVar[list[Any]] = []
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(body)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._answer(401, {"Error": {"Message": "Unauthorized"}})
        elif self.path != "/api/v2/signinattempts":
            self._answer(404, {})
        else:
            number = int(body["cursor"]) if "cursor" in body else 0
            items = self.records[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]
            more = (number + 1) * PAGE_SIZE < len(self.records)
            self._answer(200, {"items": items, "cursor": str(number + 1), "has_more": more})

    def _answer(self, status: int, body: Any) -> None:
        data = orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def events_api() -> Iterator[str]:
    FakeEventsApi.records = fixture_records("signin_attempts")
    FakeEventsApi.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEventsApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq") and shutil.which("sh")),
    reason="the README's commands need sh, curl and jq",
)
def test_five_minute_section_runs_as_written(
    search_server: SearchServer,  # noqa: F811
    events_api: str,
    tmp_path: Path,
) -> None:
    install_logs_components(search_server)  # built into Elasticsearch 8.11+
    script = five_minute_script().replace(API_ORIGIN, events_api)
    script += '\nprintf "%s" "$OUT" > "$RESULT_DIR/out"\n'
    bin_dir = str(Path(sys.executable).parent)  # where onepassword-ecs is installed
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "ES": search_server.url,
        "OP_EVENTS_TOKEN": TOKEN,
        "RESULT_DIR": str(tmp_path),
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert '"errors": false' in done.stdout, done.stdout + done.stderr

    served = FakeEventsApi.records
    pages = -(-len(served) // PAGE_SIZE)
    assert len(FakeEventsApi.requests) == pages > 2
    assert "start_time" in FakeEventsApi.requests[0]
    assert [r.get("cursor") for r in FakeEventsApi.requests[1:]] == [
        str(n) for n in range(1, pages)
    ]
    assert f'"items": {len(served)}' in done.stdout
    out = Path((tmp_path / "out").read_text())
    assert len((out / "events.ndjson").read_bytes().splitlines()) == len(served)
    assert TOKEN not in script  # it reaches curl on standard input only
    status, _ = search_server.request("POST", "/logs-1password_ecs.*/_refresh")
    status, count = search_server.request(
        "GET", "/logs-1password_ecs.signin_attempts-default/_count"
    )
    assert status == 200 and count["count"] == len(served)
