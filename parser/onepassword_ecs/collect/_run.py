"""The run loop: accounts in parallel, their streams in turn, pages delivered then committed.

For each account (one thread each, so one account's failure or rate limit never holds
up another): introspect the token, skip the streams it does not cover (one warning),
then poll its streams round-robin, at most ``pages_per_cycle`` pages at a time. Each
page is converted, handed to every sink, every sink and the error sink are flushed,
and only then is the cursor committed, with the exactly-once file's length, in one
state transaction (:class:`Delivery`).

``--once`` repeats cycles until every covered stream is caught up, then exits;
``--follow`` sleeps ``interval`` after a caught-up cycle and goes on. A signal sets
the run's :class:`~._stopper.Stopper`: the current page is finished, flushed and
committed, waits end at once, and the run exits 0.

Outcome per stream: *caught up*; *stopped* (401/403, a refused cursor under
``--on-bad-cursor stop``, an error response the API will not change its mind about)
for the rest of the run; or, in ``--follow``, *failing* after exhausted retries and
tried again next cycle. A stopped stream or, in ``--once``, a failing one makes the
exit status 1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .._errors import (
    BadCursorError,
    CollectorError,
    EventsApiError,
    NotAuthorizedError,
    SinkError,
    TransientApiError,
)
from ..mapping import Dataset
from ..stream import Sink, Stage, Tally, Task, convert_chunk, deliver
from ._budget import RateBudget
from ._client import EventsClient
from ._config import ENDPOINTS, AccountConfig, Tunables
from ._health import Log, stream_health
from ._retry import RetryPolicy
from ._slots import PageSlots
from ._source import EventsSource, PageChunk
from ._state import StateDb, StreamKey, utc_text
from ._stopper import Interrupted, Stopper
from ._writer import ExactlyOnceFile

__all__ = ["AccountResult", "Delivery", "run_accounts"]

_DEFAULT_SINCE = timedelta(hours=1)


class Delivery:
    """Deliver a page to every sink, flush them all, then commit the cursor.

    One lock for all accounts: pages from different accounts go to the same sinks,
    and a file's committed length must describe exactly the pages committed.
    """

    def __init__(
        self,
        sinks: Sequence[Sink],
        errors: Sink,
        state: StateDb,
        tally: Tally,
        overlap: float,
        stages: Sequence[Stage] = (),
    ) -> None:
        self.sinks = list(sinks)
        self._stages = tuple(stages)
        self.errors = errors
        self._state = state
        self.tally = tally
        self._overlap = overlap
        self._lock = threading.Lock()
        self.duplicates = 0
        self.writing: str | None = None
        """The sink being flushed when an OSError left it: the error names it."""
        for sink in self.sinks:
            tally.sink(sink.name)

    def page(self, key: StreamKey, dataset: Dataset, chunk: PageChunk) -> int:
        """Deliver and commit one page; return how many documents it gave."""
        with self._lock:
            task = Task(
                chunk.origin, chunk.units, dataset=dataset, stages=self._stages, whole_records=True
            )
            result = convert_chunk(task)
            deliver(result, self.sinks, self.errors, self.tally)
            for sink in [*self.sinks, self.errors]:
                self.writing = sink.name
                sink.flush()
            self.writing = None
            lengths = {s.key: s.length() for s in self.sinks if isinstance(s, ExactlyOnceFile)}
            self._state.commit_page(
                key,
                cursor=chunk.next_cursor,
                seen=chunk.seen,
                documents=result.written,
                output_lengths=lengths,
                overlap_seconds=self._overlap,
            )
            self.duplicates += chunk.duplicates
            return result.written


@dataclass
class AccountResult:
    """How one account's run ended."""

    name: str
    failed: bool = False
    problems: list[str] = field(default_factory=list)


class _AccountRun:
    def __init__(
        self,
        config: AccountConfig,
        tunables: Tunables,
        state: StateDb,
        delivery: Delivery,
        stopper: Stopper,
        log: Log,
        *,
        once: bool,
        silence_alert: float,
        shard: str | None = None,
        slots: PageSlots | None = None,
    ) -> None:
        self.config = config
        self.slots = slots
        self.shard = shard
        self.stale_pages: dict[Dataset, int] = {}
        self.tunables = tunables
        self.state = state
        self.delivery = delivery
        self.stopper = stopper
        self.log = log
        self.once = once
        self.silence_alert = silence_alert
        self.result = AccountResult(config.name)
        self.active: dict[Dataset, StreamKey] = {}

    def _retried(self, error: BaseException, wait: float, attempt: int) -> None:
        self.log.warning(
            "retry",
            account=self.config.name,
            attempt=attempt,
            wait_seconds=round(wait, 3),
            error=str(error),
        )

    def _fail(self, message: str, **fields: object) -> None:
        self.result.failed = True
        self.result.problems.append(message)
        self.log.error("stream_stopped", account=self.config.name, message=message, **fields)

    def run(self) -> AccountResult:
        config = self.config
        budget = RateBudget(self.state, config.name, self.tunables.rate_limits, self.stopper)
        retry = RetryPolicy(self.tunables, self.stopper, self._retried)
        client = EventsClient(
            config.base_url,
            config.token,
            tunables=self.tunables,
            budget=budget,
            retry=retry,
            stopper=self.stopper,
        )
        try:
            while not self._prepared(client):
                if not self.stopper.pause(self.tunables.interval):
                    return self.result
            self._loop(client)
        except Interrupted:
            pass
        except EventsApiError as exc:
            self._fail(f"{config.name}: {exc}")
        except OSError as exc:  # a sink could not write or flush (disk full, pipe closed)
            where = exc.filename or self.delivery.writing or ""
            self._fail(
                f"{config.name}: cannot deliver: {f'{where}: ' if where else ''}"
                f"{exc.strerror or exc}; the page's cursor was not committed, so it is "
                "fetched again next run"
            )
        except SinkError as exc:  # the store or a cluster refused or went away
            self._fail(
                f"{config.name}: cannot deliver: {exc}; the page's cursor was not "
                "committed, so it is fetched again next run"
            )
        finally:
            client.close()
        return self.result

    def _prepared(self, client: EventsClient) -> bool:
        """Introspect and set up the streams; False to try again later (``--follow`` only)."""
        try:
            self._prepare(client)
        except TransientApiError as exc:
            if self.once:
                raise
            self.log.error(
                "introspect_failed",
                account=self.config.name,
                message=f"retries exhausted: {exc}; trying again after the interval",
            )
            return False
        return True

    def _prepare(self, client: EventsClient) -> None:
        config = self.config
        token_info = client.introspect()
        account = token_info.account_uuid or token_info.integration_uuid or f"name:{config.name}"
        since = config.since or datetime.now(UTC) - _DEFAULT_SINCE
        for dataset in config.streams:
            key = StreamKey(account, dataset.value, config.api_version)
            self.state.ensure_stream(key, config.name, utc_text(since), self.shard)
            if ENDPOINTS[dataset] not in token_info.features:
                self.state.set_status(key, "not_covered", "the token does not cover this stream")
                self.log.warning(
                    "stream_not_covered",
                    account=config.name,
                    stream=dataset.value,
                    message=f"the token does not cover {dataset.value}; skipped "
                    "(tick it when creating the token to collect it)",
                )
                continue
            self.active[dataset] = key
        self.log.info(
            "account_ready",
            account=config.name,
            account_uuid=account,
            streams=[d.value for d in self.active],
            api_version=config.api_version,
        )

    def _loop(self, client: EventsClient) -> None:
        while self.active and not self.stopper.stopping:
            # Busy: a stream hit its page cap (or restarts after a cursor reset) and has
            # more to fetch now. Otherwise every stream is caught up, stopped, or (in
            # --follow) failing, and waiting the interval is right for all of them.
            busy = False
            for dataset, key in list(self.active.items()):
                if self.stopper.stopping:
                    return
                busy |= self._poll(client, dataset, key) == "more"
            if busy:
                continue
            if self.once or not self.stopper.pause(self.tunables.interval):
                return

    def _poll(self, client: EventsClient, dataset: Dataset, key: StreamKey) -> str:
        """One cycle of one stream: ``caught_up``, ``more`` (page cap), ``stopped``, ``failed``."""
        source = EventsSource(
            client,
            self.state,
            key,
            dataset,
            page_size=self.tunables.page_size,
            pages_per_cycle=self.tunables.pages_per_cycle,
            until=utc_text(self.config.until) if self.config.until else None,
            stopper=self.stopper,
            stale_pages=self.stale_pages.get(dataset, 0),
            max_stale_pages=self.tunables.max_stale_pages,
            slots=self.slots,
        )
        documents = 0
        outcome = "more"
        try:
            for chunk in source:
                documents += self.delivery.page(key, dataset, chunk)
                del chunk  # not kept alive while the source waits for the next page
            self.stale_pages[dataset] = source.stale_pages
            outcome = "caught_up" if source.caught_up else "more"
            if source.stale:
                outcome = self._stale(dataset, key, source.stale_pages)
        except NotAuthorizedError as exc:
            self.state.set_status(key, "stopped", str(exc), failed=True)
            self._fail(f"{self.config.name} {dataset.value}: {exc}", stream=dataset.value)
            outcome = "stopped"
        except BadCursorError as exc:
            outcome = self._bad_cursor(dataset, key, exc)
        except TransientApiError as exc:
            message = f"retries exhausted: {exc}"
            self.state.record_failure(key, message)
            if self.once:
                self.state.set_status(key, "stopped", message)
                self._fail(f"{self.config.name} {dataset.value}: {message}", stream=dataset.value)
                outcome = "stopped"
            else:
                self.log.error(
                    "poll_failed", account=self.config.name, stream=dataset.value, message=message
                )
                outcome = "failed"
        except EventsApiError as exc:
            self.state.set_status(key, "stopped", str(exc), failed=True)
            self._fail(f"{self.config.name} {dataset.value}: {exc}", stream=dataset.value)
            outcome = "stopped"
        finally:
            self._log_cycle(key, source.pages, documents)
        if outcome == "stopped":
            del self.active[dataset]
        return outcome

    def _stale(self, dataset: Dataset, key: StreamKey, pages: int) -> str:
        """The API keeps answering ``has_more`` with records already delivered."""
        self.stale_pages[dataset] = 0
        message = (
            f"the API answered {pages} pages in a row with more to come but only events "
            "already delivered; stopped polling this stream so as not to spend the rate "
            "budget (the cursor is kept; the next run resumes there)"
        )
        self.state.record_failure(key, message)
        if self.once:
            self.state.set_status(key, "stopped", message)
            self._fail(f"{self.config.name} {dataset.value}: {message}", stream=dataset.value)
            return "stopped"
        self.log.error(
            "poll_failed", account=self.config.name, stream=dataset.value, message=message
        )
        return "failed"

    def _bad_cursor(self, dataset: Dataset, key: StreamKey, exc: CollectorError) -> str:
        if self.tunables.on_bad_cursor != "reset":
            message = (
                f"the API no longer accepts this stream's cursor ({exc}); "
                "rerun with --on-bad-cursor reset to restart from the last delivered "
                "event time minus the overlap"
            )
            self.state.set_status(key, "stopped", message, failed=True)
            self._fail(f"{self.config.name} {dataset.value}: {message}", stream=dataset.value)
            return "stopped"
        row = self.state.stream(key)
        if row is not None and row.last_event_time:
            restart = datetime.fromisoformat(row.last_event_time) - timedelta(
                seconds=self.tunables.reset_overlap
            )
        else:
            start = row.start_time if row is not None and row.start_time else None
            restart = datetime.fromisoformat(start) if start else datetime.now(UTC) - _DEFAULT_SINCE
        self.state.clear_cursor(key, utc_text(restart))
        self.log.error(
            "cursor_reset",
            account=self.config.name,
            stream=dataset.value,
            message=f"the API refused the cursor ({exc}); restarting from {utc_text(restart)} "
            "and skipping events already delivered",
        )
        return "more"

    def _log_cycle(self, key: StreamKey, pages: int, documents: int) -> None:
        row = self.state.stream(key)
        if row is None:
            return
        health = stream_health(row, self.silence_alert, time.time())
        self.log.info("cycle", pages=pages, documents=documents, **health.as_json())


def run_accounts(
    accounts: Sequence[AccountConfig],
    tunables: Tunables,
    state: StateDb,
    delivery: Delivery,
    stopper: Stopper,
    log: Log,
    *,
    once: bool,
    silence_alert: float,
    shard: str | None = None,
) -> list[AccountResult]:
    """Run every account in its own thread until done or stopped; return their results.

    The calling (main) thread only waits, in short joins, so that it stays free to run
    signal handlers, which set ``stopper``.
    """
    slots = PageSlots(tunables.pages_in_flight, stopper)
    runs = [
        _AccountRun(
            config,
            tunables,
            state,
            delivery,
            stopper,
            log,
            once=once,
            silence_alert=silence_alert,
            shard=shard,
            slots=slots,
        )
        for config in accounts
    ]
    results: dict[int, AccountResult] = {}

    def work(index: int, account_run: _AccountRun) -> None:
        try:
            results[index] = account_run.run()
        except Exception as exc:  # a bug must not take the other accounts down
            outcome = AccountResult(account_run.config.name, failed=True)
            outcome.problems.append(
                f"{account_run.config.name}: internal error: {type(exc).__name__}: {exc}"
            )
            log.error(
                "account_failed", account=account_run.config.name, message=outcome.problems[-1]
            )
            results[index] = outcome

    threads = [
        threading.Thread(target=work, args=(i, r), name=f"collect-{r.config.name}", daemon=True)
        for i, r in enumerate(runs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)
    return [results[i] for i in range(len(runs))]
