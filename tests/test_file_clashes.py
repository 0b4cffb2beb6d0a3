"""No command writes over a file it reads or keeps state in (issue 21, items 3, 4, 17).

One table, one row per way a mistyped path destroyed data: each row is a command line
(``{store}``, ``{input}``... are files the row's fixture made), how standard input and
output are redirected, and the words the refusal must hold. Every row must exit 2 before
touching anything: every file the fixture made is byte-for-byte as it was, and no file
appears that was not there.

Applying the shared check (``cli._files.clashing_files``) to another command is one
call in it and one row here; the rows marked ``lead`` are commands whose files belong to
others now: strict xfail, so the row starts passing (and the mark must go) the day the
call is added.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from onepassword_ecs.cli import main
from onepassword_ecs.sinks import EventStore
from test_cli import AUDIT, SIGNIN, line

GOOD = line(SIGNIN) + line(AUDIT)


@dataclass(frozen=True)
class Row:
    argv: str
    says: str
    stdin: str | None = None  # a file name to redirect standard input from
    stdout: str | None = None  # a file name standard output is appended to (>>)


ROWS: dict[str, Row] = {
    # item 3: two outputs that are one file
    "convert -o X --store X": Row("convert {input} -o {store} --store {store}", "same file"),
    "convert -o X --store X (new)": Row("convert {input} -o {new} --store {new}", "same file"),
    "convert --errors X --store X": Row(
        "convert {input} --errors {store} --store {store}", "same file"
    ),
    "convert -o link --store X": Row("convert {input} -o {store_link} --store {store}", "same"),
    "convert -o - --store X >> X": Row(
        "convert {input} -o - --store {store}", "standard output", stdout="store"
    ),
    # the general rule: inputs, lookup files, config files, standard streams
    "convert IN >> IN": Row("convert {input}", "standard output is the input", stdout="input"),
    "convert -o lookup --lookups lookup": Row(
        "convert {input} -o {lookup} --lookups {lookup}", "is the lookup file"
    ),
    "convert -o in-folder --lookups folder": Row(
        "convert {input} -o {lookup} --lookups {lookup_folder}", "is the lookup file"
    ),
    "convert --errors config --stage-config config": Row(
        "convert {input} --errors {config} --stage-config {config}", "stage config file"
    ),
    "convert -o hardlink < IN": Row("convert -o {input_hardlink}", "the input", stdin="input"),
    # item 4: an output naming the store
    "report -o X --store X": Row("report --store {store} -o {store}", "is the store"),
    "report -o link --store X": Row("report --store {store} -o {store_link}", "is the store"),
    "report -o ctx --context ctx": Row(
        "report --store {store} --context {config} -o {config}", "is the context file"
    ),
    "report --json >> X": Row("report --store {store} --json", "is the store", stdout="store"),
    "report -o - >> X": Row("report --store {store} -o -", "is the store", stdout="store"),
    "mcp >> X": Row("mcp --store {store}", "is the store", stdout="store"),
}

# Commands whose files are others' since the split: the lead adds the one call.
LEAD_ROWS: dict[str, Row] = {
    "investigate >> X": Row("investigate anomalies --store {store}", "store", stdout="store"),
    "detect -o X --store X": Row("detect --store {store} -o {store}", "is the store"),
    "store export -o X --store X": Row("store export --store {store} -o {store}", "store"),
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """The files rows name, made fresh for each row."""
    made = {
        "input": tmp_path / "in.ndjson",
        "store": tmp_path / "events.db",
        "lookup_folder": tmp_path / "lookups",
        "config": tmp_path / "stages.toml",
    }
    made["input"].write_bytes(GOOD)
    EventStore.open(made["store"]).close()
    made["lookup_folder"].mkdir()
    made["lookup"] = made["lookup_folder"] / "users.csv"
    made["lookup"].write_text("uuid,kind,name\nABC,user,Dana Levi\n", encoding="utf-8")
    made["config"].write_text('[redact]\npeople = "mask"\n', encoding="utf-8")
    made["store_link"] = tmp_path / "link.db"
    made["store_link"].symlink_to(made["store"])
    made["input_hardlink"] = tmp_path / "hard.ndjson"
    os.link(made["input"], made["input_hardlink"])
    made["new"] = tmp_path / "new.out"
    return made


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def _check(row: Row, files: dict[str, Path]) -> None:
    folder = files["input"].parent
    before = _snapshot(folder)
    argv = row.argv.format(**{name: str(path) for name, path in files.items()}).split()
    stderr = io.StringIO()
    stdin_name = files[row.stdin] if row.stdin else os.devnull
    stdout_name = files[row.stdout] if row.stdout else os.devnull
    with open(stdin_name, "rb") as stdin, open(stdout_name, "ab") as stdout:
        status = main(argv, stdin=stdin, stdout=stdout, stderr=stderr)
    message = stderr.getvalue()
    assert status == 2, message
    assert row.says in message, message
    assert "Traceback" not in message
    assert _snapshot(folder) == before  # nothing written, truncated, replaced or created


@pytest.mark.parametrize("name", sorted(ROWS))
def test_a_command_never_writes_over_what_it_reads_or_keeps(
    name: str, files: dict[str, Path]
) -> None:
    _check(ROWS[name], files)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason="the lead adds the call"))
        for name in sorted(LEAD_ROWS)
    ],
)
def test_commands_of_others_once_the_lead_applies_the_check(
    name: str, files: dict[str, Path]
) -> None:
    _check(LEAD_ROWS[name], files)


def test_distinct_files_are_still_accepted(files: dict[str, Path], tmp_path: Path) -> None:
    out, store = tmp_path / "out.ndjson", tmp_path / "other.db"
    argv = ["convert", str(files["input"]), "-o", str(out), "--store", str(store), "--quiet"]
    status = main(argv, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.StringIO())
    assert status == 0 and out.read_bytes().count(b"\n") == 2
    with EventStore.open(store, readonly=True) as opened:
        assert opened is not None


@pytest.mark.parametrize("target", ["/proc/self/fd/0", "/dev/stdin", "/dev/fd/0"])
def test_output_into_the_pipe_being_read_is_refused_not_a_hang(target: str) -> None:
    """Item 17: ``-o /proc/self/fd/0`` with a pipe on standard input wrote into that
    pipe and waited for ever; every name of the pipe is now seen as the input."""
    if not Path(target).exists():
        pytest.skip(f"no {target} here")
    process = subprocess.Popen(
        [sys.executable, "-m", "onepassword_ecs", "convert", "-o", target],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = process.communicate(GOOD, timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 2, err
    assert b"is the input standard input (the same file)" in err
    assert out == b""
