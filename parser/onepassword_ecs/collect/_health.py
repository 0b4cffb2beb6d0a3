"""Health: one structured log line per stream and cycle, and ``collect --status``.

The log is JSON lines on standard error (``{"time", "level", "event", ...}``), so a
journal or a log shipper can read the same figures ``--status`` prints. ``--status``
reads only the state database: it works while a collector runs, and exits 1 when any
stream is unhealthy, for cron or a monitor to alert on.

A stream is *silent* when nothing new was delivered for longer than the silence alert
(default 24 h). The clock is the time of the last delivery, not the newest event's own
timestamp: item usages arrive up to a day late with old timestamps, and a stream that
just delivered them is alive.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from ._shard import shard_of
from ._state import StateDb, StreamState

__all__ = ["Log", "StreamHealth", "format_status", "stream_health"]


class Log:
    """JSON lines to a text stream, one writer at a time."""

    def __init__(self, stream: TextIO, *, quiet: bool = False) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._quiet = quiet

    def emit(self, level: str, event: str, **fields: Any) -> None:
        if self._quiet and level == "info":
            return
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "event": event,
            **fields,
        }
        line = orjson.dumps(entry, default=str).decode("utf-8")
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def info(self, event: str, **fields: Any) -> None:
        self.emit("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.emit("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self.emit("error", event, **fields)


@dataclass(frozen=True)
class StreamHealth:
    """The figures ``--status`` shows for one stream, and the verdict."""

    account: str
    stream: str
    api_version: str
    status: str
    last_poll: float | None
    last_delivery: float | None
    last_event_time: str | None
    delivered: int
    cursor_age: float | None
    consecutive_failures: int
    last_error: str | None
    silent: bool
    healthy: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "stream": self.stream,
            "api_version": self.api_version,
            "status": self.status,
            "healthy": self.healthy,
            "silent": self.silent,
            "last_poll": _iso(self.last_poll),
            "last_delivery": _iso(self.last_delivery),
            "last_event_time": self.last_event_time,
            "delivered": self.delivered,
            "cursor_age_seconds": None if self.cursor_age is None else round(self.cursor_age, 1),
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
        }


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def stream_health(row: StreamState, silence_alert: float, now: float) -> StreamHealth:
    """Judge one stream: stopped, failing or silent is unhealthy; not covered is not."""
    delivered_since = row.last_delivery if row.last_delivery is not None else row.created
    covered = row.status != "not_covered"
    silent = covered and now - delivered_since > silence_alert
    healthy = not covered or (row.status == "ok" and row.consecutive_failures == 0 and not silent)
    return StreamHealth(
        account=row.account_name,
        stream=row.key.stream,
        api_version=row.key.api_version,
        status=row.status,
        last_poll=row.last_poll,
        last_delivery=row.last_delivery,
        last_event_time=row.last_event_time,
        delivered=row.delivered,
        cursor_age=None if row.cursor_updated is None else now - row.cursor_updated,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error,
        silent=silent,
        healthy=healthy,
    )


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _ago(moment: float | None, now: float) -> str:
    return "never" if moment is None else _age(now - moment) + " ago"


def format_status(
    state: StateDb, silence_alert: float, now: float | None = None, shards: int | None = None
) -> tuple[str, bool]:
    """The ``--status`` table and whether every stream is healthy.

    The ``shard`` column is the ``--shard K/N`` of the run that last polled the
    stream (``-`` when unsharded) or, given ``shards`` (N), the shard that holds
    the account among N: what a collector started with ``--shard K/N`` would poll.
    """
    moment = time.time() if now is None else now
    states = state.streams()
    rows = [stream_health(row, silence_alert, moment) for row in states]
    holders = [
        f"{shard_of(row.account_name, shards)}/{shards}" if shards else (row.shard or "-")
        for row in states
    ]
    if not rows:
        return "no stream has been polled yet (empty state database)\n", False
    header = (
        "account",
        "stream",
        "api",
        "health",
        "last poll",
        "last delivery",
        "last event",
        "delivered",
        "cursor age",
        "failures",
        "shard",
    )
    table = [header]
    for health, holder in zip(rows, holders, strict=True):
        verdict = "ok" if health.healthy else "UNHEALTHY"
        if health.status == "not_covered":
            verdict = "not covered"
        elif health.silent:
            verdict = "SILENT"
        elif health.status == "stopped":
            verdict = "STOPPED"
        table.append(
            (
                health.account,
                health.stream,
                health.api_version,
                verdict,
                _ago(health.last_poll, moment),
                _ago(health.last_delivery, moment),
                health.last_event_time or "-",
                str(health.delivered),
                _age(health.cursor_age),
                str(health.consecutive_failures),
                holder,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    for health in rows:
        if health.last_error:
            lines.append(f"{health.account} {health.stream}: last error: {health.last_error}")
    return "\n".join(lines) + "\n", all(h.healthy for h in rows)
