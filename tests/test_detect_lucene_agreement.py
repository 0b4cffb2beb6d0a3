"""The Lucene exports match the same events as the local engine.

An Elasticsearch-compatible server (noida-db, the shared ``search_server`` fixture: a
free loopback port, stopped by its PID) indexes every test event of every rule's cases,
typed by our index template; each single-event rule's golden Lucene query is then run
there and must return exactly the events the local engine matches on the same
documents, with the same context.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from onepassword_ecs import index_template, normalize
from onepassword_ecs.detect import detect, load_context, load_rules
from search_server import SearchServer, search_server  # noqa: F401  (the fixture)

GOLDEN = Path(__file__).parent / "golden_exports"
RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
INDEX = "logs-1password.detect-test"


def _test_documents() -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    for path in sorted(RULES_DIR.glob("*.cases.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            for record in case["records"]:
                document = normalize(record, assume_timezone=case.get("assume_timezone"))
                documents[document["event"]["id"]] = document
    return documents


def _request(server: SearchServer, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    status, answer = server.request(method, path, body, **kw)
    assert status == 200, (path, status, answer)
    return answer


def test_lucene_exports_match_the_local_engine(
    search_server: SearchServer,  # noqa: F811
) -> None:
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
