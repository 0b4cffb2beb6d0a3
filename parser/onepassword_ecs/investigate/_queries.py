"""Read-only queries over the event store, in the store's documented columns.

Everything here opens the store with ``readonly=True`` (SQLite's ``mode=ro``: a bug in
an investigation cannot change evidence) and filters with the indexed columns of
``events`` (``user_id``, ``target_user_id``, ``user_email``, ``source_ip``, ``ts_ns``).
Vaults and items have no column of their own; they are found by a byte search for the
identifier inside the stored document, then confirmed field by field, so a vault id that
happens to appear in a message does not count as access to that vault.

Results are bounded: scans stream rows (memory stays flat whatever the store's size) and
keep only the newest ``limit`` events for display, with the total beside them.

Alerts are optional: when a table named ``alerts`` exists (written by the detection
engine), its rows are read whatever their exact layout, see :func:`Investigation.alerts`.
"""

from __future__ import annotations

import os
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from .._errors import InvestigationError, StoreError
from ..sinks import EventStore
from ._events import EventView, view

__all__ = ["MAX_LIMIT", "Investigation", "Listing", "Person"]

MAX_LIMIT = 10_000
"""The most events any one listing returns, whatever ``limit`` asks for."""

_NAME_SCAN_USERS = 100_000  # distinct users read when resolving a person by name
_ALERT_ROWS = 10_000  # alerts read from the optional table, newest first


@dataclass
class Person:
    """Who an investigation is about: every user id the name resolved to, and labels."""

    ids: list[str]
    email: str | None
    name: str | None

    @property
    def label(self) -> str:
        return self.email or self.name or self.ids[0]

    def as_dict(self) -> dict[str, Any]:
        return {"ids": self.ids, "email": self.email, "name": self.name}


@dataclass
class Listing:
    """The newest ``limit`` matching events (in time order) and how many matched in all."""

    limit: int
    total: int = 0
    events: deque[EventView] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.events = deque(maxlen=max(1, min(self.limit, MAX_LIMIT)))

    def add(self, event: EventView) -> None:
        self.total += 1
        self.events.append(event)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.events)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "shown": len(self.events),
            "truncated": self.truncated,
            "events": [event.as_dict() for event in self.events],
        }


def _time_clause(since: int | None, until: int | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since is not None:
        clauses.append("ts_ns >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts_ns < ?")
        params.append(until)
    return (" AND ".join(clauses) or "1"), params


class Investigation:
    """An open, read-only store and the questions asked of it."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.connection: sqlite3.Connection = store.connection

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Investigation:
        try:
            return cls(EventStore.open(path, readonly=True))
        except StoreError as exc:
            raise InvestigationError(str(exc)) from None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Investigation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- basics -----------------------------------------------------------------------

    def newest_ns(self) -> int | None:
        row = self.connection.execute("SELECT max(ts_ns) FROM events").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def rows(self, sql: str, params: list[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(ts_ns, document)`` for a query selecting ``ts_ns, document``."""
        for ts_ns, document in self.connection.execute(sql, params):
            yield int(ts_ns), orjson.loads(document)

    def views(self, sql: str, params: list[Any]) -> Iterator[EventView]:
        for ts_ns, document in self.rows(sql, params):
            yield view(document, ts_ns)

    # --- people -----------------------------------------------------------------------

    def resolve_user(self, who: str) -> Person:
        """A person by user uuid, e-mail address or name (exact, then case-insensitive).

        Raises :class:`InvestigationError` when nobody matches, or when a name matches
        several people (the message lists them, so the caller can pick by e-mail).
        """
        who = who.strip()
        if not who:
            raise InvestigationError("no person given")
        found = self._user_by_id(who) or self._user_by_email(who)
        if found:
            return found
        candidates = self._users_by_name(who)
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            listed = ", ".join(sorted(person.label for person in candidates)[:10])
            raise InvestigationError(f"{who!r} matches several people: {listed}")
        raise InvestigationError(f"nobody called {who!r} in the store (try a uuid or e-mail)")

    def _person_from_document(self, user_id: str) -> Person:
        row = (
            self.connection.execute(
                "SELECT document FROM events WHERE user_id = ? LIMIT 1", (user_id,)
            ).fetchone()
            or self.connection.execute(
                "SELECT document FROM events WHERE target_user_id = ? LIMIT 1", (user_id,)
            ).fetchone()
        )
        email = name = None
        if row:
            document = orjson.loads(row[0])
            user = document.get("user") or {}
            if user.get("id") != user_id:
                user = user.get("target") or {}
            email, name = user.get("email"), user.get("name")
        return Person(ids=[user_id], email=email, name=name)

    def _user_by_id(self, who: str) -> Person | None:
        for candidate in dict.fromkeys((who, who.upper())):
            for column in ("user_id", "target_user_id"):
                hit = self.connection.execute(
                    f"SELECT 1 FROM events WHERE {column} = ? LIMIT 1", (candidate,)
                ).fetchone()
                if hit:
                    return self._person_from_document(candidate)
        return None

    def _user_by_email(self, who: str) -> Person | None:
        if "@" not in who:
            return None
        for candidate in dict.fromkeys((who, who.lower())):
            ids = [
                row[0]
                for row in self.connection.execute(
                    "SELECT DISTINCT user_id FROM events WHERE user_email = ? "
                    "AND user_id IS NOT NULL",
                    (candidate,),
                )
            ]
            if ids:
                person = self._person_from_document(ids[0])
                return Person(ids=ids, email=candidate, name=person.name)
        return None

    def _users_by_name(self, who: str) -> list[Person]:
        """People whose name is ``who`` (case-insensitive); one stored document per user."""
        wanted = who.casefold()
        found: list[Person] = []
        ids = self.connection.execute(
            "SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL LIMIT ?",
            (_NAME_SCAN_USERS,),
        ).fetchall()
        for (user_id,) in ids:
            person = self._person_from_document(user_id)
            if person.name and person.name.casefold() == wanted:
                found.append(person)
        return found

    def user_events(
        self, person: Person, since: int | None, until: int | None
    ) -> Iterator[EventView]:
        """Every event where the person acts or is affected, in time order."""
        where, params = _time_clause(since, until)
        marks = ", ".join("?" for _ in person.ids)
        sql = (
            "SELECT ts_ns, document FROM events WHERE seq IN ("
            f"SELECT seq FROM events WHERE user_id IN ({marks}) AND {where} UNION "
            f"SELECT seq FROM events WHERE target_user_id IN ({marks}) AND {where}"
            ") ORDER BY ts_ns, seq"
        )
        yield from self.views(sql, [*person.ids, *params, *person.ids, *params])

    # --- vaults, items, addresses -----------------------------------------------------

    def _by_identifier(
        self,
        identifier: str,
        matches: Callable[[EventView], bool],
        since: int | None,
        until: int | None,
    ) -> Iterator[EventView]:
        where, params = _time_clause(since, until)
        sql = (
            "SELECT ts_ns, document FROM events WHERE dataset IN "
            "('1password.item_usages', '1password.audit_events') AND "
            f"{where} AND instr(document, CAST(? AS BLOB)) > 0 ORDER BY ts_ns, seq"
        )
        for event in self.views(sql, [*params, identifier.encode()]):
            if matches(event):
                yield event

    def vault_events(self, vault: str, since: int | None, until: int | None) -> Iterator[EventView]:
        """Item usages in the vault and admin changes to it (grants, exports, edits)."""
        wanted = vault.strip().lower()
        return self._by_identifier(
            wanted, lambda e: (e.vault or "").lower() == wanted, since, until
        )

    def item_events(self, item: str, since: int | None, until: int | None) -> Iterator[EventView]:
        """Usages of the item (reveals, copies, fills, exports) and changes to it."""
        wanted = item.strip().lower()
        return self._by_identifier(wanted, lambda e: (e.item or "").lower() == wanted, since, until)

    def ip_events(self, address: str, since: int | None, until: int | None) -> Iterator[EventView]:
        """Every event from the address, in time order."""
        where, params = _time_clause(since, until)
        sql = (
            f"SELECT ts_ns, document FROM events WHERE source_ip = ? AND {where} "
            "ORDER BY ts_ns, seq"
        )
        return self.views(sql, [address.strip(), *params])

    def search(
        self,
        *,
        since: int | None,
        until: int | None,
        person: Person | None = None,
        ip: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        country: str | None = None,
        dataset: str | None = None,
        text: str | None = None,
        newest: int | None = None,
    ) -> Iterator[EventView]:
        """Events matching every given filter, in time order (``text``: a substring of
        the stored document, case-sensitive); with ``newest``, only that many of the
        newest (still returned oldest first)."""
        where, params = _time_clause(since, until)
        clauses = [where]
        if person is not None:
            marks = ", ".join("?" for _ in person.ids)
            clauses.append(f"(user_id IN ({marks}) OR target_user_id IN ({marks}))")
            params += [*person.ids, *person.ids]
        for column, value in (
            ("source_ip", ip),
            ("action", action),
            ("outcome", outcome),
            ("country", country.upper() if country else None),
            ("dataset", _dataset_name(dataset) if dataset else None),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if text:
            clauses.append("instr(document, CAST(? AS BLOB)) > 0")
            params.append(text.encode())
        condition = " AND ".join(clauses)
        if newest is None:
            sql = f"SELECT ts_ns, document FROM events WHERE {condition} ORDER BY ts_ns, seq"
            return self.views(sql, params)
        sql = (
            f"SELECT ts_ns, document FROM events WHERE {condition} "
            "ORDER BY ts_ns DESC, seq DESC LIMIT ?"
        )
        return reversed(list(self.views(sql, [*params, min(newest, MAX_LIMIT)])))

    # --- alerts (optional table) ------------------------------------------------------

    def has_alerts(self) -> bool:
        return bool(
            self.connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'"
            ).fetchone()
        )

    def alerts(
        self, since: int | None, until: int | None, person: Person | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Rows of the ``alerts`` table, newest last; ``[]`` when there is no such table.

        The table's layout belongs to the detection engine, so this reads it by
        introspection: every column comes back under its own name (blobs holding JSON
        are decoded); a time column (``ts_ns``, else ``@timestamp``/``timestamp`` text)
        filters the window when there is one; a person filter keeps rows that mention
        one of the person's ids anywhere.
        """
        if not self.has_alerts():
            return []
        columns = [row[1] for row in self.connection.execute("PRAGMA table_info(alerts)")]
        order = "ts_ns" if "ts_ns" in columns else "rowid"
        clauses: list[str] = []
        params: list[Any] = []
        if "ts_ns" in columns:
            where, params = _time_clause(since, until)
            clauses.append(where)
        condition = " AND ".join(clauses) or "1"
        sql = f"SELECT * FROM alerts WHERE {condition} ORDER BY {order} DESC LIMIT ?"
        out: list[dict[str, Any]] = []
        for row in self.connection.execute(sql, [*params, _ALERT_ROWS]):
            record = {name: _decoded(value) for name, value in zip(columns, row, strict=True)}
            if person is not None:
                flat = orjson.dumps(record, default=str)
                if not any(user_id.encode() in flat for user_id in person.ids):
                    continue
            out.append(record)
            if len(out) >= limit:
                break
        out.reverse()
        return out


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value.decode("utf-8", "replace")
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _dataset_name(name: str) -> str:
    short = {
        "signin": "signin_attempts",
        "sign-in": "signin_attempts",
        "item": "item_usages",
        "audit": "audit_events",
    }
    name = short.get(name, name)
    return name if name.startswith("1password.") else f"1password.{name}"
