"""Terminal output: rich tables on a terminal, plain aligned columns when piped.

Why rich: aligned, wrapped, colored tables without hand-counting widths, and one switch
(``terminal=False``) that turns the same tables into plain text (no colors, no box
drawing, a fixed wide page) for ``| less``, ``> file`` and tests. Machines should use
``--json`` instead of either.

**Nothing in the store reaches the terminal raw.** Names, client app and OS names come
from whoever acted or attempted a sign-in: an ESC sequence in one could clear the
screen or retitle the window, a newline could fake a table row, U+202E could make a line
read backwards. :func:`terminal_text` writes every character that is not printable
(controls, line and paragraph separators, bidi marks, embeddings, overrides and
isolates, other format characters) as a visible ``\\uXXXX`` escape; every string a
renderer prints passes through it (headings, lines, table titles and cells), on a
terminal and in plain text alike.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ._access import AccessReport
from ._anomalies import Finding
from ._events import EventView
from ._profile import FACETS, UserReport
from ._window import Window

__all__ = ["render_access", "render_anomalies", "render_user", "terminal_text"]

_PLAIN_WIDTH = 200
_FLAG_STYLE = "bold red"


def _escaped(character: str) -> str:
    code = ord(character)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def terminal_text(value: object) -> str:
    """``value`` as text safe to print on a terminal: what is not printable, escaped.

    Printable means :meth:`str.isprintable` (the plain space included): so C0 and C1
    controls (ESC, newline, tab, DEL), U+2028/U+2029, the bidi marks and overrides
    (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, U+061C) and every other format or
    unassigned character become ``\\uXXXX``, which reads as what it is.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text  # the overwhelming case, checked at C speed
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


class _Page:
    """A console writing into a string, styled or plain."""

    def __init__(self, terminal: bool, width: int | None) -> None:
        self.terminal = terminal
        self.buffer = io.StringIO()
        self.console = Console(
            file=self.buffer,
            force_terminal=terminal,
            color_system="auto" if terminal else None,
            width=width or (None if terminal else _PLAIN_WIDTH),
            highlight=False,
            emoji=False,
            soft_wrap=not terminal,
        )

    def heading(self, text: str) -> None:
        self.console.print(Text(terminal_text(text), style="bold" if self.terminal else ""))

    def line(self, text: str, style: str = "") -> None:
        self.console.print(Text(terminal_text(text), style=style if self.terminal else ""))

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        table = Table(
            title=Text(terminal_text(title)),
            title_justify="left",
            box=box.SIMPLE_HEAVY if self.terminal else None,
            show_edge=self.terminal,
            header_style="bold" if self.terminal else "",
            title_style="bold" if self.terminal else "",
            pad_edge=False,
        )
        for column in columns:
            table.add_column(terminal_text(column), overflow="fold")
        count = 0
        for row in rows:
            table.add_row(*[_cell(value, self.terminal) for value in row])
            count += 1
        if count:
            self.console.print(table)
        else:
            self.line(f"{title}: none")  # escaped by line()
        self.console.print()

    def text(self) -> str:
        return self.buffer.getvalue()


def _cell(value: Any, terminal: bool) -> Text:
    if isinstance(value, Text):
        plain = value.plain
        safe = terminal_text(plain)
        if terminal and safe == plain:
            return value  # keeps its style
        return Text(safe, style=value.style if terminal else "")
    return Text("" if value is None else terminal_text(value))


def _flags(event: EventView, terminal: bool) -> Text:
    return Text("; ".join(event.flags), style=_FLAG_STYLE if terminal and event.flags else "")


def _window_line(window: Window, baseline: bool = True) -> str:
    text = f"window {window.as_dict()['since']} → {window.as_dict()['until']}"
    if baseline:
        text += f", baseline from {window.as_dict()['baseline_since']}"
    return text


def _event_rows(events: Iterable[EventView], terminal: bool) -> Iterable[list[Any]]:
    for e in events:
        yield [
            e.time[:19].replace("T", " "),
            e.kind,
            e.action,
            e.outcome,
            e.user,
            e.target if e.target != e.user else "(self)" if e.target else "",
            e.ip,
            e.country,
            e.app,
            e.vault,
            _flags(e, terminal),
        ]


_EVENT_COLUMNS = (
    "time (UTC)",
    "kind",
    "action",
    "outcome",
    "actor",
    "affected",
    "address",
    "country",
    "app",
    "vault",
    "marks",
)


def render_user(report: UserReport, *, terminal: bool, width: int | None = None) -> str:
    page = _Page(terminal, width)
    person = report.person
    page.heading(f"{person.name or person.label} <{person.email or '-'}> ({', '.join(person.ids)})")
    page.line(_window_line(report.window) + f"; hours in {report.zone}")
    page.line(
        f"{report.current.events} events in the window, {report.baseline.events} in the baseline"
    )
    page.console.print()
    for highlight in report.highlights:
        page.line(f"! {highlight}", _FLAG_STYLE)
    if report.highlights:
        page.console.print()
    for facet in FACETS:
        rows = report.facet_rows(facet)
        page.table(
            f"{facet}",
            ("value", "window", "baseline", ""),
            (
                [
                    r["value"],
                    r["window"],
                    r["baseline"],
                    Text("NEW", style=_FLAG_STYLE) if r["new"] else "",
                ]
                for r in rows
            ),
        )
    timeline = report.timeline
    title = f"timeline ({timeline.total} events"
    title += f", newest {len(timeline.events)} shown)" if timeline.truncated else ")"
    page.table(title, _EVENT_COLUMNS, _event_rows(timeline.events, terminal))
    if report.alerts:
        page.table("alerts", ("alert",), ([str(alert)[:300]] for alert in report.alerts))
    return page.text()


def render_access(report: AccessReport, *, terminal: bool, width: int | None = None) -> str:
    page = _Page(terminal, width)
    page.heading(f"{report.subject_kind} {report.subject}")
    page.line(_window_line(report.window, baseline=False))
    page.line(
        f"{report.timeline.total} events by {len(report.people)} people; "
        f"{report.notable_total} notable"
    )
    page.console.print()
    page.table(
        "people",
        ("person", "events", "notable", "actions", "countries", "first", "last"),
        (
            [
                p.user,
                p.events,
                p.notable,
                ", ".join(f"{a} {n}" for a, n in p.actions.most_common(6)),
                ", ".join(p.countries),
                _short(p.first_ns),
                _short(p.last_ns),
            ]
            for p in report.people
        ),
    )
    page.table("notable events", _EVENT_COLUMNS, _event_rows(report.notable, terminal))
    timeline = report.timeline
    title = f"events ({timeline.total}"
    title += f", newest {len(timeline.events)} shown)" if timeline.truncated else ")"
    page.table(title, _EVENT_COLUMNS, _event_rows(timeline.events, terminal))
    return page.text()


def render_anomalies(
    findings: list[Finding], window: Window, *, terminal: bool, width: int | None = None
) -> str:
    page = _Page(terminal, width)
    page.heading(f"{len(findings)} findings, highest score first")
    page.line(_window_line(window))
    page.console.print()
    page.table(
        "anomalies",
        ("#", "score", "kind", "who", "what"),
        ([n, f.score, f.kind, f.label, f.summary] for n, f in enumerate(findings, 1)),
    )
    for n, finding in enumerate(findings, 1):
        page.table(
            f"#{n} {finding.kind} {finding.label}: evidence",
            _EVENT_COLUMNS,
            _event_rows(finding.events, terminal),
        )
    return page.text()


def _short(ns: int) -> str:
    from ._window import format_ns

    return format_ns(ns)[:16].replace("T", " ")
