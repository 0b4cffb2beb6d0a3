"""A run cut short says what really reached the output (issue 9, item 4).

Ctrl-C (exit 130) and a reader closing the pipe (exit 141) are normal ways for a
filter to end, but the summary must not count as "written" a document that never
reached the file or the reader. These tests use real processes, real pipes and real
signals.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from test_cli import SIGNIN, ids, line, record

PAGE_RECORDS = 3000


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same records as one huge page line, and as one record per line."""
    folder = tmp_path_factory.mktemp("stops")
    records = [record(SIGNIN, f"R{n}") for n in range(PAGE_RECORDS)]
    page = folder / "page.ndjson"
    page.write_bytes(line({"items": records, "cursor": "c", "has_more": False}))
    lines = folder / "lines.ndjson"
    lines.write_bytes(b"".join(line(r) for r in records))
    return {"page": page, "lines": lines}


def _summary(stderr: bytes) -> str:
    [first] = [x for x in stderr.decode().splitlines() if " records read, " in x]
    return first


@pytest.mark.parametrize("shape", ["page", "lines"])
def test_reader_closing_the_pipe_is_141_with_no_written_claim(
    inputs: dict[str, Path], shape: str
) -> None:
    command = shlex.join([sys.executable, "-m", "onepassword_ecs", "convert", str(inputs[shape])])
    done = subprocess.run(
        ["bash", "-c", f"{command} | head -n 1; exit ${{PIPESTATUS[0]}}"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 141, done.stderr
    assert ids(done.stdout) == ["R0"]
    assert b"Traceback" not in done.stderr
    summary = _summary(done.stderr)
    pattern = (
        r"onepassword-ecs: ([\d,]+) records read, ([\d,]+) converted, ([\d,]+) sent to "
        r"the pipe, 0 rejected \(the reader closed the output\)"
    )
    match = re.fullmatch(pattern, summary)
    assert match, summary
    read, converted, sent = (int(x.replace(",", "")) for x in match.groups())
    assert read == converted <= PAGE_RECORDS  # reading stops once the reader has gone
    assert 1 <= sent < converted  # only what the pipe took before head exited
    assert " written" not in summary  # the reader may not have read what the pipe took
    assert "converted by dataset" in done.stderr.decode()


def _interrupt_midway(argv: list[str], stdout: int | None) -> subprocess.Popen[bytes]:
    """Start ``convert``, feed it records, leave its input open, then press Ctrl-C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "onepassword_ecs", "convert", *argv],
        stdin=subprocess.PIPE,
        stdout=stdout,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    # 2,500 records (> one 2,000-line chunk and far more than a pipe buffer): when the
    # write returns, the converter is running and has converted at least a chunk's worth
    # or is about to; its input stays open, so it then waits for more.
    process.stdin.write(b"".join(line(record(SIGNIN, f"R{n}")) for n in range(2500)))
    process.stdin.flush()
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    return process


def test_ctrl_c_with_an_output_file_claims_nothing_written(tmp_path: Path) -> None:
    target = tmp_path / "ecs.ndjson"
    process = _interrupt_midway(["-o", str(target)], subprocess.DEVNULL)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either
    text = stderr.decode()
    assert f"interrupted; {target} was not written (left as it was)" in text
    summary = _summary(stderr)
    assert " converted, 0 written, 0 rejected (interrupted)" in summary


def test_ctrl_c_on_standard_output_counts_what_reached_it(tmp_path: Path) -> None:
    received = tmp_path / "received.ndjson"
    with received.open("wb") as out:
        process = _interrupt_midway([], out.fileno())
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    written = len(received.read_bytes().splitlines())
    summary = _summary(stderr)
    assert f"{written:,} written" in summary
    assert summary.endswith("(interrupted)")


def test_a_fifo_output_whose_reader_leaves_is_141(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["head", "-c", "100", str(fifo)], stdout=subprocess.PIPE)
    data = b"".join(line(record(SIGNIN, f"R{n}")) for n in range(3000))
    done = subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", "convert", "-o", str(fifo)],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    reader.communicate(timeout=60)
    assert done.returncode == 141, done.stderr
    assert "(the reader closed the output)" in _summary(done.stderr)
    assert os.path.exists(fifo) and not os.path.isfile(fifo)


def test_complete_runs_keep_the_plain_summary() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "onepassword_ecs", "convert"],
        input=line(SIGNIN) * 3,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert _summary(done.stderr) == "onepassword-ecs: 3 records read, 3 written, 0 rejected"
    assert [orjson.loads(x)["event"]["id"] for x in done.stdout.splitlines()] == ["SIGNIN1"] * 3
