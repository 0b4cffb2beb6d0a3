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

    python scripts/build_ecs_table.py --check                     # offline: the table's pins
    python scripts/build_ecs_table.py --check --source ecs_flat.yml   # regenerate, compare
    python scripts/build_ecs_table.py --source ecs_flat.yml       # write the table

The source is not in this repository (1.2 MB of someone else's YAML). Get the pinned
file with::

    curl -fsSLo ecs_flat.yml \
      https://raw.githubusercontent.com/elastic/ecs/354fd8d0ca99faa15405d1ea1d3bb396724d3e5a/generated/ecs/ecs_flat.yml

``--check`` exits 0 when the committed table is right and 1 otherwise (printing what
is wrong). With ``--source`` it regenerates the table in memory from the pinned file
and compares the bytes. Without one (a fresh clone) it checks what can be checked
offline: the table's sha256 is ``TABLE_SHA256``, the digest of what this script
wrote from the pinned source, and the table claims ECS 9.4.0 from the pinned
commit and sha256, is in the canonical form this script writes, and uses only types
the validator and the template know. It says so, and how to run the full check.
The test suite runs the offline check.
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
# sha256 of the table this script writes from the pinned source: what lets --check
# prove the committed table byte for byte without the source. Regenerating from the
# pinned source (--check --source) verifies this pin too; update it with the table
# whenever this script's output changes on purpose.
TABLE_SHA256 = "bae95a2cc02198c7fe77a43228f0c5e83c12a5e81a88e4c05701a9e66c45e75b"

REPO_ROOT = Path(__file__).resolve().parent.parent
PINNED_URL = (
    f"https://raw.githubusercontent.com/elastic/ecs/{PINNED_COMMIT}/generated/ecs/ecs_flat.yml"
)
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


def offline_problems(text: str) -> list[str]:
    """What is wrong with a committed table, checked without its source.

    The pins (version, commit, sha256) say which ecs_flat.yml the table claims to come
    from; the canonical form and the known types say this script wrote it. Only a
    regeneration from the source proves the fields themselves.
    """
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"not valid JSON: {exc}"]
    if not isinstance(table, dict) or not isinstance(table.get("fields"), dict):
        return ["not a table: expected an object with 'fields'"]
    problems = [
        f"{key} is {table.get(key)!r}, the pin is {pinned!r}"
        for key, pinned in (
            ("ecs_version", ECS_VERSION),
            ("source_commit", PINNED_COMMIT),
            ("source_sha256", PINNED_SHA256),
        )
        if table.get(key) != pinned
    ]
    problems += [
        f"fields.{name}: unsupported type {spec.get('type')!r}"
        for name, spec in table["fields"].items()
        if not isinstance(spec, dict) or spec.get("type") not in KNOWN_TYPES
    ]
    if not problems and render(table) != text:
        problems.append("not in the canonical form this script writes (sorted, one field a line)")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest != TABLE_SHA256:
        problems.append(
            f"sha256 {digest} is not TABLE_SHA256 {TABLE_SHA256}: the table was changed "
            "without regenerating it from the pinned source (--check --source ecs_flat.yml)"
        )
    return problems


def _offline_check(output: Path) -> int:
    try:
        text = output.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot read {output}: {exc}", file=sys.stderr)
        return 1
    problems = offline_problems(text)
    if problems:
        print(f"{output} is not the pinned table:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(
        f"{output} is the table this script wrote from the pinned ECS {ECS_VERSION} "
        f"ecs_flat.yml (commit {PINNED_COMMIT[:8]}): its sha256 is TABLE_SHA256.\n"
        "Not regenerated: no --source given. For the full check, fetch the pinned file:\n"
        f"  curl -fsSLo ecs_flat.yml {PINNED_URL}\n"
        "  python scripts/build_ecs_table.py --check --source ecs_flat.yml"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        help=f"the pinned ecs_flat.yml ({PINNED_URL}); without it, --check checks the "
        "committed table offline",
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

    if args.source is None:
        if args.check:
            return _offline_check(args.output)
        print(
            "error: --source ecs_flat.yml is required to write the table; fetch the pinned "
            f"file with\n  curl -fsSLo ecs_flat.yml {PINNED_URL}",
            file=sys.stderr,
        )
        return 2
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
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if commit == PINNED_COMMIT and digest != TABLE_SHA256:
                print(
                    f"{args.output} is up to date, but TABLE_SHA256 in this script is stale: "
                    f"set it to {digest}",
                    file=sys.stderr,
                )
                return 1
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
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if commit == PINNED_COMMIT and digest != TABLE_SHA256:
        print(f"the table changed: set TABLE_SHA256 in {__file__} to {digest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
