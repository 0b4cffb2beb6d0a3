"""The rooms of the package import only what the map in docs/architecture.md allows.

Each sub-package of ``onepassword_ecs`` is a room with one concern. A room may import
the rooms listed for it in ``ALLOWED`` (and the exception tree); anything else is a
dependency drawn the wrong way (``mapping`` importing ``stream`` would tie the mappers to
files and processes). The rules are read from the source with ``ast``, so the test sees
lazy imports inside functions too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import onepassword_ecs

PACKAGE = Path(onepassword_ecs.__file__).resolve().parent
ROOT = "onepassword_ecs"

# room -> rooms it may import (besides itself and the top-level _errors module).
# Keep in step with docs/architecture.md ("What each room may import").
ALLOWED: dict[str, set[str]] = {
    "ecs": set(),
    "mapping": {"ecs"},
    "golden": {"mapping", "ecs"},
    "stream": {"mapping", "ecs"},
    "sinks": {"mapping", "ecs", "stream"},
    "investigate": {"sinks"},
    "collect": {"mapping", "stream"},
    "detect": {"mapping", "ecs", "stream", "sinks"},
    "stages": {"mapping", "ecs"},
    "spark": {"mapping", "ecs", "stream"},
    "cli": {
        "mapping",
        "ecs",
        "golden",
        "stream",
        "sinks",
        "investigate",
        "collect",
        "detect",
        "stages",
    },
}
TOP_LEVEL_ALLOWED = {"_errors", "_time", "mappings", "rules"}


def _rooms() -> list[str]:
    return sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def _imports(source: str, package: list[str]) -> set[str]:
    """Absolute names of the package modules a module of ``package`` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith(ROOT):
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith(ROOT))
    return names


def _imported_modules(path: Path) -> set[str]:
    package = list(path.relative_to(PACKAGE.parent).parts[:-1])
    return _imports(path.read_text(encoding="utf-8"), package)


def _violations(room: str, modules: set[str]) -> list[str]:
    """The imports among ``modules`` that a module of ``room`` may not make."""
    allowed = ALLOWED[room] | {room} | TOP_LEVEL_ALLOWED
    wrong = []
    for module in sorted(modules):
        parts = module.split(".")
        if len(parts) == 1:
            continue  # the package itself (`from .. import __version__`)
        if parts[1] == "__version__":
            continue
        if parts[1] not in allowed:
            wrong.append(module)
        elif parts[1] in ALLOWED and parts[1] != room and parts[2:3] and parts[2][0] == "_":
            wrong.append(module)  # another room's private module: use its __all__
    return wrong


def _room_of(module: str) -> str | None:
    """The room (or top-level module) an absolute module name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_room_is_on_the_map() -> None:
    """A new room must be given its import rules here and in docs/architecture.md."""
    assert set(_rooms()) - {"mappings"} == set(ALLOWED)


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_room_imports_only_what_it_may(room: str) -> None:
    """Only allowed rooms, and only through their front door (``__init__``'s names)."""
    wrong = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in sorted((PACKAGE / room).rglob("*.py"))
        for module in _violations(room, _imported_modules(path))
    ]
    assert wrong == []


def test_the_checker_catches_forbidden_imports() -> None:
    """The rule can fail: upward, sideways-private and lazy imports are all caught."""
    source = (
        "from ..stream import convert\n"
        "def later():\n"
        "    from ..cli._main import main\n"
        "from ..ecs._table import ecs_table\n"
        "from ..ecs import validate\n"
        "from .._errors import NormalizationError\n"
    )
    modules = _imports(source, ["onepassword_ecs", "mapping"])
    assert set(_violations("mapping", modules)) == {
        "onepassword_ecs.stream",
        "onepassword_ecs.stream.convert",
        "onepassword_ecs.cli._main",
        "onepassword_ecs.cli._main.main",
        "onepassword_ecs.ecs._table",
        "onepassword_ecs.ecs._table.ecs_table",
    }


# SQL in a string literal: an upper-case statement keyword and what it acts on (the
# project writes SQL keywords in capitals). The CLI maps arguments to a room's request
# and an outcome to an exit status; queries belong to the room that owns the tables
# (issue 20: the follow loop's raw SQL moved to detect/).
_SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(TABLE|INDEX)|PRAGMA\s+\w+)\b",
    re.DOTALL,
)


def _sql_literals(source: str) -> list[str]:
    """The string literals of a module that hold SQL (docstrings are prose, skipped)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and _SQL.search(node.value)
    ]


def test_no_cli_module_contains_sql() -> None:
    found = {
        path.name: _sql_literals(path.read_text(encoding="utf-8"))
        for path in sorted((PACKAGE / "cli").glob("*.py"))
    }
    assert {name: sql for name, sql in found.items() if sql} == {}


def test_the_sql_check_can_fail() -> None:
    source = (
        '"""Reads SELECT x FROM y in prose."""\n'
        'ROWS = "SELECT min(ts_ns), max(seq) FROM events WHERE seq > ?"\n'
        'ok = "select a subcommand from the list"\n'
    )
    assert _sql_literals(source) == ["SELECT min(ts_ns), max(seq) FROM events WHERE seq > ?"]
