"""``--namespace`` / ``--no-data-stream``: the data stream the documents name.

By default every document ``convert`` writes carries ``data_stream.type``, ``.dataset``
and ``.namespace`` for the namespace ``default``, so that loading the output into
Elasticsearch is one ``_bulk`` request per batch, each document routed by its own
fields to ``logs-1password_ecs.<dataset>-default`` (the README's five-minute section).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..ecs import DEFAULT_NAMESPACE, TEMPLATE_PATTERN, namespace_problem
from ..mapping import DataStreamStage
from ..stream import Stage

__all__ = ["add_data_stream_options", "data_stream_stages"]


def _namespace(value: str) -> str:
    problem = namespace_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value


def add_data_stream_options(parser: Any) -> None:
    """Add ``--namespace`` and ``--no-data-stream`` to a subcommand's parser."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--namespace",
        type=_namespace,
        default=DEFAULT_NAMESPACE,
        metavar="NS",
        help="data stream namespace written in data_stream.namespace; documents name the "
        f"stream logs-1password_ecs.<dataset>-NS, which the template ({TEMPLATE_PATTERN}) "
        f"types (default: {DEFAULT_NAMESPACE})",
    )
    group.add_argument(
        "--no-data-stream",
        action="store_true",
        help="leave data_stream.* out of the documents",
    )


def data_stream_stages(args: argparse.Namespace) -> list[Stage]:
    """The stage that adds ``data_stream.*``, unless ``--no-data-stream`` was given."""
    return [] if args.no_data_stream else [DataStreamStage(args.namespace)]
