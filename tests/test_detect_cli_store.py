"""``detect`` options of issue 20 and 22: incremental store runs, --full, -o -, exit 1, --json.

The CLI runs in this process (same parser and handlers as the installed command) over
real files and a real store.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import orjson

from onepassword_ecs import normalize
from onepassword_ecs.cli import main
from onepassword_ecs.sinks import EventStore
from onepassword_ecs.stream import Batch

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


def _main(*args: str) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.StringIO()
    code = main(list(args), stdin=io.BytesIO(b""), stdout=out, stderr=err)
    return code, out.getvalue().decode(), err.getvalue()


def _records(rule: str, case_index: int) -> list[dict[str, Any]]:
    data = json.loads((RULES_DIR / f"{rule}.cases.json").read_text(encoding="utf-8"))
    return list(data["cases"][case_index]["records"])


def _store_with(path: Path, records: list[dict[str, Any]]) -> None:
    lines = [orjson.dumps(normalize(r), option=orjson.OPT_SORT_KEYS) for r in records]
    with EventStore.open(path) as store:
        store.write(Batch(b"".join(line + b"\n" for line in lines), len(lines)))
        store.flush()


def _firewall() -> dict[str, Any]:
    return _records("signin_blocked_by_firewall", 0)[0]


def test_a_second_store_run_evaluates_only_what_is_new_and_full_raises_nothing_twice(
    tmp_path: Path,
) -> None:
    store = tmp_path / "events.db"
    _store_with(store, _records("brute_force_user", 0))
    # The events are from 2025: judged now, their stream is also silent (source_silent).
    code, out, err = _main("detect", "--store", str(store), "--json")
    assert code == 3, err
    first = json.loads(err)
    assert first["events"] == 10 and first["alerts"] == len(out.splitlines())
    assert first["alerts_by_rule"] == {
        "brute_force_ip": 1,
        "brute_force_user": 1,
        "source_silent": 1,
    }
    code, out, err = _main("detect", "--store", str(store), "--json")
    assert (code, out) == (0, "")
    assert json.loads(err)["events"] == 0  # nothing new: nothing evaluated
    _store_with(store, [_firewall()])
    code, out, err = _main("detect", "--store", str(store), "--json")
    assert code == 3
    second = json.loads(err)
    assert second["events"] == 1
    # 10:00, before the burst already evaluated: a late event, still judged.
    assert second["alerts_by_rule"] == {"signin_blocked_by_firewall": 1}
    code, out, err = _main("detect", "--store", str(store), "--full", "--json")
    assert (code, out) == (0, "")
    summary = json.loads(err)
    assert summary["events"] == 11
    assert summary["already_emitted"] == first["alerts"] + second["alerts"]


def test_dash_output_is_standard_output(tmp_path: Path) -> None:
    raw = tmp_path / "raw.ndjson"
    raw.write_bytes(orjson.dumps(_firewall()) + b"\n")
    code, out, _err = _main("detect", str(raw), "-o", "-")
    assert code == 3
    assert not (Path.cwd() / "-").exists()
    assert json.loads(out)["rule"]["id"] == "signin_blocked_by_firewall"


def test_rejected_records_without_alerts_exit_1_and_say_how_many(tmp_path: Path) -> None:
    record = _firewall() | {"timestamp": "2025-03-10 10:00:00"}  # no UTC offset
    raw = tmp_path / "raw.ndjson"
    raw.write_bytes(orjson.dumps(record) + b"\n" + b"{not json\n")
    code, out, err = _main("detect", str(raw))
    assert (code, out) == (1, "")
    assert "2 records rejected, no alert" in err
    # Told the zone, the same record is read and alerts (exit 3 wins over rejections).
    code, out, err = _main("detect", str(raw), "--assume-timezone", "Europe/Paris")
    assert code == 3, err
    alert = json.loads(out)
    assert alert["@timestamp"] == "2025-03-10T09:00:00.000000000Z"
    assert "records rejected (not normalized): invalid_json 1" in err


def test_new_usage_errors_exit_2(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    _store_with(store, [_firewall()])
    for args, message in [
        (["detect", "--full"], "--full needs --store"),
        (["detect", "--store", str(store), "--full", "--since", "1d"], "no --since"),
        (["detect", "--store", str(store), "--follow", "--since", "1d"], "no --since"),
        (["detect", "--store", str(store), "--assume-timezone", "UTC"], "INPUT files"),
    ]:
        code, _out, err = _main(*args)
        assert code == 2, args
        assert message in err
