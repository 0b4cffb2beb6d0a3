"""``-o`` and ``--errors`` never destroy what they should not (issue 9, items 1-3).

Item 1: a symbolic link is followed (its target replaced, the link kept); a FIFO or a
character device is written through, never replaced by a plain file.
Items 2-3: ``-o`` or ``--errors`` naming an input (by any path, hard or symbolic link),
or ``-o`` and ``--errors`` naming the same file, is refused with exit 2 before anything
is read, opened or truncated.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from onepassword_ecs.cli import main
from test_cli import AUDIT, SIGNIN, ids, line, run

GOOD = line(SIGNIN) + line(AUDIT)
MIXED = GOOD + b"not json\n"


def _no_temporary_left(*folders: Path) -> None:
    for folder in folders:
        assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# --- item 1: symbolic links, FIFOs, devices ------------------------------------------


def test_output_through_a_symlink_replaces_the_target_and_keeps_the_link(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    target = real / "ecs.ndjson"
    target.write_bytes(b"previous run\n")
    target.chmod(0o640)
    link = tmp_path / "latest.ndjson"
    link.symlink_to(Path("real") / "ecs.ndjson")  # relative, as people make them
    status, out, _ = run(["convert", "-o", str(link), "-q"], GOOD)
    assert (status, out) == (0, b"")
    assert link.is_symlink()
    assert os.readlink(link) == str(Path("real") / "ecs.ndjson")
    assert ids(target.read_bytes()) == ["SIGNIN1", "AUDIT1"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the target's mode is kept
    _no_temporary_left(tmp_path, real)


def test_output_through_a_dangling_symlink_creates_the_target(tmp_path: Path) -> None:
    link = tmp_path / "latest.ndjson"
    link.symlink_to(tmp_path / "fresh.ndjson")
    assert run(["convert", "-o", str(link), "-q"], GOOD)[0] == 0
    assert link.is_symlink()
    assert ids((tmp_path / "fresh.ndjson").read_bytes()) == ["SIGNIN1", "AUDIT1"]


def test_output_to_a_fifo_streams_into_it_and_keeps_the_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # Open the reading end first (non-blocking), so the converter's open succeeds; the
    # output is a few KiB, well within a pipe's buffer.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        status, _, err = run(["convert", "-o", str(fifo)], GOOD)
        received = os.read(reader, 1 << 20)
    except BlockingIOError:
        received = b""
    finally:
        os.close(reader)
    assert status == 0, err
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert ids(received) == ["SIGNIN1", "AUDIT1"]
    assert "2 records read, 2 written, 0 rejected" in err
    _no_temporary_left(tmp_path)


def _null_device(folder: Path) -> Path:
    """A character device to write to, that no bug in the code under test can harm.

    Our own /dev/null node (major 1, minor 3) in ``folder``: code that replaced
    the device with a plain file (as it did before the fix) replaces our node, not the
    machine's /dev/null. Without mknod rights, a link to /dev/null is as safe only for
    a user who cannot write to /dev; for root the test is skipped instead.
    """
    node = folder / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except OSError:
        if os.geteuid() == 0:
            pytest.skip("cannot create a device node, and root could harm /dev/null")
        node.symlink_to(os.devnull)
    return node


def test_output_to_a_character_device_writes_through_it(tmp_path: Path) -> None:
    device = _null_device(tmp_path)
    was_link = device.is_symlink()
    status, out, err = run(["convert", "-o", str(device)], GOOD)
    assert (status, out) == (0, b""), err
    assert stat.S_ISCHR(os.stat(device).st_mode)  # still a device (through any link)
    assert device.is_symlink() == was_link
    assert "2 records read, 2 written" in err
    _no_temporary_left(tmp_path)


def test_output_naming_a_directory_is_exit_2(tmp_path: Path) -> None:
    status, _, err = run(["convert", "-o", str(tmp_path)], GOOD)
    assert status == 2
    assert f"{tmp_path}: Is a directory" in err


# --- items 2 and 3: the same file twice ----------------------------------------------


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "events.ndjson"
    path.parent.mkdir()
    path.write_bytes(MIXED)
    return path


def _aliases(source: Path) -> dict[str, Path]:
    """Other names for ``source``: another spelling, a hard link, a symbolic link."""
    hard = source.parent / "hard.ndjson"
    os.link(source, hard)
    soft = source.parent.parent / "soft.ndjson"
    soft.symlink_to(source)
    dotted = source.parent / ".." / source.parent.name / source.name
    return {"same path": source, "other path": dotted, "hard link": hard, "symlink": soft}


@pytest.mark.parametrize("alias", ["same path", "other path", "hard link", "symlink"])
@pytest.mark.parametrize("option", ["--errors", "-o"])
def test_writing_over_an_input_is_refused_before_reading(
    source: Path, option: str, alias: str
) -> None:
    target = _aliases(source)[alias]
    status, out, err = run(["convert", str(source), option, str(target)])
    assert (status, out) == (2, b"")
    assert f"{option} {target} is the input {source} (the same file)" in err
    assert "records read" not in err  # refused before reading anything
    assert source.read_bytes() == MIXED  # nothing truncated or replaced
    assert not source.is_symlink()


def test_an_input_named_twice_is_still_checked(source: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.ndjson"
    other.write_bytes(GOOD)
    status, _, err = run(["convert", str(other), str(source), "--errors", str(source)])
    assert "is the input" in err
    assert status == 2
    assert source.read_bytes() == MIXED


def test_standard_input_redirected_from_the_output_file_is_refused(source: Path) -> None:
    # `convert --errors events.ndjson < events.ndjson` would empty its own input.
    with source.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "onepassword_ecs", "convert", "--errors", str(source)],
            stdin=stdin,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert b"is the input standard input (the same file)" in done.stderr
    assert source.read_bytes() == MIXED


@pytest.mark.parametrize("exists", [True, False], ids=["existing", "new"])
def test_output_and_errors_the_same_file_is_refused(tmp_path: Path, exists: bool) -> None:
    target = tmp_path / "both.ndjson"
    if exists:
        target.write_bytes(b"previous run\n")
    spelled = tmp_path / "." / "both.ndjson"
    status, out, err = run(["convert", "-o", str(target), "--errors", str(spelled)], MIXED)
    assert (status, out) == (2, b"")
    assert "are the same file" in err
    assert "records read" not in err
    if exists:
        assert target.read_bytes() == b"previous run\n"
    else:
        assert not target.exists()


def test_output_and_errors_through_a_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "both.ndjson"
    target.write_bytes(b"previous run\n")
    link = tmp_path / "link.ndjson"
    link.symlink_to(target)
    status, _, err = run(["convert", "-o", str(link), "--errors", str(target)], MIXED)
    assert status == 2
    assert "are the same file" in err
    assert target.read_bytes() == b"previous run\n"


def test_devices_may_be_shared_by_output_and_errors(tmp_path: Path) -> None:
    device = str(_null_device(tmp_path))
    status, _, err = run(["convert", "-o", device, "--errors", device], MIXED)
    assert status == 1, err  # one record rejected; both streams discarded, no refusal
    assert "3 records read, 2 written, 1 rejected" in err


def test_distinct_files_still_work(source: Path, tmp_path: Path) -> None:
    out, errors = tmp_path / "ecs.ndjson", tmp_path / "rejected.ndjson"
    err = io.StringIO()
    status = main(
        ["convert", str(source), "-o", str(out), "--errors", str(errors)],
        stdin=io.BytesIO(),
        stdout=io.BytesIO(),
        stderr=err,
    )
    assert status == 1
    assert ids(out.read_bytes()) == ["SIGNIN1", "AUDIT1"]
    [rejected] = [orjson.loads(x) for x in errors.read_bytes().splitlines()]
    assert rejected["input"] == "not json"
