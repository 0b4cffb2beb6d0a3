"""The README's convert example runs as shown and leaves the clone clean (issue 9, item 23).

The commands of the quick-start ``console`` block are run, as a reader would paste
them, from the repository root; they must write their outputs somewhere temporary, not
as untracked files in the clone, and give the exit status and the rejected record the
README shows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _convert_example() -> tuple[list[str], str]:
    """The commands of the first console block that runs ``convert``, and its text."""
    for block in re.findall(r"```console\n(.*?)```", README.read_text("utf-8"), re.DOTALL):
        commands = [x[2:] for x in block.splitlines() if x.startswith("$ ")]
        if any("onepassword-ecs convert" in c for c in commands):
            return commands, block
    raise AssertionError("no console block running convert in README.md")


def _tree(folder: Path) -> set[str]:
    skipped = {".git", ".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
    names = set()
    for path in folder.rglob("*"):
        parts = path.relative_to(folder).parts
        if skipped.isdisjoint(parts) and "__pycache__" not in parts:
            names.add("/".join(parts))
    return names


def test_the_readme_convert_example_runs_and_writes_outside_the_clone(tmp_path: Path) -> None:
    commands, block = _convert_example()
    before = _tree(ROOT)
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        ["bash", "-c", "\n".join(commands)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _tree(ROOT) == before  # nothing new in the clone
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"events.ecs.ndjson", "rejected.ndjson"} <= written
    # The status and the rejected record are the ones the README shows.
    shown_status = block.split("$ echo $?\n")[1].splitlines()[0]
    assert done.stdout.decode().splitlines()[0] == shown_status
    shown = [orjson.loads(x) for x in block.splitlines() if x.startswith('{"line"')]
    got = [orjson.loads(x) for x in done.stdout.splitlines() if x.startswith(b'{"line"')]
    keys = ("line", "source", "reason", "path", "input")
    assert [[e.get(k) for k in keys] for e in got] == [[e.get(k) for k in keys] for e in shown]
