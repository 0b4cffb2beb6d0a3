"""Package layout for setuptools: what is discovered, and what data ships with it.

Everything else about the project is in ``pyproject.toml``. This file exists because
the layout has three source roots — the code in ``parser/``, the mapping tables in
``mappings/`` and the rule pack in ``rules/`` — and the two data folders must ship
inside the package. Code packages are *discovered* (``find_packages``), never listed,
so a new room cannot be left out of the wheel; the data packages and their files are
declared here once. ``tests/test_wheel.py`` builds the wheel and compares its file list
with the source tree, so a data file these globs miss fails the suite.

The native mapper (``mapping/_cnative.c``, see ``mapping/_native.py``) is an
*optional* extension: built when a C compiler is present, skipped with a warning when
not, so ``pip install`` always succeeds and the package then takes the pure path.
``ONEPASSWORD_ECS_BUILD_PURE=1`` skips it on purpose (the wheel test's no-compiler
install); ``ONEPASSWORD_ECS_CFLAGS`` adds compiler flags (the sanitizer build).
"""

import os
import shlex

from setuptools import Extension, find_packages, setup

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


def _extensions() -> list[Extension]:
    if os.environ.get("ONEPASSWORD_ECS_BUILD_PURE", "").strip() not in ("", "0"):
        return []
    flags = shlex.split(os.environ.get("ONEPASSWORD_ECS_CFLAGS", ""))
    return [
        Extension(
            "onepassword_ecs.mapping._cnative",
            sources=["parser/onepassword_ecs/mapping/_cnative.c"],
            extra_compile_args=["-O2", "-std=c11", *flags],
            extra_link_args=[flag for flag in flags if flag.startswith("-fsanitize")],
            optional=True,
        )
    ]


setup(
    ext_modules=_extensions(),
    packages=[*find_packages("parser", include=["onepassword_ecs*"]), *DATA_PACKAGES],
    package_dir={"": "parser", **DATA_PACKAGES},
    package_data=PACKAGE_DATA,
    include_package_data=False,
)
