"""``onepassword-ecs rules``: list the pack (with its support matrix) and export it.

``rules list`` shows every rule: kind, level, whether it runs with this context (or
which empty list it waits for) and, per export target, whether it can be exported.
``rules export --target T [-o DIR]`` converts the pack for a SIEM: without ``-o``, one
JSON line per rule on standard output (``query`` or ``unsupported``); with ``-o DIR``,
``DIR/<target>/<rule>.<ext>`` (one ``rules.ndjson`` for Kibana) and
``DIR/<target>/unsupported.txt``.
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


def run_list(args: argparse.Namespace, streams: Streams) -> int:
    from ..detect import TARGETS, export_rule, load_rules

    try:
        context = context_from_args(args)
        rules = load_rules(args.rules)
    except (DetectionError, StageConfigError) as exc:
        return streams.fail(str(exc))
    header = ["rule", "kind", "level", "state", *(_SHORT[t] for t in TARGETS)]
    rows = [header]
    for rule in rules:
        waiting = rule.waits_for(context)
        state = f"needs {', '.join(waiting)}" if waiting else "runs"
        marks = ["yes" if export_rule(rule, t, context).text else "-" for t in TARGETS]
        rows.append([rule.name, rule.kind, rule.level, state, *marks])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    text = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
    running = sum(1 for rule in rules if not rule.waits_for(context))
    text += f"\n\n{len(rules)} rules, {running} run with this context"
    streams.stdout.write(text.encode() + b"\n")
    streams.stdout.flush()
    return EXIT_OK


def run_export(args: argparse.Namespace, streams: Streams) -> int:
    from ..detect import TARGETS, export_rule, load_rules, resolve_targets

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
        folder = Path(args.output) / target
        try:
            folder.mkdir(parents=True, exist_ok=True)
            spec = TARGETS[target]
            supported = [c for c in conversions if c.text is not None]
            if spec.bundle:
                (folder / f"rules.{spec.extension}").write_text(
                    "".join(c.text + "\n" for c in supported if c.text), encoding="utf-8"
                )
            else:
                for c in supported:
                    (folder / f"{c.rule}.{spec.extension}").write_text(
                        f"{c.text}\n", encoding="utf-8"
                    )
            (folder / "unsupported.txt").write_text(
                "".join(f"{c.rule}: {c.unsupported}\n" for c in conversions if c.text is None),
                encoding="utf-8",
            )
        except OSError as exc:
            return streams.fail(f"{exc.filename}: {exc.strerror}")
        streams.say(
            f"{target}: {len(supported)} rules exported, "
            f"{len(conversions) - len(supported)} unsupported (see {folder / 'unsupported.txt'})"
        )
    streams.stdout.flush()
    return EXIT_OK
