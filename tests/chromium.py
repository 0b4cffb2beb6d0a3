"""A page loaded in real headless Chromium, watched over the DevTools protocol.

Why the protocol and not ``--screenshot`` with ``--enable-logging``: Chromium's log shows
console messages but not failed requests (an image that could not load is reported
only to DevTools), and "no failed request" is half of what the report test asserts. So
the browser is started with ``--remote-debugging-port=0`` (it picks a free port and
writes it to ``DevToolsActivePort`` in its profile folder), a websocket client enables
the Network, Log, Runtime and Page domains, navigates, waits for the load event, records
every failed request, console error, uncaught exception and error log entry, and takes a
screenshot.

The browser runs with no network features (background networking, component updates,
sync all off), a new empty profile, and is stopped by its process id.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["CHROMIUM", "PageLoad", "load_page"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",
)
_START_TIMEOUT_S = 60.0
_PAGE_TIMEOUT_S = 60.0
_SETTLE_S = 0.5  # after the load event, for late console messages


@dataclass
class PageLoad:
    """What happened while the page loaded."""

    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""

    @property
    def problems(self) -> list[str]:
        return self.failed_requests + self.console_errors


def _port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if marker.is_file():
            lines = marker.read_text(encoding="utf-8").splitlines()
            if lines and lines[0].isdigit():
                return int(lines[0])
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode}")
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def _page_socket(port: int) -> str:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = orjson.loads(reply.read())
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            return str(pages[0]["webSocketDebuggerUrl"])
        time.sleep(0.1)
    raise TimeoutError("chromium opened no page")


class _Session:
    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        self.socket.send(orjson.dumps({"id": number, "method": method, "params": params}).decode())
        deadline = time.monotonic() + _PAGE_TIMEOUT_S
        while True:
            message = self.receive(deadline)
            if message is not None and message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def receive(self, deadline: float) -> dict[str, Any] | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer from chromium")
        try:
            raw = self.socket.recv(timeout=remaining)
        except TimeoutError:
            return None
        message: dict[str, Any] = orjson.loads(raw)
        if "method" in message:
            self.events.append(message)
        return message

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(event["method"] == method for event in self.events):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no {method} from chromium")
            self.receive(deadline)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                self.receive(deadline)


def _problems(events: list[dict[str, Any]], load: PageLoad) -> None:
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.loadingFailed":
            load.failed_requests.append(f"{params.get('errorText')} {params.get('requestId')}")
        elif method == "Network.responseReceived" and params["response"].get("status", 0) >= 400:
            load.failed_requests.append(
                f"HTTP {params['response']['status']} {params['response']['url']}"
            )
        elif method == "Runtime.consoleAPICalled" and params.get("type") in {
            "error",
            "warning",
            "assert",
        }:
            texts = [
                str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])
            ]
            load.console_errors.append(f"console.{params['type']}: {' '.join(texts)}")
        elif method == "Runtime.exceptionThrown":
            load.console_errors.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") in {"error", "warning"}:
            entry = params["entry"]
            load.console_errors.append(
                f"log {entry['level']}: {entry.get('text')} {entry.get('url', '')}"
            )


def load_page(path: Path, *, width: int = 1280, height: int = 2400) -> PageLoad:
    """Open ``path`` in a fresh headless Chromium; report problems and a screenshot."""
    assert CHROMIUM, "chromium is not installed"
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    process = subprocess.Popen(
        [
            CHROMIUM,
            *_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    from websockets.sync.client import connect

    try:
        with connect(_page_socket(_port(profile, process)), max_size=None, open_timeout=30) as ws:
            return _watch(_Session(ws), path, width, height)
    finally:
        process.terminate()  # the browser we started, by its process id
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the browser's own process group only
            process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _watch(session: _Session, path: Path, width: int, height: int) -> PageLoad:
    for domain in ("Page", "Network", "Runtime", "Log"):
        session.call(f"{domain}.enable")
    session.call(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=False,
    )
    session.events.clear()
    session.call("Page.navigate", url=path.resolve().as_uri())
    session.wait_for("Page.loadEventFired", _PAGE_TIMEOUT_S)
    session.drain(_SETTLE_S)
    load = PageLoad()
    _problems(session.events, load)
    shot = session.call("Page.captureScreenshot", format="png")
    load.screenshot = base64.b64decode(shot["data"])
    return load
