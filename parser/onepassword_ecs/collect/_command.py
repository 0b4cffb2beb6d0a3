"""``collect`` put together: lock the state, open the sinks, run the accounts, report.

The CLI parses options into a :class:`CollectRequest`; everything else happens here, so
the library can run a collector the same way the command does.

Sinks are a list (:func:`open_sinks`): every page is given to each sink and each is
flushed before the cursor moves. Today that is the documents' NDJSON output (an
exactly-once file with ``-o``, else standard output); another destination, such as an
embedded store, is one more entry in that list.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TextIO

from .._errors import CollectorConfigError
from ..stream import Batch, NdjsonSink, Sink, SinkResult, Stage, Tally
from ._config import AccountConfig, Tunables
from ._health import Log, format_status
from ._paths import check_distinct_files
from ._run import Delivery, run_accounts
from ._shard import Shard
from ._state import StateDb
from ._stopper import Stopper
from ._writer import ExactlyOnceFile

__all__ = ["CollectOutcome", "CollectRequest", "collect", "open_sinks", "status"]


@dataclass(frozen=True)
class CollectRequest:
    """Everything a run needs, checked."""

    accounts: Sequence[AccountConfig]
    tunables: Tunables
    state_path: Path
    output: str | None = None
    errors: str | None = None
    once: bool = False
    silence_alert: float = 86400.0
    quiet: bool = False
    stages: Sequence[Stage] = ()
    """Applied to every document after normalize, as ``convert`` does (data_stream.*)."""
    sinks: Sequence[Sink] = ()
    """Destinations opened by the caller (the store, clusters), beside ``output``; each is
    flushed before every cursor commit like the file."""
    wrap_errors: Callable[[Sink], Sink] | None = None
    """Applied to the error sink (redaction: rejected records' raw input is withheld)."""
    shard: Shard | None = None
    """``--shard K/N``: poll only the accounts this shard holds (see :mod:`._shard`)."""
    store: str | None = None
    """The event store's path among ``sinks``, if any: checked against the other files."""


@dataclass
class CollectOutcome:
    """What a run did: ``failed`` when any stream stopped on an error."""

    failed: bool
    problems: list[str] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    duplicates: int = 0
    interrupted: bool = False


class _TextErrors:
    """Error lines to standard error (a text stream) when no ``--errors`` file is given."""

    name = "errors"

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, batch: Batch) -> SinkResult:
        self._stream.write(batch.ndjson.decode("utf-8"))
        return SinkResult(accepted=batch.count)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        """Standard error stays open."""


def open_sinks(
    output: str | None,
    state: StateDb,
    stdout: IO[bytes],
    warnings: list[str],
    stack: ExitStack,
    others: Sequence[Sink] = (),
) -> list[Sink]:
    """The document sinks of a run, each flushed before every cursor commit.

    ``output`` is a file (exactly once) or ``-`` (standard output); ``others`` are the
    destinations the caller opened. With neither, documents go to standard output.
    """
    sinks: list[Sink] = []
    if output and output != "-":
        file_sink = ExactlyOnceFile(output, state, warnings)
        stack.callback(file_sink.close)
        sinks.append(file_sink)
    elif output == "-" or not others:
        sinks.append(NdjsonSink(stdout, name="stdout"))
    sinks.extend(others)
    return sinks


@contextmanager
def _state_lock(path: Path) -> Iterator[None]:
    """One collector per state database: a second one would fetch the same pages.

    Creates the state folder on first use (the default one under $XDG_STATE_HOME may
    not exist yet).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(f"{path}.lock", "a")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise CollectorConfigError(
            f"cannot use the state database {path}: {exc.strerror}"
        ) from None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise CollectorConfigError(
                f"another collector is running with the state database {path}"
            ) from None
        yield


@contextmanager
def _signals_stop(stopper: Stopper) -> Iterator[None]:
    """SIGTERM and SIGINT stop the run gracefully (main thread only; else no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stopper.stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _open_state(path: Path) -> StateDb:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = StateDb(path)
    except OSError as exc:
        raise CollectorConfigError(
            f"cannot use the state database {path}: {exc.strerror}"
        ) from None
    except Exception as exc:  # sqlite3.Error: not a database, locked, read-only...
        raise CollectorConfigError(f"cannot use the state database {path}: {exc}") from None
    with suppress(OSError):  # the file holds no secret, but cursors are nobody else's business
        os.chmod(path, 0o600)
    return state


def _close_quietly(handle: IO[bytes]) -> None:
    with suppress(OSError):
        handle.close()


def collect(
    request: CollectRequest,
    *,
    stdout: IO[bytes],
    stderr: TextIO,
    warnings: Sequence[str] = (),
    stopper: Stopper | None = None,
) -> CollectOutcome:
    """Run the collector as asked; raise CollectorConfigError before polling if it cannot."""
    check_distinct_files(
        {
            "-o": request.output,
            "--state": request.state_path,
            "--store": request.store,
            "--errors": request.errors,
        }
    )
    log = Log(stderr, quiet=request.quiet)
    for warning in warnings:
        log.warning("configuration", message=warning)
    accounts = list(request.accounts)
    if request.shard is not None:
        shard = request.shard
        accounts = [account for account in accounts if shard.holds(account.name)]
        log.info(
            "shard",
            shard=str(shard),
            accounts=[account.name for account in accounts],
            message=f"shard {shard} holds {len(accounts)} of {len(request.accounts)} accounts",
        )
    stop = stopper or Stopper()
    with ExitStack() as stack:
        stack.enter_context(_state_lock(request.state_path))
        state = _open_state(request.state_path)
        stack.callback(state.close)
        opened: list[str] = []
        sinks = open_sinks(request.output, state, stdout, opened, stack, request.sinks)
        for warning in opened:
            log.warning("output", message=warning)
        errors: Sink
        if request.errors:
            try:
                handle = open(request.errors, "ab")  # noqa: SIM115 - closed by the stack
            except OSError as exc:
                raise CollectorConfigError(
                    f"cannot open {request.errors}: {exc.strerror}"
                ) from None
            # What could not be flushed was reported when the flush failed (and its
            # page not committed); closing must not turn that into a traceback.
            stack.callback(_close_quietly, handle)
            errors = NdjsonSink(handle, name=request.errors, durable=True)
        else:
            errors = _TextErrors(stderr)
        if request.wrap_errors is not None:
            errors = request.wrap_errors(errors)
        tally = Tally()
        delivery = Delivery(
            sinks, errors, state, tally, request.tunables.reset_overlap, request.stages
        )
        with _signals_stop(stop):
            results = run_accounts(
                accounts,
                request.tunables,
                state,
                delivery,
                stop,
                log,
                once=request.once,
                silence_alert=request.silence_alert,
                shard=None if request.shard is None else str(request.shard),
            )
        problems = [problem for result in results for problem in result.problems]
        outcome = CollectOutcome(
            failed=any(result.failed for result in results),
            problems=problems,
            tally=tally,
            duplicates=delivery.duplicates,
            interrupted=stop.stopping,
        )
        log.info(
            "run_done",
            records=tally.read,
            documents=tally.written,
            rejected=tally.rejected_total,
            duplicates_skipped=delivery.duplicates,
            failed=outcome.failed,
            interrupted=outcome.interrupted,
        )
        return outcome


def status(state_path: Path, silence_alert: float, shards: int | None = None) -> tuple[str, bool]:
    """The ``--status`` report from the state database, and whether all is healthy.

    The file is only read (SQLite ``mode=ro``): ``--status`` runs beside a collector,
    often as another user, and must not add tables, switch the journal mode or change
    permissions. A file without the collector's tables is refused.
    """
    if not state_path.exists():
        raise CollectorConfigError(f"no state database at {state_path} (has collect run yet?)")
    try:
        state = StateDb(state_path, read_only=True)
    except sqlite3.Error as exc:
        raise CollectorConfigError(f"cannot read the state database {state_path}: {exc}") from None
    try:
        return format_status(state, silence_alert, shards=shards)
    except sqlite3.Error as exc:
        raise CollectorConfigError(f"cannot read the state database {state_path}: {exc}") from None
    finally:
        state.close()
