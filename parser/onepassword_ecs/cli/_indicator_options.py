"""``--indicators PATH``: threat feeds matched against every document.

Offered by ``convert`` and ``collect`` (through :mod:`._stage_options`, so it means the
same in both) and meant for ``detect``: a STIX 2.1 bundle, a MISP JSON export or a
``value,type,source`` CSV, or a folder of them; repeatable. Documents whose addresses,
emails or email domains match gain ECS ``threat.enrichments``, which the rule
``signin_from_known_bad_address`` reads.

The matcher runs after the lookups stage and before redaction: it must see the real
address to match it, and when a redaction stage follows it leaves the matched values
out of the enrichment (the redactor does not know those fields).

A malformed feed stops the command before any record is read (exit 2), naming the file
and the entry; a feed that changes while ``collect --follow`` runs is reloaded, and a
reload that fails keeps the indicators already loaded.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from typing import Any

from ..stages import IndicatorMatcher, Redactor
from ..stream import Stage

__all__ = ["add_indicator_option", "indicator_documents", "with_indicator_stage"]

HELP = (
    "threat indicators to match (STIX 2.1 bundle of ipv4/ipv6/domain/email indicators, "
    "MISP JSON export, or value,type,source CSV; a file or a folder; repeatable): matches "
    "fill threat.enrichments"
)


def add_indicator_option(parser: Any) -> None:
    """Add ``--indicators`` to a parser or an argument group."""
    parser.add_argument("--indicators", action="append", default=[], metavar="PATH", help=HELP)


def with_indicator_stage(args: argparse.Namespace, stages: list[Stage]) -> list[Stage]:
    """``stages`` with the matcher inserted before the first redaction stage, if asked.

    Raises StageConfigError (a malformed feed) before any record is read.
    """
    paths = getattr(args, "indicators", None)
    if not paths:
        return stages
    at = next((i for i, s in enumerate(stages) if isinstance(s, Redactor)), len(stages))
    matcher = IndicatorMatcher(paths, withhold=at < len(stages))
    return [*stages[:at], matcher, *stages[at:]]


def indicator_documents(
    args: argparse.Namespace, documents: Iterable[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """For ``detect``: the documents matched against ``--indicators`` (as they are if none).

    The feeds are loaded when this is called, not at the first document, so a malformed
    feed stops the command before it reads anything.
    """
    paths = getattr(args, "indicators", None)
    if not paths:
        return iter(documents)
    matcher = IndicatorMatcher(paths)
    return (matcher(document) for document in documents)
