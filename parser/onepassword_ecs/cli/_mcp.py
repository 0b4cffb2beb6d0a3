"""``onepassword-ecs mcp``: serve the investigations as MCP tools over stdio."""

from __future__ import annotations

import argparse
from typing import Any

from .._errors import InvestigationError
from ._common import EXIT_OK, Streams
from ._files import STDOUT, clashing_files
from ._investigate import add_store_options, time_zone

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``mcp`` subcommand."""
    server = commands.add_parser(
        "mcp",
        help="serve read-only investigation tools to AI assistants (MCP over stdio)",
        description="An MCP server on standard input and output whose tools (search events, "
        "user timeline and profile, vault access, anomalies, alerts, report summary) read "
        "the store read-only. Start it from an assistant's MCP configuration.",
    )
    add_store_options(server, window=False)
    server.set_defaults(handler=run)


def run(args: argparse.Namespace, streams: Streams) -> int:
    from ..investigate import Investigation, build_server, serve_stdio, terminal_text

    # JSON-RPC replies go to standard output: never into the store or the context file.
    problem = clashing_files(
        reads=[("the store", args.store), ("the context file", args.context)],
        writes=[("standard output", STDOUT)],
        stdout=streams.stdout,
    )
    if problem:
        return streams.fail(problem)
    try:
        zone, zone_name = time_zone(args)
        Investigation.open(args.store).close()  # refuse a missing or foreign file now
        server = build_server(args.store, zone=zone, zone_name=zone_name)
    except InvestigationError as exc:
        # Names from the store may be quoted (a person matching several): escaped.
        return streams.fail(terminal_text(str(exc)))
    serve_stdio(server)
    return EXIT_OK
