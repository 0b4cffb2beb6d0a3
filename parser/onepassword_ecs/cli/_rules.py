"""``onepassword-ecs rules``: list the pack (with its support matrix) and export it.

``rules list`` shows every rule: kind, level, whether it runs with this context (or
which empty list it waits for), what it uses (context lists, ``?`` when optional; the
``--indicators`` stage; the ``[thresholds]`` keys it takes) and, per export target,
whether it can be exported. ``rules list --json`` prints the same as one compact JSON
object (keys in ``detect.describe_rules``).
``rules export --target T [-o DIR]`` converts the pack for a SIEM: without ``-o``, one
JSON line per rule on standard output (``query`` or ``unsupported``); with ``-o DIR``,
the detect room's layout under ``DIR/<target>/`` (``detect.write_export``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

from .._errors import DetectionError, StageConfigError
from ._common import EXIT_OK, Streams
from ._detect import add_rule_options, context_from_args

__all__ = ["register"]

_SHORT = {
    "elasticsearch-lucene": "lucene",
    "elasticsearch-eql": "eql",
    "elasticsearch-esql": "esql",
    "kibana": "kibana",
    "opensearch-lucene": "os-lucene",
    "opensearch-monitor": "os-monitor",
    "splunk": "splunk",
    "sentinel": "sentinel",
    "panther": "panther",
    "spark": "spark",
}


def register(commands: Any) -> None:
    """Add the ``rules`` subcommand and its ``list`` and ``export`` actions."""
    rules = commands.add_parser(
        "rules", help="list or export the detection rules", description=__doc__.split("\n\n")[1]
    )
    actions = rules.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every rule, its state and its support matrix")
    listing.add_argument(
        "--json", action="store_true", help="one compact JSON object instead of the table"
    )
    add_rule_options(listing)
    listing.set_defaults(handler=run_list)
    export = actions.add_parser("export", help="convert the rules for a SIEM")
    export.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="T",
        help="elasticsearch, opensearch, all, or one of: " + ", ".join(_SHORT),
    )
    export.add_argument("-o", "--output", metavar="DIR", help="write files under DIR/<target>/")
    add_rule_options(export)
    export.set_defaults(handler=run_export)


_STAGE_OPTION = {"indicators": "--indicators"}


def _uses(rule: Any) -> str:
    """What a rule reads besides events: lists (``?`` optional), settings, stages, thresholds."""
    parts = [*rule.required_lists, *(f"{name}?" for name in rule.optional_lists)]
    parts += rule.settings
    parts += [_STAGE_OPTION.get(stage, stage) for stage in rule.stages]
    parts += [f"[{key}]" for key in rule.threshold_keys]
    return ", ".join(parts) or "-"


def run_list(args: argparse.Namespace, streams: Streams) -> int:
    from ..detect import TARGETS, describe_rules, load_rules

    try:
        context = context_from_args(args)
        rules = load_rules(args.rules)
    except (DetectionError, StageConfigError) as exc:
        return streams.fail(str(exc))
    described = describe_rules(rules, context)
    if args.json:
        streams.stdout.write(orjson.dumps(described) + b"\n")
        streams.stdout.flush()
        return EXIT_OK
    header = ["rule", "kind", "level", "state", "uses", *(_SHORT[t] for t in TARGETS)]
    rows = [header]
    for rule, entry in zip(rules, described["rules"], strict=True):
        waiting = entry["waits_for"]
        state = f"needs {', '.join(waiting)}" if waiting else "runs"
        marks = ["yes" if t in entry["exports"] else "-" for t in TARGETS]
        rows.append([rule.name, rule.kind, rule.level, state, _uses(rule), *marks])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    text = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
    text += (
        f"\n\n{described['count']} rules, {described['running']} run with this context"
        "\nuses: context lists (? = optional: empty, the part that reads it is left out), "
        "--indicators (fields only documents converted with it have), [keys] of "
        "[thresholds.<rule>]"
    )
    streams.stdout.write(text.encode() + b"\n")
    streams.stdout.flush()
    return EXIT_OK


def run_export(args: argparse.Namespace, streams: Streams) -> int:
    from ..detect import export_rule, load_rules, resolve_targets, write_export

    try:
        context = context_from_args(args)
        rules = load_rules(args.rules)
        targets = resolve_targets(args.target)
    except (DetectionError, StageConfigError) as exc:
        return streams.fail(str(exc))
    for target in targets:
        conversions = [export_rule(rule, target, context) for rule in rules]
        if args.output is None:
            for c in conversions:
                line: dict[str, str | None] = {"rule": c.rule, "target": c.target}
                line |= {"query": c.text} if c.text is not None else {"unsupported": c.unsupported}
                streams.stdout.write(orjson.dumps(line) + b"\n")
            continue
        try:
            listed = write_export(Path(args.output) / target, target, conversions)
        except OSError as exc:
            return streams.fail(f"{exc.filename}: {exc.strerror}")
        exported = sum(1 for c in conversions if c.text is not None)
        streams.say(
            f"{target}: {exported} rules exported, "
            f"{len(conversions) - exported} unsupported (see {listed})"
        )
    streams.stdout.flush()
    return EXIT_OK
