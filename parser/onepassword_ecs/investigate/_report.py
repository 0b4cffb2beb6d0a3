"""The visual report: one self-contained HTML file of charts, each with its table.

What a person would rather look at than read: sign-ins over time by outcome, failures
by person and by address, sign-in countries, item usage by action and by vault, admin
changes over time, alerts by rule and severity, and the anomaly list. The figures are
computed by :func:`report_data` (also the MCP tool "report summary"), then drawn by
:func:`render_report`.

Self-contained means: no script, no external stylesheet, font or image. The charts are
inline SVG (see ``_charts.py``), the style is one inline ``<style>``, and a Content
Security Policy of ``default-src 'none'`` tells the browser to fetch nothing at all, so
the file renders offline and is safe to attach to a ticket. Every chart is followed by
its table, so the numbers are there for screen readers, copy-paste and browsers that do
not draw SVG.

Scope: the whole store in the window, or one person (``person``: their events as actor
or affected user), or one vault (``vault``: the vault's item usages and admin changes,
and the sign-ins of the people who touched it).
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from ._anomalies import find_anomalies
from ._charts import OUTCOME_COLORS, bar_chart
from ._queries import Investigation, Person
from ._window import NS_PER_SECOND, Window

__all__ = ["ReportData", "Section", "render_report", "report_data"]

_DAY_NS = 86400 * NS_PER_SECOND
_TOP = 10
_SIGNIN = "1password.signin_attempts"
_ITEM = "1password.item_usages"
_AUDIT = "1password.audit_events"
_VAULT = "json_extract(CAST(document AS TEXT), '$.onepassword.vault_uuid')"


@dataclass
class Chart:
    labels: list[str]
    series: dict[str, list[float]]
    horizontal: bool = False
    stacked: bool = True
    colors: dict[str, str] | None = None


@dataclass
class Section:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: Chart | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "note": self.note,
        }


@dataclass
class ReportData:
    scope: str
    window: Window
    totals: dict[str, int]
    sections: list[Section] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "window": self.window.as_dict(),
            "totals": self.totals,
            "sections": [section.as_dict() for section in self.sections],
        }


class _Scope:
    """SQL conditions selecting the report's events, per dataset family."""

    def __init__(self, investigation: Investigation, window: Window) -> None:
        self.db = investigation.connection
        self.investigation = investigation
        self.window = window
        self.people: list[str] | None = None  # None: everyone
        self.vault: str | None = None

    def where(self, dataset: str) -> tuple[str, list[Any]]:
        clauses = ["ts_ns >= ?", "ts_ns < ?", "dataset = ?"]
        params: list[Any] = [self.window.since, self.window.until, dataset]
        if self.vault is not None and dataset != _SIGNIN:
            clauses.append("instr(document, CAST(? AS BLOB)) > 0")
            params.append(self.vault.encode())
            clauses.append(
                f"({_VAULT} = ? OR json_extract(CAST(document AS TEXT), "
                "'$.onepassword.object_uuid') = ?)"
            )
            params += [self.vault, self.vault]
        elif self.people is not None:
            marks = ", ".join("?" for _ in self.people) or "NULL"
            clauses.append(f"(user_id IN ({marks}) OR target_user_id IN ({marks}))")
            params += [*self.people, *self.people]
        return " AND ".join(clauses), params

    def query(self, sql: str, dataset: str) -> list[tuple[Any, ...]]:
        condition, params = self.where(dataset)
        return self.db.execute(sql.replace("{where}", condition), params).fetchall()


def _days(window: Window) -> list[int]:
    first = window.since // _DAY_NS
    last = (window.until - 1) // _DAY_NS
    return list(range(first, last + 1))


def _day_label(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%m-%d")


def _over_time(
    scope: _Scope, dataset: str, column: str, top: int
) -> tuple[list[str], dict[str, list[float]], list[list[Any]]]:
    rows = scope.query(
        f"SELECT ts_ns / {_DAY_NS} AS day, coalesce({column}, 'unknown'), count(*) "
        "FROM events WHERE {where} GROUP BY 1, 2",
        dataset,
    )
    totals = Counter[str]()
    for _, key, count in rows:
        totals[key] += count
    keep = [key for key, _ in totals.most_common(top)]
    days = _days(scope.window)
    index = {day: i for i, day in enumerate(days)}
    series: dict[str, list[float]] = {key: [0.0] * len(days) for key in keep}
    if len(totals) > top:
        series["other"] = [0.0] * len(days)
    for day, key, count in rows:
        if day in index:
            series[key if key in keep else "other"][index[day]] += count
    names = list(series)
    table = [
        [
            datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d"),
            *[int(series[name][i]) for name in names],
        ]
        for i, day in enumerate(days)
        if any(series[name][i] for name in names)
    ]
    return [_day_label(d) for d in days], series, table


def _top(scope: _Scope, dataset: str, column: str, condition: str = "1") -> list[list[Any]]:
    rows = scope.query(
        f"SELECT {column} AS value, count(*) FROM events WHERE {{where}} AND {condition} "
        f"AND value IS NOT NULL GROUP BY value ORDER BY 2 DESC, 1 LIMIT {_TOP}",
        dataset,
    )
    return [[value, count] for value, count in rows]


def _ranked(title: str, key: str, label: str, rows: list[list[Any]]) -> Section:
    chart = Chart([str(r[0]) for r in rows], {"events": [r[1] for r in rows]}, horizontal=True)
    return Section(key, title, [label, "events"], rows, chart if rows else None)


def report_data(
    investigation: Investigation,
    window: Window,
    *,
    zone: tzinfo = UTC,
    person: Person | None = None,
    vault: str | None = None,
    anomalies: int = 20,
) -> ReportData:
    """Every section's figures for the scope (see the module docstring)."""
    scope = _Scope(investigation, window)
    label = "all activity"
    if person is not None:
        scope.people = person.ids
        label = f"person {person.label}"
    if vault is not None:
        scope.vault = vault.strip().lower()
        label = f"vault {scope.vault}"
    totals = {
        name: scope.query("SELECT count(*) FROM events WHERE {where}", dataset)[0][0]
        for name, dataset in (
            ("sign-ins", _SIGNIN),
            ("item usages", _ITEM),
            ("admin changes", _AUDIT),
        )
    }
    if vault is not None:
        touched = scope.query("SELECT DISTINCT user_id FROM events WHERE {where}", _ITEM)
        touched += scope.query("SELECT DISTINCT user_id FROM events WHERE {where}", _AUDIT)
        scope.people = sorted({row[0] for row in touched if row[0]})
        totals["sign-ins"] = scope.query("SELECT count(*) FROM events WHERE {where}", _SIGNIN)[0][0]
    data = ReportData(label, window, totals)
    sections = data.sections

    labels, series, table = _over_time(scope, _SIGNIN, "outcome", 3)
    sections.append(
        Section(
            "signins_over_time",
            "Sign-ins per day by outcome (UTC days)",
            ["day", *series],
            table,
            Chart(labels, series, colors=OUTCOME_COLORS) if table else None,
            "" if vault is None else "sign-ins of the people who used or changed the vault",
        )
    )
    failed = "outcome = 'failure'"
    sections.append(
        _ranked(
            "Failed sign-ins by person",
            "failures_by_user",
            "person",
            _top(scope, _SIGNIN, "coalesce(user_email, user_id)", failed),
        )
    )
    sections.append(
        _ranked(
            "Failed sign-ins by address",
            "failures_by_address",
            "address",
            _top(scope, _SIGNIN, "source_ip", failed),
        )
    )
    countries = scope.query(
        "SELECT coalesce(country, '??'), outcome, count(*) FROM events WHERE {where} GROUP BY 1, 2",
        _SIGNIN,
    )
    by_country: dict[str, Counter[str]] = {}
    for country, outcome, count in countries:
        by_country.setdefault(country, Counter())[outcome or "unknown"] += count
    order = sorted(by_country, key=lambda c: -sum(by_country[c].values()))[:15]
    outcomes = sorted({o for c in by_country.values() for o in c})
    rows = [[c, *[by_country[c][o] for o in outcomes]] for c in order]
    sections.append(
        Section(
            "signin_countries",
            "Sign-in countries",
            ["country", *outcomes],
            rows,
            Chart(
                order,
                {o: [by_country[c][o] for c in order] for o in outcomes},
                horizontal=True,
                colors=OUTCOME_COLORS,
            )
            if rows
            else None,
        )
    )
    sections.append(
        _ranked("Item usage by action", "items_by_action", "action", _top(scope, _ITEM, "action"))
    )
    sections.append(
        _ranked("Item usage by vault", "items_by_vault", "vault", _top(scope, _ITEM, _VAULT))
    )
    labels, series, table = _over_time(scope, _AUDIT, "action", 5)
    sections.append(
        Section(
            "admin_changes",
            "Admin changes per day by action (UTC days)",
            ["day", *series],
            table,
            Chart(labels, series) if table else None,
        )
    )
    sections.append(_alerts(investigation, window, person))
    sections.append(_anomaly_section(investigation, window, zone, scope.people, anomalies))
    return data


def _alerts(investigation: Investigation, window: Window, person: Person | None) -> Section:
    if not investigation.has_alerts():
        return Section(
            "alerts",
            "Alerts by rule and severity",
            ["rule", "severity", "alerts"],
            [],
            None,
            "this store has no alerts table (run the detections first)",
        )
    counts: Counter[tuple[str, str]] = Counter()
    for alert in investigation.alerts(window.since, window.until, person, limit=10_000):
        counts[(_alert_rule(alert), _alert_severity(alert))] += 1
    top = counts.most_common(20)
    rows: list[list[Any]] = [[rule, severity, n] for (rule, severity), n in top]
    severities = sorted({severity for (_, severity), _ in top})
    rules = list(dict.fromkeys(rule for (rule, _), _ in top))
    series = {s: [float(counts[(r, s)]) for r in rules] for s in severities}
    return Section(
        "alerts",
        "Alerts by rule and severity",
        ["rule", "severity", "alerts"],
        rows,
        Chart(rules, series, horizontal=True) if rows else None,
    )


def _nested(alert: dict[str, Any], *path: str) -> Any:
    for column in ("document", "alert", "doc"):
        value: Any = alert.get(column)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


def _alert_rule(alert: dict[str, Any]) -> str:
    for column in ("rule_id", "rule", "rule_name", "name"):
        if isinstance(alert.get(column), str):
            return str(alert[column])
    return str(_nested(alert, "rule", "id") or _nested(alert, "rule", "name") or "unknown")


def _alert_severity(alert: dict[str, Any]) -> str:
    for column in ("severity_label", "severity", "level"):
        if alert.get(column) is not None:
            return str(alert[column])
    value = _nested(alert, "event", "severity_label") or _nested(alert, "event", "severity")
    return str(value) if value is not None else "unknown"


def _anomaly_section(
    investigation: Investigation,
    window: Window,
    zone: tzinfo,
    people: list[str] | None,
    limit: int,
) -> Section:
    findings = find_anomalies(
        investigation, window, zone=zone, limit=limit if people is None else 500
    )
    if people is not None:
        wanted = set(people)
        findings = [f for f in findings if f.subject in wanted][:limit]
    rows = [[f.score, f.kind, f.label, f.summary] for f in findings]
    chart = Chart(
        [f"{f.kind}: {f.label}"[:60] for f in findings[:15]],
        {"score": [f.score for f in findings[:15]]},
        horizontal=True,
    )
    return Section(
        "anomalies",
        "Anomalies, highest score first",
        ["score", "kind", "who", "what"],
        rows,
        chart if rows else None,
    )


# --- HTML ---------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:64rem;padding:0 1rem;color:#1d232b;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}
.meta{color:#555}.totals{display:flex;gap:1rem;margin:1rem 0}
.totals div{background:#f2f4f7;border-radius:6px;padding:.5rem 1rem}
.totals b{display:block;font-size:1.3rem}
figure{margin:0}svg{max-width:100%;height:auto}
table{border-collapse:collapse;margin:.5rem 0;font-size:13px}
th,td{border-bottom:1px solid #e3e6ea;padding:.2rem .6rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
details summary{cursor:pointer;color:#3b6fb6}.note,.empty{color:#666;font-style:italic}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _cell(value: Any) -> str:
    css = ' class="n"' if isinstance(value, int | float) else ""
    return f"<td{css}>{html.escape(str(value))}</td>"


def _table(section: Section) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in section.columns)
    body = "".join(f"<tr>{''.join(_cell(v) for v in row)}</tr>" for row in section.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(section: Section) -> str:
    parts = [f'<section id="{section.key}"><h2>{html.escape(section.title)}</h2>']
    if section.note:
        parts.append(f'<p class="note">{html.escape(section.note)}</p>')
    if not section.rows:
        parts.append('<p class="empty">nothing in this window</p></section>')
        return "".join(parts)
    if section.chart is not None:
        chart = section.chart
        svg = bar_chart(
            section.title,
            chart.labels,
            chart.series,
            horizontal=chart.horizontal,
            stacked=chart.stacked,
            colors=chart.colors,
        )
        parts.append(f"<figure>{svg}</figure>")
        parts.append(f"<details><summary>Table</summary>{_table(section)}</details>")
    else:
        parts.append(_table(section))
    parts.append("</section>")
    return "".join(parts)


def render_report(data: ReportData, *, store_name: str) -> str:
    """The whole HTML document for :func:`report_data`'s figures."""
    window = data.window.as_dict()
    totals = "".join(
        f"<div><b>{count:,}</b>{html.escape(name)}</div>" for name, count in data.totals.items()
    )
    body = "".join(_section(section) for section in data.sections)
    title = f"1Password activity report: {data.scope}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="meta">store {html.escape(store_name)} · {html.escape(window["since"])} to '
        f"{html.escape(window['until'])} · anomalies compared with the baseline from "
        f"{html.escape(window['baseline_since'])}</p>"
        f'<div class="totals">{totals}</div>{body}'
        '<p class="meta">Generated by onepassword-ecs report. Static: no scripts, fonts or '
        "external resources.</p></body></html>\n"
    )
