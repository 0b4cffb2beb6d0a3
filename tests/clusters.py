"""Real search servers for the sink tests: started on a free loopback port, stopped by PID.

Neither Elasticsearch nor OpenSearch can be installed here (JVM distributions are not on
PyPI), so the tests run against two PyPI packages that ship servers implementing their
HTTP APIs: ``noida-db`` (the Elasticsearch 8 API; a data folder on disk) and
``osmem-server`` (the OpenSearch API; in memory, started with its Japanese analysis
off). They accept index templates, ``_bulk`` with per-item errors, mapping conflicts
and searches; what they lack is written in the README ("Search clusters").

:class:`FaultProxy` is a small HTTP server placed in front of a real one: it answers
chosen ``_bulk`` requests with a 503 or with per-item 429s, forwards everything else,
and records request headers, so retries and authentication can be observed end to end.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = [
    "FaultProxy",
    "Server",
    "free_port",
    "make_certificates",
    "request",
    "start_server",
    "stop_server",
]

START_TIMEOUT_S = 30.0


@dataclass
class Server:
    flavor: str
    url: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(url: str, method: str = "GET", body: Any = None) -> Any:
    """A JSON request; the decoded answer (error answers too, as dicts)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    call = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=10) as answer:
            text = answer.read()
    except urllib.error.HTTPError as error:
        text = error.read()
    return json.loads(text) if text else {}


def _binary(package: str, *parts: str) -> str:
    path = Path(str(files(package).joinpath(*parts)))
    if not os.access(path, os.X_OK):
        path.chmod(0o755)  # as the packages' own launchers do
    return str(path)


def start_server(flavor: str, data_dir: Path) -> Server:
    """Start the server for ``flavor`` and wait until it answers ``GET /``."""
    port = free_port()
    if flavor == "elasticsearch":
        command = [_binary("noida_db", "noida-db"), "start", "--only", "elasticsearch"]
        command += ["--elasticsearch-port", str(port), "--data-dir", str(data_dir)]
    else:
        command = [_binary("osmem_server", "bin", "osmem-server"), "-no-ja", "-no-stdin-watch"]
        command += ["-addr", f"127.0.0.1:{port}", "-parent-pid", str(os.getpid())]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode} at start")
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "/", timeout=1) as answer:
            if answer.status == 200:
                return Server(flavor, url, process)
        time.sleep(0.05)
    stop_server(process)
    raise RuntimeError(f"{command[0]} did not answer on {url} within {START_TIMEOUT_S} s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM by PID, then SIGKILL if it has not gone within five seconds."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@dataclass
class FaultProxy:
    """Forwards to ``upstream``; the first bulk requests get the faults in ``plan``.

    ``plan`` entries: ``"503"`` (the whole request fails) or ``"429-items"`` (a 200
    answer whose every item is a 429). ``bulk_requests`` counts the bulk requests seen;
    ``headers`` keeps each request's headers (names in lower case).
    """

    upstream: str
    plan: list[str] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    bulk_requests: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)
    client_subjects: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve (over TLS when ``tls`` is set) until the block ends; yields the URL."""
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                # The Elasticsearch client checks the server names itself as such.
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.headers.append({k.lower(): v for k, v in self.headers.items()})
                if isinstance(self.connection, ssl.SSLSocket):
                    peer = self.connection.getpeercert() or {}
                    for rdn in peer.get("subject", ()):
                        proxy.client_subjects.extend(value for _, value in rdn)
                if self.path.split("?")[0].endswith("/_bulk"):
                    proxy.bulk_requests += 1
                    fault = proxy.plan.pop(0) if proxy.plan else None
                    if fault == "503":
                        error = {"error": {"type": "unavailable", "reason": "try later"}}
                        self._answer(503, json.dumps(error).encode(), "application/json")
                        return
                    if fault == "429-items":
                        count = len(body.splitlines()) // 2
                        item = {
                            "create": {
                                "status": 429,
                                "error": {
                                    "type": "es_rejected_execution_exception",
                                    "reason": "busy",
                                },
                            }
                        }
                        answer = {"errors": True, "took": 1, "items": [item] * count}
                        self._answer(200, json.dumps(answer).encode(), "application/json")
                        return
                forward = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("content-type", "accept", "authorization")
                }
                call = urllib.request.Request(
                    proxy.upstream + self.path,
                    data=body if body else None,
                    method=self.command,
                    headers=forward,
                )
                try:
                    with urllib.request.urlopen(call, timeout=10) as answer:
                        status, data = answer.status, answer.read()
                        kind = answer.headers.get("Content-Type", "application/json")
                except urllib.error.HTTPError as error:
                    status, data = error.code, error.read()
                    kind = error.headers.get("Content-Type", "application/json")
                self._answer(status, data, kind)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        scheme = "https" if self.tls is not None else "http"
        try:
            yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def make_certificates(folder: Path) -> dict[str, Path]:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate (openssl).

    Keys are P-256 (fast to make); everything is valid for two days.
    """

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=onepassword-ecs test CA")  # fmt: skip
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        openssl("req", *curve, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=test {name}")  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                "-extfile", f"{name}.ext")  # fmt: skip
    return {name: folder / name for name in
            ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}  # fmt: skip
