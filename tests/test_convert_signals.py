"""An interrupted ``convert`` leaves nothing behind and claims nothing false (issue 21, item 9).

Real processes, real signals: ``convert`` is fed records through a pipe that stays open
(so it is mid-run, waiting for more), then SIGTERM, SIGHUP or SIGINT arrives.

* no hidden temporary file is left beside ``-o`` or ``--errors``;
* a pre-existing ``-o`` and ``--errors`` are both left as they were (they are a pair:
  both replaced at the end, or neither);
* the per-sink summary lines say what is durable: the store's line counts exactly the
  events the store holds afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from test_cli import SIGNIN, line, record

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/io").exists(), reason="needs Linux /proc to see the input consumed"
)

RECORDS = 5000
STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


def _name(signum: int) -> str:
    return signal.Signals(signum).name


def _feed_then_signal(
    argv: list[str], signum: int, *, workers: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Start ``convert``, feed it records (one in ten rejected), wait until it has read
    them all and converted what makes whole chunks, its input still open, then signal."""
    # Standard error goes to a file, not a pipe: multiprocessing's helper processes
    # (forkserver, resource tracker) inherit it and may outlive the run, so reading a
    # pipe to its end would wait for them rather than for convert.
    with tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "onepassword_ecs", "convert", *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            start_new_session=workers,  # its own group: the signal goes to the workers too
        )
        assert process.stdin is not None
        data = b"".join(
            b"not json\n" if n % 10 == 9 else line(record(SIGNIN, f"R{n}")) for n in range(RECORDS)
        )
        process.stdin.write(data)
        process.stdin.flush()
        # Chunks are about 1 MiB: once every byte is read, all but the last (partial) chunk
        # went through the sinks, and the process waits on its still open input.
        deadline = time.monotonic() + 60
        while _bytes_read(process.pid) < len(data) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        if workers:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        try:
            process.wait(timeout=60)
        finally:
            process.stdin.close()
            if workers:  # whatever of its group is left (helpers that ignore SIGTERM) goes
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
        stderr_file.seek(0)
        stderr = stderr_file.read()
    return subprocess.CompletedProcess(process.args, process.returncode, b"", stderr)


def _bytes_read(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return 0
    found = re.search(r"^rchar: (\d+)$", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=_name)
def test_output_and_errors_are_left_as_they_were_with_no_temporary_file(
    tmp_path: Path, signum: int
) -> None:
    output, errors = tmp_path / "ecs.ndjson", tmp_path / "rejected.ndjson"
    output.write_bytes(b"previous documents\n")
    errors.write_bytes(b"previous rejections\n")
    done = _feed_then_signal(["-o", str(output), "--errors", str(errors)], signum)
    text = done.stderr.decode()
    assert done.returncode == STATUS[signum], text
    assert "Traceback" not in text
    assert sorted(path.name for path in tmp_path.iterdir()) == [output.name, errors.name]
    assert output.read_bytes() == b"previous documents\n"
    assert errors.read_bytes() == b"previous rejections\n"  # the pair stays a pair
    assert f"{output} was not written (left as it was)" in text
    assert f"{errors} was not written (left as it was)" in text
    assert f"sink {output}: 0 written" in text


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=_name)
def test_the_store_line_counts_what_the_store_holds(tmp_path: Path, signum: int) -> None:
    store = tmp_path / "events.db"
    done = _feed_then_signal(["--store", str(store)], signum)
    text = done.stderr.decode()
    assert done.returncode == STATUS[signum], text
    found = re.search(r"sink store: ([\d,]+) written", text)
    assert found, text
    claimed = int(found.group(1).replace(",", ""))
    with sqlite3.connect(store) as connection:
        [(held,)] = connection.execute("SELECT count(*) FROM events").fetchall()
    connection.close()
    assert claimed == held
    assert held > 0  # whole chunks were converted before the signal: they are kept


def test_sigterm_to_the_whole_group_with_workers_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    """systemd stops a service by signalling its whole control group: the worker
    processes get SIGTERM too; the parent still cleans up and reports."""
    output = tmp_path / "ecs.ndjson"
    done = _feed_then_signal(["-o", str(output), "--workers", "2"], signal.SIGTERM, workers=True)
    text = done.stderr.decode()
    assert done.returncode == 143, text
    assert "Traceback" not in text and "stopped by SIGTERM" in text
    assert list(tmp_path.iterdir()) == []


def test_under_nohup_a_hangup_does_not_stop_the_run(tmp_path: Path) -> None:
    """A signal ignored on purpose (``nohup`` ignores SIGHUP) stays ignored."""
    output = tmp_path / "ecs.ndjson"
    script = (
        "import signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); "
        "from onepassword_ecs.cli import main; sys.exit(main())"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, "convert", "-o", str(output), "--quiet"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stderr is not None
    data = b"".join(line(record(SIGNIN, f"R{n}")) for n in range(RECORDS))
    process.stdin.write(data)
    process.stdin.flush()
    deadline = time.monotonic() + 60
    while _bytes_read(process.pid) < len(data) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    process.stdin.close()  # the end of the input: the run completes
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == 0, stderr
    assert len(output.read_bytes().splitlines()) == RECORDS
