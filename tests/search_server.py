"""A real Elasticsearch-compatible server on 127.0.0.1 for tests: noida-db (dev extra).

``noida-db`` is one local binary that speaks Elasticsearch's REST API (it reports
version 8.15.3, checks index template overlaps, component templates, data streams,
dynamic templates and field types). The fixture runs the binary itself, not the
``noida-db`` console script, whose Python wrapper would leave the binary running
when stopped; it picks a free loopback port and stops the server by its PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest

__all__ = [
    "LOGS_MAPPINGS",
    "LOGS_SETTINGS",
    "SearchServer",
    "install_logs_components",
    "put",
    "search_server",
]

_START_TIMEOUT = 20.0
_REQUEST_TIMEOUT = 10.0


@dataclass
class SearchServer:
    """The base URL of a running server and a tiny JSON client for it."""

    url: str

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        ndjson: bytes | None = None,
    ) -> tuple[int, Any]:
        """Send one request; return (HTTP status, decoded JSON answer)."""
        data = ndjson if ndjson is not None else None if body is None else orjson.dumps(body)
        kind = "application/x-ndjson" if ndjson is not None else "application/json"
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": kind}
        )
        try:
            with urllib.request.urlopen(request, timeout=_REQUEST_TIMEOUT) as answer:
                return answer.status, orjson.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, orjson.loads(error.read() or b"null")


# Reduced copies of what Elasticsearch 8.11+ installs for logs-*-* data streams.
LOGS_MAPPINGS = {
    "template": {
        "mappings": {
            "date_detection": False,
            "properties": {
                "@timestamp": {"type": "date"},
                "data_stream": {
                    "properties": {
                        "type": {"type": "constant_keyword", "value": "logs"},
                        "dataset": {"type": "constant_keyword"},
                        "namespace": {"type": "constant_keyword"},
                    }
                },
            },
        }
    }
}
LOGS_SETTINGS = {"template": {"settings": {"index": {"mapping": {"ignore_malformed": True}}}}}


def put(server: SearchServer, path: str, body: Any) -> None:
    """PUT a template; fail the test unless the server acknowledged it."""
    status, answer = server.request("PUT", path, body)
    assert status == 200 and answer == {"acknowledged": True}, (path, status, answer)


def install_logs_components(server: SearchServer) -> None:
    """What Elasticsearch 8.11+ has built in and noida-db lacks: logs@mappings, logs@settings."""
    put(server, "/_component_template/logs@mappings", LOGS_MAPPINGS)
    put(server, "/_component_template/logs@settings", LOGS_SETTINGS)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _binary() -> Path:
    noida = pytest.importorskip("noida_db", reason="noida-db (dev extra) is not installed")
    binary = Path(str(resources.files(noida).joinpath("noida-db")))
    if not binary.is_file():
        pytest.skip(f"noida-db binary not found at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)
    return binary


def _wait_until_up(server: SearchServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    delay = 0.05
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"noida-db exited with status {process.returncode} while starting")
        try:
            status, _ = server.request("GET", "/")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    pytest.fail(f"noida-db did not answer on {server.url} within {_START_TIMEOUT} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def search_server(tmp_path: Path) -> Iterator[SearchServer]:
    """A fresh, empty server (its own data folder) for one test."""
    port = _free_port()
    process = subprocess.Popen(
        [
            str(_binary()),
            "start",
            "--only",
            "elasticsearch",
            "--host",
            "127.0.0.1",
            "--elasticsearch-port",
            str(port),
            "--data-dir",
            str(tmp_path / "noida-data"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = SearchServer(f"http://127.0.0.1:{port}")
    try:
        _wait_until_up(server, process)
        yield server
    finally:
        _stop(process)
