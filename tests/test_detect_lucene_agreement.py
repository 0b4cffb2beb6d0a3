"""The Lucene exports match the same events as the local engine.

An Elasticsearch-compatible server (noida-db, started here on a free loopback port and
stopped by its PID) indexes every test event of every rule's cases, typed by our index
template; each single-event rule's golden Lucene query is then run there and must return
exactly the events the local engine matches on the same documents, with the same context.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import index_template, normalize
from onepassword_ecs.detect import builtin_rules_dir, detect, load_context, load_rules

GOLDEN = Path(__file__).parent / "golden_exports"
INDEX = "logs-1password.detect-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(
    base: str, method: str, path: str, body: Any = None, ndjson: bytes | None = None
) -> Any:
    data = ndjson if ndjson is not None else (None if body is None else json.dumps(body).encode())
    kind = "application/x-ndjson" if ndjson is not None else "application/json"
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": kind}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


@pytest.fixture(scope="module")
def search_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        binary = resources.files("noida_db").joinpath("noida-db")
    except ModuleNotFoundError:
        pytest.skip("noida-db is not installed (pip install -e '.[dev]')")
    folder = tmp_path_factory.mktemp("noida")
    port = _free_port()
    Path(str(binary)).chmod(0o755)
    process = subprocess.Popen(
        [
            str(binary),
            "start",
            "--only",
            "elasticsearch",
            "--elasticsearch-port",
            str(port),
            "--data-dir",
            str(folder / "data"),
        ],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _request(base, "GET", "/")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the search server did not start")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _test_documents() -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    for path in sorted(builtin_rules_dir().glob("*.cases.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            for record in case["records"]:
                document = normalize(record)
                documents[document["event"]["id"]] = document
    return documents


def test_lucene_exports_match_the_local_engine(search_server: str) -> None:
    documents = _test_documents()
    mappings = index_template()["template"]["mappings"]
    _request(search_server, "PUT", f"/{INDEX}", {"mappings": mappings})
    bulk = b"".join(
        orjson.dumps({"index": {"_index": INDEX, "_id": event_id}})
        + b"\n"
        + orjson.dumps(doc)
        + b"\n"
        for event_id, doc in documents.items()
    )
    result = _request(search_server, "POST", "/_bulk?refresh=true", ndjson=bulk)
    assert not result.get("errors"), json.dumps(result)[:2000]
    context = load_context(GOLDEN / "context.toml")
    rules = {rule.name: rule for rule in load_rules()}
    compared = 0
    for query_file in sorted((GOLDEN / "elasticsearch-lucene").glob("*.lucene")):
        rule = rules[query_file.stem]
        if rule.kind != "event":
            continue
        query = query_file.read_text(encoding="utf-8").strip()
        answer = _request(
            search_server,
            "POST",
            f"/{INDEX}/_search",
            {"size": 10000, "_source": False, "query": {"query_string": {"query": query}}},
        )
        remote = {hit["_id"] for hit in answer["hits"]["hits"]}
        outcome, _new = detect([rule], context, documents.values())
        local = {i for alert in outcome.alerts for i in alert["onepassword"]["alert"]["event_ids"]}
        assert local, f"{rule.name}: no test event matches; the comparison would prove nothing"
        assert remote == local, f"{rule.name}: Lucene {sorted(remote)} vs engine {sorted(local)}"
        compared += 1
    assert compared >= 15
