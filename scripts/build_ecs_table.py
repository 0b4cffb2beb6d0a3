#!/usr/bin/env python3
"""Build ``parser/onepassword_ecs/ecs/_ecs_fields.json`` from the pinned ECS flat file.

Why this exists: the validator and the index template need to know, for every
ECS field, its Elasticsearch type and a few mapping facts. The authoritative
source is ECS's generated ``ecs_flat.yml`` (1.2 MB of YAML, mostly prose). The
package must not depend on that file or on PyYAML at run time, so this script
distils it once into a small JSON table that is committed with the package.

Pinned source (the only input this script accepts without ``--allow-other``):

* ECS version: 9.4.0 (elastic/ecs tag ``v9.4.0``)
* commit:      354fd8d0ca99faa15405d1ea1d3bb396724d3e5a
* file:        ``generated/ecs/ecs_flat.yml``
* sha256:      f2c78b7c68503d42f5713ebea63fbfafbbeb7056f0d3ec7208c9cc2202ba7d8f

The sha256 check is what makes "ECS 9.4.0" in the generated table true: a
different file would silently change types under the validator, so a mismatch
is an error unless ``--allow-other`` is given (then the table records the real
hash and ``"source_commit": "unknown"``, and a warning says so).

What the table keeps per field (defaults are omitted to keep the file small):
``type``; ``array`` (true when ECS ``normalize`` contains ``array``);
``allowed`` (the ``allowed_values`` names, e.g. for event.kind/category/type/
outcome); ``ignore_above``; ``index``/``doc_values`` (only when false);
``multi_fields`` (name and type); ``object_type``; ``scaling_factor``;
``required``. Top level: ``ecs_version``, ``source_commit``, ``source_sha256``
and ``expected_event_types`` (event.category value -> expected event.type values).
Descriptions, examples and OTel notes are dropped.

Output format: valid JSON with sorted keys, one field per line, so that a
regeneration shows up in ``git diff`` as the fields that changed.

Usage (from the repository root; needs the dev extra for PyYAML)::

    python scripts/build_ecs_table.py                 # write the table
    python scripts/build_ecs_table.py --check         # regenerate in memory, compare
    python scripts/build_ecs_table.py --source PATH   # another copy of ecs_flat.yml

``--check`` exits 0 when the committed table is exactly what the pinned source
produces and 1 otherwise (printing the first differing lines); run it after
touching this script or the table. The test suite does not run it, because the
tests must not need ``../shared``.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ECS_VERSION = "9.4.0"
PINNED_COMMIT = "354fd8d0ca99faa15405d1ea1d3bb396724d3e5a"
PINNED_SHA256 = "f2c78b7c68503d42f5713ebea63fbfafbbeb7056f0d3ec7208c9cc2202ba7d8f"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "ecs" / "ecs_flat.yml"
OUTPUT = REPO_ROOT / "parser" / "onepassword_ecs" / "ecs" / "_ecs_fields.json"

# Elasticsearch field types the validator and the template know how to handle.
# A new type in a future ECS must be taught to both before the table can be built.
KNOWN_TYPES = frozenset(
    {
        "boolean",
        "constant_keyword",
        "date",
        "double",
        "flattened",
        "float",
        "geo_point",
        "integer",
        "ip",
        "keyword",
        "long",
        "match_only_text",
        "nested",
        "object",
        "scaled_float",
        "wildcard",
    }
)


class BuildError(Exception):
    """The source file is not what this script can turn into a table."""


def _field_entry(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Keep only what validation and mapping need from one ecs_flat.yml entry."""
    if not isinstance(spec, dict):
        raise BuildError(f"{name}: expected a field definition, got {type(spec).__name__}")
    ftype = spec.get("type")
    if ftype not in KNOWN_TYPES:
        raise BuildError(f"{name}: unsupported type {ftype!r}")
    entry: dict[str, Any] = {"type": ftype}
    if "array" in (spec.get("normalize") or []):
        entry["array"] = True
    if "allowed_values" in spec:
        entry["allowed"] = [value["name"] for value in spec["allowed_values"]]
    if "ignore_above" in spec:
        entry["ignore_above"] = int(spec["ignore_above"])
    # index/doc_values are only ever set to false in ECS; true is the default.
    for flag in ("index", "doc_values"):
        if spec.get(flag) is False:
            entry[flag] = False
    if "multi_fields" in spec:
        entry["multi_fields"] = [
            {"name": multi["name"], "type": multi["type"]} for multi in spec["multi_fields"]
        ]
    if "object_type" in spec:
        entry["object_type"] = spec["object_type"]
    if "scaling_factor" in spec:
        entry["scaling_factor"] = spec["scaling_factor"]
    if spec.get("required") is True:
        entry["required"] = True
    return entry


def build_table(source_bytes: bytes, sha256: str, commit: str) -> dict[str, Any]:
    """Turn the bytes of ecs_flat.yml into the table (as a plain dict)."""
    try:
        flat = yaml.load(source_bytes, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise BuildError(f"not valid YAML: {exc}") from exc
    if not isinstance(flat, dict) or not flat:
        raise BuildError("expected a mapping of flat field names at the top level")
    fields = {name: _field_entry(name, spec) for name, spec in flat.items()}
    categories = flat.get("event.category", {}).get("allowed_values")
    if not categories:
        raise BuildError("event.category has no allowed_values: not an ECS flat file?")
    expected = {
        value["name"]: list(value.get("expected_event_types") or []) for value in categories
    }
    return {
        "ecs_version": ECS_VERSION,
        "expected_event_types": expected,
        "fields": fields,
        "source_commit": commit,
        "source_sha256": sha256,
    }


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def render(table: dict[str, Any]) -> str:
    """Serialize deterministically: sorted keys everywhere, one field per line."""
    lines = ["{"]
    keys = sorted(table)
    for position, key in enumerate(keys):
        comma = "," if position < len(keys) - 1 else ""
        if key == "fields":
            lines.append(f"{_compact(key)}:{{")
            names = sorted(table[key])
            for index, name in enumerate(names):
                inner = "," if index < len(names) - 1 else ""
                lines.append(f"{_compact(name)}:{_compact(table[key][name])}{inner}")
            lines.append("}" + comma)
        else:
            lines.append(f"{_compact(key)}:{_compact(table[key])}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, default=DEFAULT_SOURCE, help=f"default: {DEFAULT_SOURCE}"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    parser.add_argument(
        "--allow-other",
        action="store_true",
        help="accept a source whose sha256 is not the pinned ECS 9.4.0 file (loud warning)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the output differs from what the source produces",
    )
    args = parser.parse_args(argv)

    try:
        source_bytes = args.source.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.source}: {exc}", file=sys.stderr)
        return 2
    sha256 = hashlib.sha256(source_bytes).hexdigest()
    commit = PINNED_COMMIT
    if sha256 != PINNED_SHA256:
        banner = (
            f"{args.source} has sha256 {sha256}\n"
            f"  but the pinned ECS {ECS_VERSION} ecs_flat.yml (commit {PINNED_COMMIT})\n"
            f"  has sha256 {PINNED_SHA256}."
        )
        if not args.allow_other:
            print(
                f"ERROR: {banner}\nRefusing to build; pass --allow-other to override.",
                file=sys.stderr,
            )
            return 1
        print(
            f"WARNING: {banner}\nBuilding anyway (--allow-other): the table will record this "
            "sha256 and source_commit 'unknown', and still claim ECS "
            f"{ECS_VERSION}. Do not commit it unless that is what you mean.",
            file=sys.stderr,
        )
        commit = "unknown"

    try:
        table = build_table(source_bytes, sha256, commit)
    except BuildError as exc:
        print(f"error: {args.source}: {exc}", file=sys.stderr)
        return 1
    text = render(table)

    if args.check:
        try:
            current = args.output.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {args.output}: {exc}", file=sys.stderr)
            return 1
        if current == text:
            print(f"{args.output} is up to date ({len(text)} bytes).")
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), "committed", "regenerated", lineterm="", n=0
        )
        shown = [line for _, line in zip(range(40), diff, strict=False)]
        print(f"{args.output} is out of date:", *shown, sep="\n", file=sys.stderr)
        return 1

    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(table['fields'])} fields, {len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
