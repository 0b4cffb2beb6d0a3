"""Investigations over the embedded store: timelines, profiles, access, anomalies.

The analyst's questions after an alert (what else did this person do, from where, is
that normal for them, who touched this vault) answered from the store alone:

* :func:`investigate_user`: a person's timeline and profile against their baseline;
* :func:`access_report`: who used or changed a vault, an item, or acted from an address;
* :func:`find_anomalies`: ranked outliers across everyone, with evidence;
* :func:`report_data` and :func:`render_report`: the self-contained HTML report;
* :func:`build_server`: the same questions as MCP tools for AI assistants;

each over an :class:`Investigation` (a read-only store) and a :class:`Window`. The
terminal tables, the HTML report and the MCP server are views of these results.
"""

from __future__ import annotations

from ._access import AccessReport, PersonAccess, access_report
from ._anomalies import Finding, find_anomalies
from ._events import EventView
from ._mcp import TOOL_NAMES, build_server, serve_stdio
from ._profile import UserReport, investigate_user
from ._queries import MAX_LIMIT, Investigation, Listing, Person
from ._render import render_access, render_anomalies, render_user, terminal_text
from ._report import ReportData, Section, render_report, report_data
from ._window import (
    DEFAULT_BASELINE,
    Window,
    format_ns,
    parse_duration,
    parse_time,
    resolve_window,
)

__all__ = [
    "DEFAULT_BASELINE",
    "MAX_LIMIT",
    "TOOL_NAMES",
    "AccessReport",
    "EventView",
    "Finding",
    "Investigation",
    "Listing",
    "Person",
    "PersonAccess",
    "ReportData",
    "Section",
    "UserReport",
    "Window",
    "access_report",
    "build_server",
    "find_anomalies",
    "format_ns",
    "investigate_user",
    "parse_duration",
    "parse_time",
    "render_access",
    "render_anomalies",
    "render_report",
    "render_user",
    "report_data",
    "resolve_window",
    "serve_stdio",
    "terminal_text",
]
