"""``onepassword-ecs template``: the index template for Elasticsearch or OpenSearch."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from ..ecs import FLAVORS, LOGS_COMPONENTS, TEMPLATE_NAME, TEMPLATE_PATTERN
from ._common import EXIT_OK, Streams

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``template`` subcommand to the parser's subcommands."""
    template = commands.add_parser(
        "template",
        help="print an index template for the ECS documents",
        description="Print an Elasticsearch or OpenSearch index template as JSON.",
    )
    template.add_argument(
        "--name",
        help=f"template name, recorded in _meta (default: {TEMPLATE_NAME})",
    )
    template.add_argument(
        "--pattern",
        help="index pattern the template applies to; it must match the data streams the "
        f"documents name (default: {TEMPLATE_PATTERN})",
    )
    template.add_argument(
        "--flavor",
        choices=FLAVORS,
        default="elasticsearch",
        help="target search engine (default: elasticsearch)",
    )
    template.add_argument(
        "--no-logs-components",
        dest="logs_components",
        action="store_false",
        help=f"do not compose {' and '.join(LOGS_COMPONENTS)} (Elasticsearch before 8.11 "
        "lacks them; never composed for OpenSearch)",
    )
    template.set_defaults(handler=run)


def run(args: argparse.Namespace, streams: Streams) -> int:
    from ..ecs import index_template

    # Options left out keep index_template's own defaults, defined in one place.
    options = {
        "name": args.name,
        "pattern": args.pattern,
        "flavor": args.flavor,
        "logs_components": args.logs_components,
    }
    try:
        document = index_template(**{k: v for k, v in options.items() if v is not None})
    except ValueError as exc:
        return streams.fail(str(exc))
    streams.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    streams.stdout.flush()
    return EXIT_OK
