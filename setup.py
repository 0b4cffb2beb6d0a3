"""Package layout for setuptools: what is discovered, and what data ships with it.

Everything else about the project is in ``pyproject.toml``. This file exists because
the layout has three source roots — the code in ``parser/``, the mapping tables in
``mappings/`` and the rule pack in ``rules/`` — and the two data folders must ship
inside the package. Code packages are *discovered* (``find_packages``), never listed,
so a new room cannot be left out of the wheel; the data packages and their files are
declared here once. ``tests/test_wheel.py`` builds the wheel and compares its file list
with the source tree, so a data file these globs miss fails the suite.
"""

from setuptools import find_packages, setup

# Data folders at the top of the repository, shipped as sub-packages of onepassword_ecs.
DATA_PACKAGES = {
    "onepassword_ecs.mappings": "mappings",
    "onepassword_ecs.rules": "rules",
    "onepassword_ecs.rules.pipelines": "rules/pipelines",
}

PACKAGE_DATA = {
    "onepassword_ecs": ["py.typed"],
    "onepassword_ecs.ecs": ["*.json"],
    "onepassword_ecs.mappings": ["*.toml"],
    "onepassword_ecs.rules": ["*.yml", "*.json"],
    "onepassword_ecs.rules.pipelines": ["*.yml"],
}

setup(
    packages=[*find_packages("parser", include=["onepassword_ecs*"]), *DATA_PACKAGES],
    package_dir={"": "parser", **DATA_PACKAGES},
    package_data=PACKAGE_DATA,
    include_package_data=False,
)
