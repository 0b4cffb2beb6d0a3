"""Detection over the event store: incremental runs, full runs, windowed runs, follow.

A :class:`StoreDetection` is one engine (:mod:`._incremental`) bound to one store:

- **incremental** (the default): it loads the state the last run saved and evaluates
  the events stored since (``events.seq`` above the arrival watermark), in arrival
  order, in bounded batches. Events older than what was already evaluated are late:
  their correlation windows read the stretch of the store they reach back to. A store
  with no usable state (first run, other rules or context) is evaluated in full.
- **full** (``--full``): every stored event, in time order, in bounded batches, from an
  empty state; the state is rebuilt and replaces the saved one. The alert ledger keeps
  alerts raised before from being raised again.
- **windowed** (``--since``/``--until``): the events of a period, with the history
  before it (the longest look-back) read but not judged; nothing is saved but alerts.

No run copies the store: each batch (``batch_size`` rows, a few fields each) and the
state are all it holds. :meth:`evaluate` computes; :meth:`commit` records the alerts
and the state in one transaction, so a caller writes the alerts out between the two
(a crash in between raises them again, never loses them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..sinks import EventStore, timestamp_ns
from . import _state, _store_rows
from ._alerts import AlertKey, alert_document, alert_key
from ._context import Context
from ._engine import Match
from ._incremental import Engine, EngineState
from ._ruleset import Rule
from ._run import AlertLedger, Outcome, history_span_ns

__all__ = ["StoreDetection", "follow"]

Alert = tuple[AlertKey, dict[str, Any]]
_ARRIVAL_BATCH = 5000
_TIME_BATCH = 20000


def _lookahead(batches: Iterator[list[tuple[Any, ...]]]) -> Iterator[tuple[list[Any], bool]]:
    """Each batch with whether it is the last one."""
    previous = next(batches, None)
    while previous is not None:
        following = next(batches, None)
        yield previous, following is None
        previous = following


@dataclass
class _Pending:
    state: EngineState | None
    replace: bool


class StoreDetection:
    """The rules over one store; see the module docstring for the three modes."""

    def __init__(
        self,
        store: EventStore,
        rules: Sequence[Rule],
        context: Context,
        *,
        full: bool = False,
        since_ns: int | None = None,
        until_ns: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.store = store
        self.rules = list(rules)
        self.context = context
        self.full = full
        self.since_ns = since_ns
        self.until_ns = until_ns
        self.windowed = since_ns is not None or until_ns is not None
        # Time-ordered walks (full, windowed) take big batches: each round's fixed cost
        # (running every correlation plan) is spread over more events; arrival rounds
        # (a follow round, a cron run) are usually small anyway. Either way a batch is
        # a few fields of some thousands of events, in memory: megabytes, not the store.
        self.batch_size = batch_size or _ARRIVAL_BATCH
        self.time_batch_size = batch_size or _TIME_BATCH
        self.engine = Engine(self.rules, context)
        self.state: EngineState | None = None
        self._pending: _Pending | None = None
        self.ledger = AlertLedger(store)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> StoreDetection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- evaluating ----------------------------------------------------------------------

    def evaluate(self, now_ns: int | None = None) -> tuple[Outcome, list[Alert]]:
        """Evaluate what this mode covers; return the outcome and the new alerts.

        ``now_ns`` ends the evaluated period for silent streams (default: now; a
        windowed run ends at its ``until``). Call :meth:`commit` after writing the
        alerts out.
        """
        now = time.time_ns() if now_ns is None else now_ns
        outcome = Outcome(waiting=dict(self.engine.waiting))
        emitted: set[AlertKey] = set()
        new: list[Alert] = []
        if self.windowed:
            state = EngineState()
            self._fresh_history()
            matches = self._by_time(
                state, outcome, self.until_ns if self.until_ns is not None else now
            )
            self._pending = _Pending(None, False)
        else:
            replace = False
            if self.state is None and not self.full:
                self.state = _state.load(self.store.connection, self.engine)
            if self.state is None or self.full:
                self.state = EngineState(arrival_seq=_store_rows.last_seq(self.store))
                self._fresh_history()
                matches = self._by_time(self.state, outcome, now, limit=self.state.arrival_seq)
                self.full = False  # a follow-up round continues incrementally
                replace = True
            else:
                matches = self._by_arrival(self.state, outcome, now)
            self._pending = _Pending(self.state, replace)
        for batch in matches:
            new.extend(self._alerts(batch, emitted, outcome))
        new.sort(key=lambda entry: (entry[1]["@timestamp"], entry[0]))
        outcome.alerts = [alert for _key, alert in new]
        return outcome, new

    def commit(self, new: Sequence[Alert]) -> None:
        """Record the alerts and the advanced state in one transaction."""
        pending = self._pending or _Pending(None, False)
        _state.save(self.store.connection, self.engine, pending.state, new, replace=pending.replace)
        self._pending = None

    def _fresh_history(self) -> None:
        for check in self.engine.history:
            check.state.clear()
            check.dirty.clear()

    def _by_time(
        self,
        state: EngineState,
        outcome: Outcome,
        until_ns: int | None,
        *,
        limit: int | None = None,
    ) -> Iterator[list[Match]]:
        """Every event (of the window, with its history) in time order, in batches."""
        since = self.since_ns
        start = None if since is None else since - history_span_ns(self.rules, self.context)
        batches = _store_rows.rows(
            self.store,
            self.engine.fields,
            since_ns=start,
            until_ns=self.until_ns,
            batch_size=self.time_batch_size,
        )
        for batch, last in _lookahead(batches):
            if limit is not None:
                batch = [row for row in batch if row[0] <= limit]  # stored after we began
            outcome.events += len(batch)
            yield self.engine.round(state, batch, until_ns=until_ns if last else None)
        if outcome.events == 0:
            yield self.engine.round(state, [], until_ns=until_ns)

    def _by_arrival(
        self, state: EngineState, outcome: Outcome, until_ns: int
    ) -> Iterator[list[Match]]:
        """The events stored since the last run, in arrival order, in batches."""
        batches = _store_rows.rows(
            self.store,
            self.engine.fields,
            after_seq=state.arrival_seq,
            batch_size=self.batch_size,
        )
        seen_any = False
        for batch, last in _lookahead(batches):
            seen_any = True
            outcome.events += len(batch)
            earliest = min(row[2] for row in batch)
            context = [
                row
                for since, until in self.engine.context_ranges(state, earliest)
                for rows in _store_rows.rows(
                    self.store, self.engine.fields, since_ns=since, until_ns=until
                )
                for row in rows
            ]
            yield self.engine.round(state, batch, context, until_ns=until_ns if last else None)
        if not seen_any:
            yield self.engine.round(state, [], until_ns=until_ns)

    def _alerts(
        self, matches: list[Match], emitted: set[AlertKey], outcome: Outcome
    ) -> Iterator[Alert]:
        keys = []
        for match in matches:
            key = alert_key(match)
            if key in emitted:
                continue
            emitted.add(key)
            keys.append((key, match))
        if not keys:
            return
        evidence = _store_rows.documents(
            self.store, {i for _key, match in keys for i in match.event_ids}
        )
        for key, match in keys:
            documents = [evidence[i] for i in match.event_ids if i in evidence]
            alert = alert_document(match, documents)
            if self.since_ns is not None and timestamp_ns(alert["@timestamp"]) < self.since_ns:
                continue
            if self.ledger.seen(key):
                outcome.already_emitted += 1
                continue
            yield key, alert


def follow(
    detection: StoreDetection,
    deliver: Callable[[Outcome, list[Alert]], None],
    *,
    interval_s: float,
    rounds: int | None = None,
) -> int:
    """Evaluate new events every ``interval_s`` seconds; return the alerts delivered.

    ``deliver(outcome, alerts)`` writes a round's alerts out before they are recorded.
    Runs until interrupted (KeyboardInterrupt propagates) or ``rounds`` rounds.
    """
    written = 0
    done = 0
    while rounds is None or done < rounds:
        outcome, new = detection.evaluate()
        deliver(outcome, new)
        detection.commit(new)
        written += len(new)
        done += 1
        if rounds is None or done < rounds:
            time.sleep(interval_s)
    return written
