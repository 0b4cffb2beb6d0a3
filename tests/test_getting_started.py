"""docs/getting-started.md, run as written: from an Events API to a search cluster.

Its ``sh`` blocks run in ``sh``, in order, against two real servers on 127.0.0.1: the
stand-in Events API (``events_api_stub.py``: three streams, introspection, cursors,
only the right bearer token) and noida-db for Elasticsearch. The only change to the text
is the Events API's address (``--url``), since a real token names 1Password's servers.
HOME is a temporary folder holding the token file the guide names. Every event served
must be stored in the cluster exactly once, also when the guide's collect command runs
a second time, and the token must appear in no command line and no output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collect_helpers import FEATURES, make_events, new_token, start_stub
from search_server import (  # noqa: F401  (search_server is the fixture)
    SearchServer,
    install_logs_components,
    search_server,
)

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "getting-started.md"
PER_STREAM = 12


def guide_blocks() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 3  # where the cluster is, collect, check
    return blocks


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("sh")), reason="needs sh, curl")
def test_the_getting_started_guide_runs_as_written(
    search_server: SearchServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    install_logs_components(search_server)  # built into Elasticsearch 8.11+
    token = new_token()
    api = start_stub(token)
    try:
        served = set()
        for endpoint in FEATURES:
            events = make_events(endpoint, PER_STREAM, prefix="GS")
            api.add(endpoint, events)
            served.update(event["uuid"] for event in events)
        home = tmp_path / "home"
        (home / ".config").mkdir(parents=True)
        token_file = home / ".config" / "1password-events.token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)

        blocks = guide_blocks()
        collect_block = blocks[1]
        assert "collect --once" in collect_block
        script = "\n".join(blocks).replace("collect --once", f"collect --url {api.url} --once")
        bin_dir = str(Path(sys.executable).parent)  # where onepassword-ecs is installed
        env = {key: value for key, value in os.environ.items() if not key.startswith("EVENTS_API")}
        env.update(PATH=bin_dir + os.pathsep + env.get("PATH", ""), HOME=str(home))
        env["ES"] = search_server.url
        for attempt in (1, 2):  # the second run continues from the cursor: nothing twice
            done = subprocess.run(
                ["sh", "-ec", script], env=env, capture_output=True, text=True, timeout=180
            )
            assert done.returncode == 0, done.stderr
            assert token not in done.stdout + done.stderr
            search_server.request("POST", "/logs-1password_ecs.*/_refresh")
            status, count = search_server.request("GET", "/logs-1password_ecs.*/_count")
            assert status == 200 and count["count"] == len(served), (attempt, count)
        assert f'"count":{len(served)}' in done.stdout.replace(" ", "")
        assert "signin_attempts" in done.stdout + done.stderr  # the --status table
        rejected = home / "onepassword-ecs-rejected.ndjson"
        assert rejected.exists() and rejected.read_text() == ""
        assert token not in script
    finally:
        api.stop()
