"""``--elasticsearch`` and ``--opensearch`` against real server processes on 127.0.0.1.

The same tests run against both servers (see ``tests/clusters.py``: API-compatible
servers from PyPI, not the JVM products). What they show: converting the same input
twice leaves one document per event and counts the second pass as duplicates; a document
the server refuses reaches the error stream with the server's reason; the template is
installed on first use; busy (429) and failing (5xx) answers are retried; an unreachable
cluster ends the run with exit 2 after a bounded number of tries; secrets stay secret.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from clusters import (
    FaultProxy,
    Server,
    free_port,
    make_certificates,
    request,
    start_server,
    stop_server,
)
from onepassword_ecs import normalize
from onepassword_ecs.cli import main
from onepassword_ecs.sinks import ClusterAuth, ClusterSink, RetryPolicy
from onepassword_ecs.stream import Batch
from records import ALICE, audit, item_usage, signin

pytest.importorskip("elasticsearch")
pytest.importorskip("opensearchpy")

RECORDS = 9


@pytest.fixture(scope="module", params=["elasticsearch", "opensearch"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    started = start_server(request.param, tmp_path_factory.mktemp(f"{request.param}-data"))
    try:
        yield started
    finally:
        stop_server(started.process)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    lines = []
    for index in range(RECORDS):
        uuid, when = f"CLUSTER{index:019d}", f"2025-03-10T10:00:{index:02d}Z"
        builder = (signin, item_usage, audit)[index % 3]
        extra: dict[str, Any] = {"user": ALICE} if builder is item_usage else {}
        lines.append(orjson.dumps(builder(uuid=uuid, timestamp=when, **extra)))
    lines.append(b'{"uuid": "BAD", "timestamp": "yesterday"}')
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    status = main(argv, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=err)
    return status, err.getvalue()


def sink_line(summary: str, flavor: str) -> str:
    """The summary line of the cluster sink (there is one whenever it has news)."""
    prefix = f"sink {flavor} "
    return next(line.strip() for line in summary.splitlines() if line.strip().startswith(prefix))


def ids_in(server: Server, target: str) -> list[str]:
    request(f"{server.url}/{target}/_refresh", "POST")
    found = request(f"{server.url}/{target}/_search?size=100", "POST", {"query": {"match_all": {}}})
    return sorted(hit["_id"] for hit in found["hits"]["hits"])


def test_converting_twice_into_an_index_leaves_one_document_per_event(
    server: Server, source: Path, tmp_path: Path
) -> None:
    index = "twice"
    argv = ["convert", str(source), f"--{server.flavor}", server.url, "--index", index]
    argv += ["-o", str(tmp_path / "out.ndjson"), "--errors", os.devnull]
    status, first = run(argv)
    assert status == 1  # the one bad record
    assert f"{RECORDS} written, 0 duplicates, 0 rejected" in sink_line(first, server.flavor)
    status, second = run(argv)
    assert f"{RECORDS} duplicates, 0 rejected" in sink_line(second, server.flavor)
    expected = sorted(f"CLUSTER{index:019d}" for index in range(RECORDS))
    assert ids_in(server, index) == expected
    # The document stored is the document converted, byte for byte.
    stored = request(f"{server.url}/{index}/_doc/{expected[0]}")["_source"]
    written = [orjson.loads(x) for x in (tmp_path / "out.ndjson").read_bytes().splitlines()]
    assert stored == next(d for d in written if d["event"]["id"] == expected[0])


def test_the_template_is_installed_on_first_use_unless_told_not_to(
    server: Server, source: Path
) -> None:
    run(["convert", str(source), f"--{server.flavor}", server.url, "--index", "typed", "-q"])
    template = request(f"{server.url}/_index_template/onepassword-ecs-typed")
    body = template["index_templates"][0]["index_template"]
    assert body["index_patterns"] == ["typed"]
    assert body["_meta"]["managed_by"] == "onepassword-ecs"
    mapping = request(f"{server.url}/typed/_mapping")["typed"]["mappings"]["properties"]
    assert mapping["source"]["properties"]["ip"]["type"] == "ip"  # the template's, not a guess
    status, _ = run(
        [
            "convert",
            str(source),
            f"--{server.flavor}",
            server.url,
            "--index",
            "untyped",
            "--no-template",
            "-q",
        ]
    )
    assert status == 1
    missing = request(f"{server.url}/_index_template/onepassword-ecs-untyped")
    assert not missing.get("index_templates")


def test_a_refused_document_reaches_the_errors_with_the_servers_reason(
    server: Server, source: Path, tmp_path: Path
) -> None:
    # An index where event.action is a number: every document conflicts with it.
    request(
        f"{server.url}/conflict",
        "PUT",
        {"mappings": {"properties": {"event": {"properties": {"action": {"type": "long"}}}}}},
    )
    errors = tmp_path / "errors.ndjson"
    status, summary = run(
        [
            "convert",
            str(source),
            f"--{server.flavor}",
            server.url,
            "--index",
            "conflict",
            "--no-template",
            "--errors",
            str(errors),
        ]
    )
    assert status == 1
    assert f"0 written, 0 duplicates, {RECORDS} rejected" in sink_line(summary, server.flavor)
    lines = [orjson.loads(x) for x in errors.read_bytes().splitlines()]
    refused = [x for x in lines if "sink" in x]
    assert len(refused) == RECORDS
    for entry in refused:
        assert entry["sink"] == f"{server.flavor} {server.url}"
        assert entry["reason"].endswith("parsing_exception")  # the server's own type
        assert "event.action" in entry["message"]
        assert entry["document"]["event"]["id"].startswith("CLUSTER")
    # Nothing lost: records read = documents taken + duplicates + refused + bad records.
    assert len(lines) - len(refused) == 1


def test_data_streams_where_the_server_has_them(server: Server, source: Path) -> None:
    status, summary = run(
        ["convert", str(source), f"--{server.flavor}", server.url, "--namespace", "ds1"]
    )
    if server.flavor == "opensearch":
        # osmem has no data streams: every document is refused, with its reason, and
        # reported; --index is the way to use it.
        assert status == 1
        assert f"0 written, 0 duplicates, {RECORDS} rejected" in sink_line(summary, server.flavor)
        return
    assert status == 1
    names = ("audit_events", "item_usages", "signin_attempts")
    found = {name: ids_in(server, f"logs-1password_ecs.{name}-ds1") for name in names}
    assert sum(len(ids) for ids in found.values()) == RECORDS
    assert all(len(ids) == RECORDS // 3 for ids in found.values())
    template = request(f"{server.url}/_index_template/logs-1password_ecs")["index_templates"]
    assert "data_stream" in template[0]["index_template"]
    assert not template[0]["index_template"].get("composed_of")  # this cluster has none


def test_busy_and_failing_answers_are_retried_until_accepted(server: Server) -> None:
    proxy = FaultProxy(server.url, plan=["503", "429-items"])
    records = [signin(uuid=f"RETRY{n}", timestamp="2025-03-10T10:00:00Z") for n in range(3)]
    batch = Batch.of([orjson.dumps(normalize(r), option=orjson.OPT_SORT_KEYS) for r in records])
    with proxy.running() as url:
        sink = ClusterSink.open(
            server.flavor,
            url,
            index="retried",
            install_template=False,
            retry=RetryPolicy(retries=3, first_backoff=0.01),
        )
        try:
            result = sink.write(batch)
            sink.flush()
        finally:
            sink.close()
    assert (result.accepted, result.duplicates, result.rejected) == (3, 0, [])
    assert proxy.bulk_requests == 3  # 503, then every item 429, then accepted
    assert ids_in(server, "retried") == ["RETRY0", "RETRY1", "RETRY2"]


def test_an_unreachable_cluster_ends_the_run_with_exit_2_after_bounded_retries(
    source: Path, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    output = tmp_path / "out.ndjson"
    status, summary = run(
        [
            "convert",
            str(source),
            "--elasticsearch",
            url,
            "-o",
            str(output),
            "--cluster-retries",
            "1",
        ]
    )
    assert status == 2
    assert "gave up after 2 tries" in summary
    assert not output.exists()  # the run failed as a whole: no half-delivered -o file


def test_credentials_reach_the_server_but_never_the_output(
    server: Server, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cret-Value-1234"
    password_file = tmp_path / "password"
    password_file.write_text(secret + "\n")
    proxy = FaultProxy(server.url)
    with proxy.running() as url:
        status, summary = run(
            [
                "convert",
                str(source),
                f"--{server.flavor}",
                url,
                "--index",
                "authed",
                "--cluster-user",
                "ops",
                "--cluster-password-file",
                str(password_file),
            ]
        )
    assert status == 1, summary
    expected = "Basic " + base64.b64encode(f"ops:{secret}".encode()).decode()
    assert proxy.headers
    assert all(h.get("authorization") == expected for h in proxy.headers)
    assert secret not in summary
    if server.flavor == "elasticsearch":
        key = "a2V5aWQ6c2VjcmV0a2V5LXZhbHVl"
        monkeypatch.setenv("ONEPASSWORD_ECS_CLUSTER_API_KEY", key)
        proxy = FaultProxy(server.url)
        with proxy.running() as url:
            status, summary = run(
                ["convert", str(source), "--elasticsearch", url, "--index", "keyed"]
            )
        assert status == 1, summary
        assert all(h.get("authorization") == f"ApiKey {key}" for h in proxy.headers)
        assert key not in summary
        # A failing run's message does not carry it either.
        status, failure = run(
            [
                "convert",
                str(source),
                "--elasticsearch",
                f"http://127.0.0.1:{free_port()}",
                "--cluster-retries",
                "0",
            ]
        )
        assert status == 2
        assert key not in failure


def test_secrets_are_refused_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = run(["convert", "--elasticsearch", "http://ops:hunter2@127.0.0.1:9/"])
    assert status == 2
    err = capsys.readouterr().err
    assert "credentials in the URL are not accepted" in err
    assert "hunter2" not in err
    assert "hunter2" not in repr(ClusterAuth(username="ops", password="hunter2"))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_with_a_ca_bundle_and_a_client_certificate(
    server: Server, source: Path, tmp_path: Path
) -> None:
    """The cluster's certificate is checked against --cluster-ca-bundle; ours is presented."""
    certs = make_certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["server.pem"], certs["server.key"])
    context.load_verify_locations(certs["ca.pem"])
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
    proxy = FaultProxy(server.url, tls=context)
    with proxy.running() as url:
        client = ["--client-cert", str(certs["client.pem"]), "--client-key"]
        client.append(str(certs["client.key"]))
        target = ["convert", str(source), f"--{server.flavor}", url, "--index", "tls"]
        status, summary = run([*target, "--cluster-ca-bundle", str(certs["ca.pem"]), *client])
        assert status == 1, summary
        assert "test client" in proxy.client_subjects
        # Without the CA bundle the server's certificate is not trusted: no documents.
        status, failure = run([*target, *client])
    assert status == 2
    assert "TLS failed" in failure  # at once: an untrusted certificate is not retried
    assert ids_in(server, "tls") == sorted(f"CLUSTER{index:019d}" for index in range(RECORDS))


def test_every_chunk_reaches_every_destination_and_each_accounts_for_every_record(
    tmp_path: Path,
) -> None:
    """-o, --store, --elasticsearch and --opensearch in one run, over several chunks."""
    files, per_file = 3, 40  # each input file is at least one chunk of its own
    count = files * per_file
    inputs = []
    for number in range(files):
        path = tmp_path / f"part{number}.ndjson"
        with path.open("wb") as handle:
            for index in range(number * per_file, (number + 1) * per_file):
                when = f"2025-03-10T10:{index // 60 % 60:02d}:{index % 60:02d}Z"
                handle.write(orjson.dumps(signin(uuid=f"MANY{index}", timestamp=when)) + b"\n")
            if number == files - 1:
                handle.write(b"not json\n")
        inputs.append(str(path))
    servers = [start_server("elasticsearch", tmp_path / "es"), start_server("opensearch", tmp_path)]
    try:
        argv = ["convert", *inputs, "-o", str(tmp_path / "out.ndjson")]
        argv += ["--store", str(tmp_path / "s.db"), "--index", "many", "--errors", os.devnull]
        argv += ["--elasticsearch", servers[0].url, "--opensearch", servers[1].url]
        for attempt in range(2):
            status, summary = run(argv)
            assert status == 1
            lines = [x.strip() for x in summary.splitlines() if x.strip().startswith("sink ")]
            assert len(lines) == 4
            for line in lines:
                figures = line.rsplit(": ", 1)[1].split(", ")
                written, duplicates, refused = (int(x.split()[0].replace(",", "")) for x in figures)
                # Per destination: read = taken + already there + refused + bad records.
                assert written + duplicates + refused + 1 == count + 1
                if "out.ndjson" in line or attempt == 0:
                    assert (written, duplicates) == (count, 0)
                else:
                    assert (written, duplicates) == (0, count)
        for server in servers:
            request(f"{server.url}/many/_refresh", "POST")
            assert request(f"{server.url}/many/_count")["count"] == count
    finally:
        for server in servers:
            stop_server(server.process)


@pytest.mark.parametrize(
    ("option", "value", "complaint"),
    [
        ("--index", "Events", "not a valid index name"),
        ("--index", "a,b", "not a valid index name"),
        ("--index", "_hidden", "not a valid index name"),
        ("--namespace", "team-a", "may not contain '-'"),
        ("--elasticsearch", "es.example.net:9200", "expected an http:// or https:// URL"),
    ],
)
def test_names_a_cluster_would_refuse_are_usage_errors_before_any_write(
    option: str, value: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run(["convert", "--opensearch", "http://127.0.0.1:9", option, value])
    assert status == 2
    assert complaint in capsys.readouterr().err


def test_documents_still_busy_after_the_last_try_end_the_run(server: Server) -> None:
    """Per-item 429s are retried a bounded number of times, then the run stops."""
    from onepassword_ecs._errors import ClusterError

    proxy = FaultProxy(server.url, plan=["429-items"] * 5)
    record = signin(uuid="BUSY1", timestamp="2025-03-10T10:00:00Z")
    batch = Batch.of([orjson.dumps(normalize(record), option=orjson.OPT_SORT_KEYS)])
    with proxy.running() as url:
        sink = ClusterSink.open(
            server.flavor,
            url,
            index="busy",
            install_template=False,
            retry=RetryPolicy(retries=2, first_backoff=0.01),
        )
        try:
            with pytest.raises(ClusterError, match="after 3 tries; giving up"):
                sink.write(batch)
        finally:
            sink.close()
    assert proxy.bulk_requests == 3


def test_a_template_of_the_same_name_that_we_did_not_write_is_left_alone(
    server: Server, source: Path
) -> None:
    theirs = {"index_patterns": ["foreign"], "priority": 7, "template": {"settings": {}}}
    request(f"{server.url}/_index_template/onepassword-ecs-foreign", "PUT", theirs)
    status, _ = run(["convert", str(source), f"--{server.flavor}", server.url, "--index=foreign"])
    assert status == 1
    kept = request(f"{server.url}/_index_template/onepassword-ecs-foreign")
    body = kept["index_templates"][0]["index_template"]
    assert body["priority"] == 7
    assert "_meta" not in body


def test_the_template_is_composed_of_the_logs_components_when_the_cluster_has_them(
    tmp_path: Path, source: Path
) -> None:
    """Elasticsearch 8.11+ has logs@mappings and logs@settings; noida-db is given them."""
    from search_server import LOGS_MAPPINGS, LOGS_SETTINGS

    server = start_server("elasticsearch", tmp_path / "es")
    try:
        request(f"{server.url}/_component_template/logs@mappings", "PUT", LOGS_MAPPINGS)
        request(f"{server.url}/_component_template/logs@settings", "PUT", LOGS_SETTINGS)
        status, _ = run(["convert", str(source), "--elasticsearch", server.url, "-q"])
        assert status == 1
        template = request(f"{server.url}/_index_template/logs-1password_ecs")
        body = template["index_templates"][0]["index_template"]
        assert body["composed_of"] == ["logs@mappings", "logs@settings"]
    finally:
        stop_server(server.process)


def test_aws_sigv4_signs_opensearch_requests_and_never_shows_the_secret(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--aws-region signs every request (Amazon OpenSearch Service) with the AWS chain's keys."""
    from clusters import start_server, stop_server

    access, secret = "AKIAONEPASSWORDECS01", "aws-Secret-Key-never-shown-0123456789"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    server = start_server("opensearch", tmp_path / "data")
    try:
        proxy = FaultProxy(server.url)
        with proxy.running() as url:
            status, summary = run(
                ["convert", str(source), "--opensearch", url, "--index", "signed",
                 "--aws-region", "eu-west-1"]
            )  # fmt: skip
    finally:
        stop_server(server.process)
    assert status == 1, summary  # the source holds one bad record
    assert f"{RECORDS + 1} records read, {RECORDS} written, 1 rejected" in summary
    assert proxy.headers
    for headers in proxy.headers:
        authorization = headers.get("authorization", "")
        assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={access}/")
        assert "/eu-west-1/es/aws4_request" in authorization
        assert "x-amz-date" in headers
    assert secret not in summary


def test_aws_region_without_credentials_or_with_elasticsearch_is_a_usage_error(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    target = f"http://127.0.0.1:{free_port()}"
    status, summary = run(
        ["convert", str(source), "--opensearch", target, "--aws-region", "eu-west-1"]
    )
    assert status == 2
    assert "no AWS credentials found" in summary
    status, summary = run(
        ["convert", str(source), "--elasticsearch", target, "--aws-region", "eu-west-1"]
    )
    assert status == 2
    assert "--aws-region signs --opensearch requests" in summary
