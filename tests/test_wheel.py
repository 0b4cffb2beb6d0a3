"""What users install: the built wheel, in a fresh virtual environment, outside the tree.

The editable install the other tests use reads the source tree, so it cannot see a
package or data file the wheel leaves out (it once left out a whole room, and every
command failed with ``ModuleNotFoundError``). Here the sdist and the wheel are built
with ``python -m build``, the wheel's file list is held against the source tree, and the
wheel is installed bare (the core only) and then with its extras, each time into a
virtual environment whose commands run from a temporary folder, never the clone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "parser" / "onepassword_ecs"
EXAMPLE = ROOT / "docs" / "examples" / "events.ndjson"

# Source roots of the package: folder in the tree -> where it lands in the wheel.
SOURCE_ROOTS = {
    PACKAGE: "onepassword_ecs",
    ROOT / "mappings": "onepassword_ecs/mappings",
    ROOT / "rules": "onepassword_ecs/rules",
}
# Files in the source roots that are not meant to ship (build and editor leftovers).
NOT_SHIPPED_SUFFIXES = (".pyc", ".so", ".o", ".pyd")
# Sources of compiled extensions: in the sdist, never in the wheel (the wheel has the
# compiled module instead, when a compiler was present at build time).
SOURCE_ONLY_SUFFIXES = (".c",)
EXTENSIONS = ("onepassword_ecs/mapping/_cnative",)
HAS_COMPILER = (
    shutil.which(os.environ.get("CC", "cc")) is not None or shutil.which("gcc") is not None
)


def _tree_files() -> set[str]:
    """Every file of the source roots, as its path inside the wheel."""
    expected: set[str] = set()
    for folder, prefix in SOURCE_ROOTS.items():
        for path in folder.rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.name.endswith(NOT_SHIPPED_SUFFIXES + SOURCE_ONLY_SUFFIXES):
                continue
            relative = path.relative_to(folder).as_posix()
            if prefix == "onepassword_ecs" and relative.split("/", 1)[0] in {"mappings", "rules"}:
                continue  # never present; the data roots ship there
            expected.add(f"{prefix}/{relative}")
    return expected


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built from a copy of the tree (no build/ left in the clone)."""
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    ignore = shutil.ignore_patterns(
        ".git",
        ".venv",
        "*.egg-info",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        "build",
        "dist",
        "*.so",
    )
    shutil.copytree(ROOT, source, ignore=ignore)
    out = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("*.whl")
    return wheel


def _compiled(names: set[str]) -> set[str]:
    """The compiled extension modules among ``names``, by module path."""
    return {
        extension
        for name in names
        for extension in EXTENSIONS
        if name.startswith(extension + ".") and name.endswith((".so", ".pyd"))
    }


def test_the_wheel_holds_every_module_and_data_file_of_the_tree(dist: Path) -> None:
    with zipfile.ZipFile(_wheel(dist)) as archive:
        names = set(archive.namelist())
    shipped = {
        name
        for name in names
        if name.startswith("onepassword_ecs/") and not name.endswith(NOT_SHIPPED_SUFFIXES)
    }
    expected = _tree_files()
    assert expected - shipped == set(), "files of the tree missing from the wheel"
    assert shipped - expected == set(), "files in the wheel that the tree does not have"
    assert not any(name.endswith(SOURCE_ONLY_SUFFIXES) for name in names), "C source in wheel"
    compiled = _compiled(names)
    if HAS_COMPILER:
        assert compiled == set(EXTENSIONS), "a compiler is here: the native mapper is built"
    assert {n for n in names if n.endswith(NOT_SHIPPED_SUFFIXES)} <= {
        n for n in names if any(n.startswith(e + ".") for e in compiled)
    }, "a compiled file in the wheel that is not one of the extensions"


def test_the_sdist_holds_the_package_sources(dist: Path) -> None:
    import tarfile

    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("setup.py", "pyproject.toml", "README.md"):
        assert needed in names, needed
    assert any(name.startswith("mappings/") and name.endswith(".toml") for name in names)
    assert any(name.startswith("parser/onepassword_ecs/stages/") for name in names)
    assert any(name.startswith("rules/") and name.endswith(".yml") for name in names)
    assert "parser/onepassword_ecs/mapping/_cnative.c" in names  # built on install


class Environment:
    """A fresh virtual environment and a scratch folder outside the source tree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        venv.EnvBuilder(with_pip=True, clear=True).create(root / "venv")
        self.bin = root / "venv" / "bin"
        self.work = root / "work"
        self.work.mkdir()

    def pip_install(self, *requirements: str) -> None:
        subprocess.run(
            [str(self.bin / "python"), "-m", "pip", "install", "--quiet", *requirements],
            check=True,
            capture_output=True,
            timeout=600,
        )

    def run(self, *argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
        }
        environment["HOME"] = str(self.work)  # the default store lands here, not in ~
        environment["XDG_DATA_HOME"] = str(self.work / "data")
        environment["XDG_STATE_HOME"] = str(self.work / "state")
        return subprocess.run(
            argv,
            cwd=self.work,
            env=environment,
            input=stdin.decode() if stdin is not None else None,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "onepassword-ecs"), *argv)

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "python"), "-c", code)


@pytest.fixture(scope="module")
def bare(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    environment = Environment(tmp_path_factory.mktemp("bare"))
    environment.pip_install(str(_wheel(dist)))
    yield environment


CORE_DISTRIBUTIONS = {"pydantic", "orjson", "python-dateutil", "pycountry"}
EXTRA_MODULES = (
    "httpx", "tenacity", "sigma", "yaml", "rich", "matplotlib", "mcp", "pyspark", "pyarrow",
)  # fmt: skip


def test_the_bare_wheel_installs_only_the_core(bare: Environment) -> None:
    listed = bare.python(
        "import importlib.util, json;"
        f"print(json.dumps([m for m in {list(EXTRA_MODULES)!r} if importlib.util.find_spec(m)]))"
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "[]", "an extra's module came with the bare install"


IMPORT_EVERY_ROOM = """
import importlib, json, sys
import onepassword_ecs
assert "site-packages" in onepassword_ecs.__file__, onepassword_ecs.__file__
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module("onepassword_ecs." + name)
    except ModuleNotFoundError as error:
        failed[name] = error.name
print(json.dumps(failed))
"""


def test_every_sub_package_imports_from_the_bare_wheel(bare: Environment) -> None:
    rooms = sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file())
    result = bare.run(str(bare.bin / "python"), "-c", IMPORT_EVERY_ROOM, *rooms)
    assert result.returncode == 0, result.stderr
    # A room whose own imports need an extra may fail on that extra's module; no other.
    needs_an_extra = {
        "detect": {"sigma", "yaml"},
        "investigate": {"rich"},
        "spark": {"pyspark", "pyarrow"},
    }
    for room, module in json.loads(result.stdout).items():
        assert module.split(".")[0] in needs_an_extra.get(room, set()), (room, module)


def test_the_core_commands_work_from_the_bare_wheel(bare: Environment) -> None:
    shutil.copy(EXAMPLE, bare.work / "events.ndjson")
    version = bare.cli("--version")
    assert version.returncode == 0 and "onepassword-ecs" in version.stdout
    if HAS_COMPILER:
        assert "(native mapper)" in version.stdout, version.stdout

    converted = bare.cli(
        "convert", "events.ndjson", "-o", "events.ecs.ndjson", "--errors", "rejected.ndjson"
    )
    assert converted.returncode == 1, converted.stderr  # the example holds one bad record
    assert "4 records read, 3 written, 1 rejected" in converted.stderr
    assert len((bare.work / "events.ecs.ndjson").read_text().splitlines()) == 3

    template = bare.cli("template")
    assert template.returncode == 0 and '"index_patterns"' in template.stdout

    stored = bare.cli("convert", "events.ndjson", "--store", "events.db", "-q")
    assert stored.returncode == 1, stored.stderr
    stats = bare.cli("store", "stats", "--store", "events.db")
    assert stats.returncode == 0, stats.stderr
    assert "3" in stats.stdout

    library = bare.python(
        "from onepassword_ecs import normalize, validate;"
        'd = normalize(\'{"uuid": "X", "timestamp": "2024-01-02T03:04:05Z",'
        ' "category": "success"}\');'
        "assert validate(d) == [], validate(d); print(d['event']['dataset'])"
    )
    assert library.returncode == 0, library.stderr
    assert library.stdout.strip() == "1password.signin_attempts"


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (("collect", "--once", "-o", "out.ndjson"), "collect"),
        (("detect", "events.ndjson"), "detect"),
        (("rules", "list"), "detect"),
        (("investigate", "anomalies", "--store", "events.db"), "investigate"),
        (("report", "--store", "events.db", "-o", "report.html"), "investigate"),
        (("mcp", "--store", "events.db"), "investigate"),
    ],
)
def test_a_command_without_its_extra_says_what_to_install(
    bare: Environment, argv: tuple[str, ...], extra: str
) -> None:
    result = bare.cli(*argv)
    assert result.returncode == 2, result.stderr
    assert f'pip install "onepassword-ecs[{extra}]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_the_full_wheel_runs_rules_and_detect(
    dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    environment = Environment(tmp_path_factory.mktemp("full"))
    wheel = _wheel(dist)
    environment.pip_install(f"onepassword-ecs[detect,collect,investigate] @ {wheel.as_uri()}")
    shutil.copy(EXAMPLE, environment.work / "events.ndjson")

    listed = environment.cli("rules", "list")
    assert listed.returncode == 0, listed.stderr
    assert "brute_force_ip" in listed.stdout

    detected = environment.cli("detect", "events.ndjson", "-o", "alerts.ndjson")
    assert detected.returncode in (0, 1, 3), detected.stderr
    assert "Traceback" not in detected.stderr
    assert (environment.work / "alerts.ndjson").exists()

    help_text = environment.cli("collect", "--help")
    assert help_text.returncode == 0 and "--token-file" in help_text.stdout


NATIVE_SAMPLE = (
    b'{"uuid":"U","timestamp":"2024-01-02T03:04:05Z","item_uuid":"I","vault_uuid":"V",'
    b'"action":"reveal","user":{"uuid":"P","name":"Ann","email":"a@x.example"},'
    b'"client":{"ip_address":"192.0.2.1","app_name":"1Password","os_name":"Linux"}}'
)


def test_a_wheel_built_without_a_compiler_installs_and_takes_the_pure_path(
    dist: Path, bare: Environment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``CC=false``: the optional extension fails to build, the install does not, and the
    package takes the pure path with the same output as the wheel with the extension."""
    work = tmp_path_factory.mktemp("pure")
    (sdist,) = dist.glob("*.tar.gz")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(work), str(sdist)],
        env={**os.environ, "CC": "false"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = work.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert _compiled(set(archive.namelist())) == set(), "CC=false yet a module was compiled"
    environment = Environment(work / "env")
    environment.pip_install(str(wheel))
    version = environment.cli("--version")
    assert version.returncode == 0 and "(pure mapper)" in version.stdout, version.stdout
    code = (
        "import sys; from onepassword_ecs import normalize_bytes;"
        f"sys.stdout.buffer.write(normalize_bytes({NATIVE_SAMPLE!r}))"
    )
    pure = environment.python(code)
    assert pure.returncode == 0, pure.stderr
    native = bare.python(code)  # the wheel built with the extension (when a compiler is)
    assert native.returncode == 0, native.stderr
    assert pure.stdout == native.stdout and '"ip":"192.0.2.1"' in pure.stdout
