"""Declarations of the fields we emit: vendor fields and the ECS fields in use.

Two tables in mappings/:

* ``onepassword_fields.toml`` declares each ``onepassword.*`` field with an
  Elasticsearch type and a one-line description. The validator type-checks
  those paths and the index template maps them, so the declarations, the
  checks and the mapping cannot drift apart.
* ``emitted_fields.toml`` lists the ECS fields the mappers can emit, so the
  template maps those (with their ECS types) rather than all of ECS.

Both are read once and checked with pydantic, so a typo fails at load time with
a ``MappingTableError`` naming the file and the entry instead of producing a
template or a verdict that is quietly wrong.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._errors import MappingTableError
from ._table import ecs_table

__all__ = [
    "EMITTED_FILE",
    "FIELDS_FILE",
    "VENDOR_ROOT",
    "VendorField",
    "emitted_fields",
    "parse_emitted_fields",
    "parse_vendor_fields",
    "vendor_fields",
]

FIELDS_FILE = "onepassword_fields.toml"
EMITTED_FILE = "emitted_fields.toml"
VENDOR_ROOT = "onepassword"

# Vendor names are usable as identifiers in Painless, Python and query languages
# (see ecs-conventions.md §9): lower case, digits and underscores, no leading digit.
_VENDOR_NAME = re.compile(r"onepassword(?:\.[a-z][a-z0-9_]*)+")

VendorType = Literal["keyword", "long", "float", "date", "boolean", "flattened", "object"]


class VendorField(BaseModel):
    """One ``[fields."onepassword.x"]`` entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: VendorType
    # One line that says something: the description ends up in docs and reviews.
    description: str = Field(pattern=r"^[^\n]*\S[^\n]*$")


class _VendorFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, VendorField]


class _EmittedFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[str]


def _load_toml(text: str, filename: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingTableError(f"mappings/{filename}: not valid TOML: {exc}") from exc


def _pydantic_problems(exc: ValidationError) -> str:
    # loc is e.g. ('fields', 'onepassword.aux_id', 'type'): the entry and the key.
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )


def parse_vendor_fields(text: str, filename: str = FIELDS_FILE) -> dict[str, VendorField]:
    """Parse and check the text of ``onepassword_fields.toml``.

    Besides the per-entry shape, checks that every name lives under
    ``onepassword.`` with identifier-safe segments, and that a field that is the
    parent of other declared fields is an ``object`` (Elasticsearch cannot map
    ``a.b`` as a keyword and also ``a.b.c`` beneath it).
    """
    try:
        parsed = _VendorFile.model_validate(_load_toml(text, filename))
    except ValidationError as exc:
        raise MappingTableError(f"mappings/{filename}: {_pydantic_problems(exc)}") from exc
    for name in parsed.fields:
        if not _VENDOR_NAME.fullmatch(name):
            raise MappingTableError(
                f"mappings/{filename}: fields.{name!r}: names must be onepassword.<segment>..., "
                "each segment lower case letters, digits or _ and starting with a letter"
            )
    for name, spec in parsed.fields.items():
        children = [other for other in parsed.fields if other.startswith(name + ".")]
        if children and spec.type != "object":
            raise MappingTableError(
                f"mappings/{filename}: fields.{name!r}: declared as {spec.type} but "
                f"{children[0]!r} is declared beneath it; a parent must be an object"
            )
    return parsed.fields


def parse_emitted_fields(text: str, filename: str = EMITTED_FILE) -> tuple[str, ...]:
    """Parse and check the text of ``emitted_fields.toml``: unique ECS 9.4.0 field names."""
    try:
        parsed = _EmittedFile.model_validate(_load_toml(text, filename))
    except ValidationError as exc:
        raise MappingTableError(f"mappings/{filename}: {_pydantic_problems(exc)}") from exc
    known = ecs_table().fields
    seen: set[str] = set()
    for name in parsed.fields:
        if name in seen:
            raise MappingTableError(f"mappings/{filename}: fields: {name!r} is listed twice")
        seen.add(name)
        if name not in known:
            where = (
                f"declare it in {FIELDS_FILE} instead"
                if name.split(".")[0] == VENDOR_ROOT
                else f"ECS {ecs_table().ecs_version} has no such field"
            )
            raise MappingTableError(f"mappings/{filename}: fields: {name!r}: {where}")
    return tuple(parsed.fields)


def _read(filename: str) -> str:
    source = resources.files("onepassword_ecs.mappings").joinpath(filename)
    try:
        return source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingTableError(f"mappings/{filename}: cannot read: {exc}") from exc


@functools.cache
def vendor_fields() -> Mapping[str, VendorField]:
    """The declared ``onepassword.*`` fields, by dotted name (read once, read-only)."""
    return MappingProxyType(parse_vendor_fields(_read(FIELDS_FILE)))


@functools.cache
def emitted_fields() -> tuple[str, ...]:
    """The ECS fields the mappers can emit, in the table's order (read once)."""
    return parse_emitted_fields(_read(EMITTED_FILE))
