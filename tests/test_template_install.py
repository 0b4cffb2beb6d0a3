"""The index template on a real Elasticsearch-compatible server (noida-db, 127.0.0.1).

The cluster is set up as a real one would be: Elasticsearch's built-in ``logs``
template and its ``logs@mappings`` / ``logs@settings`` components (reduced to what
matters here), and Elastic's 1Password integration (one template per dataset,
``logs-1password.<dataset>-*``, priority 200). Then the CLI's own output is loaded the
way the README says: the template, then ``_bulk`` with ``create`` into the stream each
document names.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import Dataset, index_template, normalize
from onepassword_ecs.cli import main
from onepassword_ecs.golden import discover_cases
from search_server import (  # noqa: F401  (search_server is the fixture)
    SearchServer,
    install_logs_components,
    put,
    search_server,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

BUILT_IN_LOGS = {
    "index_patterns": ["logs-*-*"],
    "priority": 100,
    "data_stream": {},
    "composed_of": ["logs@mappings", "logs@settings"],
}


def elastic_integration_template(dataset: Dataset) -> dict[str, Any]:
    """The shape of the template Fleet installs for Elastic's 1Password integration."""
    return {
        "index_patterns": [f"logs-1password.{dataset.value}-*"],
        "priority": 200,
        "data_stream": {},
        "composed_of": ["logs@mappings", "logs@settings"],
        "template": {"mappings": {"properties": {"event": {"properties": {}}}}},
        "_meta": {"package": {"name": "1password"}, "managed_by": "fleet"},
    }


def install_elasticsearch_and_elastic_integration(server: SearchServer) -> None:
    install_logs_components(server)
    put(server, "/_index_template/logs", BUILT_IN_LOGS)
    for dataset in Dataset:
        put(
            server,
            f"/_index_template/logs-1password.{dataset.value}",
            elastic_integration_template(dataset),
        )


def converted(*extra: str) -> list[bytes]:
    """The CLI's output for every golden raw record, one document per item."""
    raws = [case.raw_path for case in discover_cases([FIXTURES]) if case.has_expected]
    out = io.BytesIO()
    status = main(["convert", "-q", *extra, *map(str, raws)], stdout=out, stderr=io.StringIO())
    assert status == 0
    return out.getvalue().splitlines()


def bulk_create(
    server: SearchServer, documents: list[bytes], index: str | None = None
) -> dict[str, Any]:
    """``_bulk`` with one ``create`` per document, into the stream the document names
    (or into ``index``)."""
    body = bytearray()
    for text in documents:
        target = index
        if target is None:
            stream = orjson.loads(text)["data_stream"]
            target = f"{stream['type']}-{stream['dataset']}-{stream['namespace']}"
        body += orjson.dumps({"create": {"_index": target}}) + b"\n" + text + b"\n"
    status, answer = server.request("POST", "/_bulk?refresh=true", ndjson=bytes(body))
    assert status == 200, answer
    result: dict[str, Any] = answer
    return result


def simulated(server: SearchServer, index: str) -> tuple[dict[str, Any], list[str]]:
    """(the mappings a new index of that name would get, the lower-priority templates
    that also match it)."""
    status, answer = server.request("POST", f"/_index_template/_simulate_index/{index}")
    assert status == 200, answer
    overlapping = [entry["name"] for entry in answer.get("overlapping", [])]
    mappings: dict[str, Any] = answer.get("template", {}).get("mappings", {})
    return mappings, overlapping


@pytest.mark.parametrize("ours_first", [True, False], ids=["ours-first", "elastic-first"])
def test_installs_beside_elastic_integration_and_documents_index(
    search_server: SearchServer,  # noqa: F811
    ours_first: bool,
) -> None:
    if ours_first:
        install_logs_components(search_server)
        put(search_server, "/_index_template/logs-1password_ecs", index_template())
        install_elasticsearch_and_elastic_integration(search_server)
    else:
        install_elasticsearch_and_elastic_integration(search_server)
        put(search_server, "/_index_template/logs-1password_ecs", index_template())

    documents = converted()
    answer = bulk_create(search_server, documents)
    assert answer["errors"] is False, [i for i in answer["items"] if i["create"].get("error")]
    assert [item["create"]["status"] for item in answer["items"]] == [201] * len(documents)
    streams = {item["create"]["_index"] for item in answer["items"]}
    assert streams == {f"logs-1password_ecs.{d.value}-default" for d in Dataset}

    for dataset in Dataset:
        ours = f"logs-1password_ecs.{dataset.value}-default"
        theirs = f"logs-1password.{dataset.value}-default"
        # The integration's streams keep the integration's template: ours does not
        # even match them (it is not among the lower-priority overlapping ones).
        their_mappings, overlapping = simulated(search_server, theirs)
        assert their_mappings["properties"]["@timestamp"] == {"type": "date"}
        assert overlapping == ["logs"]
        status, mapping = search_server.request("GET", f"/{ours}/_mapping")
        [index] = mapping.values()
        properties = index["mappings"]["properties"]
        assert properties["@timestamp"] == {"type": "date_nanos"}
        assert properties["client"]["properties"]["ip"] == {"type": "ip"}

    status, found = search_server.request(
        "POST",
        "/logs-1password_ecs.*/_search",
        {"query": {"term": {"event.dataset": "1password.signin_attempts"}}, "size": 0},
    )
    assert status == 200
    signins = sum(b'"1password.signin_attempts"' in text for text in documents)
    assert found["hits"]["total"]["value"] == signins > 0


def test_a_vendor_field_that_changes_type_never_rejects_a_document(
    search_server: SearchServer,  # noqa: F811
) -> None:
    template = index_template()
    template.pop("composed_of", None)  # this server has no logs@ components
    put(search_server, "/_index_template/logs-1password_ecs", template)
    [case] = [case for case in discover_cases([FIXTURES]) if case.name == "item_usages/reveal"]
    base = normalize(case.raw_path.read_bytes())
    documents = []
    values = (7, "seven", True, 7.5, "2024-05-01T10:00:00Z", [1, "x"], 2**40, None, "")
    for value in values:
        extra = {"v": value, "deeper": {"w": value}}
        document = {**base, "onepassword": {**base["onepassword"], "extra": extra}}
        documents.append(orjson.dumps(document))
    stream = "logs-1password_ecs.item_usages-typing"
    answer = bulk_create(search_server, documents, stream)
    assert answer["errors"] is False, [i for i in answer["items"] if i["create"].get("error")]
    _, mapping = search_server.request("GET", f"/{stream}/_mapping")
    [index] = mapping.values()
    extra = index["mappings"]["properties"]["onepassword"]["properties"]["extra"]
    assert extra["properties"]["v"]["type"] == "keyword"
    assert extra["properties"]["deeper"]["properties"]["w"]["type"] == "keyword"


def test_logs_components_must_exist_unless_turned_off(
    search_server: SearchServer,  # noqa: F811
) -> None:
    """A cluster without logs@mappings/logs@settings (older than 8.11) refuses the
    default template; --no-logs-components is the way out."""
    status, answer = search_server.request(
        "PUT", "/_index_template/logs-1password_ecs", index_template()
    )
    assert status == 400 and "logs@" in orjson.dumps(answer).decode()
    out = io.BytesIO()
    assert main(["template", "--no-logs-components"], stdout=out, stderr=io.StringIO()) == 0
    put(search_server, "/_index_template/logs-1password_ecs", orjson.loads(out.getvalue()))
