"""The README and docs/ tell the truth about the command line and the environment.

- docs/cli.md is exactly what ``scripts/cli_reference.py`` generates from the parsers;
- every ``onepassword-ecs ...`` command shown in README.md or docs/ parses with the real
  parser (a renamed or removed option fails here, not in a reader's terminal); the
  examples that produce output are also run by their own tests (test_readme_convert,
  test_getting_started, test_stage_config, ...);
- every environment variable of ours that a page names is read by the code;
- every relative link between the pages points at a file that exists;
- the README stays a map (about 250 lines at most).
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from onepassword_ecs.cli._main import _parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# What may stand before "onepassword-ecs" on a line that runs it: nothing, a shell
# operator, a path ending in /bin/, a variable assignment, or a crontab's five fields.
COMMAND_START = re.compile(r"(^|[;&|(]\s*|/bin/|^\S*=\S*\s+|^(?:\S+\s+){5})$")
OUR_VARIABLES = re.compile(r"\b(?:ONEPASSWORD_ECS|EVENTS_API|OP_EVENTS)_[A-Z0-9_]+\b")


def test_the_cli_reference_is_generated_from_the_parsers() -> None:
    generated = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == generated, "run: python scripts/cli_reference.py > docs/cli.md"


def _shown_commands() -> list[tuple[str, str]]:
    """(page, command line) for every onepassword-ecs command in a shell or console block."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"```(?:sh|console|text|ini|cron)\n(.*?)```", text, re.S):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = line.removeprefix("$ ").strip()
                at = line.find("onepassword-ecs ")
                if at < 0 or line.startswith("#"):
                    continue
                if at > 0 and not COMMAND_START.search(line[:at]):
                    continue  # prose or a path that merely mentions the name
                command = re.split(r"\s(?:\||\|\||&&|>|2>|<)\s", line[at:])[0]
                command = command.split(" #", 1)[0].strip()
                found.append((page.name, command))
    return found


SHOWN = _shown_commands()


def test_the_docs_show_commands_at_all() -> None:
    assert len(SHOWN) > 20
    subcommands = {shlex.split(command)[1] for _, command in SHOWN}
    assert {"convert", "collect", "detect", "store", "investigate", "rules"} <= subcommands


@pytest.mark.parametrize(("page", "command"), SHOWN, ids=[f"{p}:{c[:60]}" for p, c in SHOWN])
def test_every_shown_command_parses(page: str, command: str) -> None:
    argv = shlex.split(command)[1:]
    argv = [arg for arg in argv if arg not in {"...", "[...]"}]
    if any(arg.startswith("[") or arg.isupper() or arg == "…" for arg in argv):
        pytest.skip("a synopsis with placeholders, not a command")
    parser = _parser()
    try:
        parser.parse_args(argv)
    except SystemExit as exit_:
        assert exit_.code == 0, f"{page}: {command}"
    except argparse.ArgumentError as error:  # pragma: no cover - exit_on_error is on
        pytest.fail(f"{page}: {command}: {error}")


def test_every_variable_named_in_the_docs_is_read_by_the_code() -> None:
    # The package, and setup.py for the build's own switches (ONEPASSWORD_ECS_CFLAGS).
    sources = [*(ROOT / "parser").rglob("*.py"), ROOT / "setup.py"]
    code = "\n".join(path.read_text(encoding="utf-8") for path in sources)
    named = {
        (page.name, name)
        for page in PAGES
        for name in OUR_VARIABLES.findall(page.read_text(encoding="utf-8"))
    }
    assert named, "the docs name no variable at all?"
    unread = sorted((page, name) for page, name in named if f'"{name}"' not in code)
    assert unread == []


def test_every_relative_link_points_at_a_file() -> None:
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.name} -> {target}")
    assert broken == []


def test_the_readme_is_a_map_not_a_manual() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 260
