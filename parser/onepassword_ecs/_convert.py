"""The conversion loop: units in, ECS documents and error lines out, with accounting.

Work is done a *chunk* of input units at a time (about 2,000 lines or 1 MiB). The same
:func:`convert_chunk` runs in-process (``--workers 1``) or in worker processes, and
results are consumed strictly in input order, so both paths produce the same bytes and
the same error lines. Chunks keep memory flat: at most a bounded number of them exist at
once, whatever the input size.

The invariant the CLI promises and the tests check: every record read is either written
or reported, ``read == written + sum(rejected.values())``, for every chunk and therefore
for the whole run.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from typing import IO, Any

import orjson

from ._dataset import Dataset
from ._errors import NormalizationError
from ._ndjson import InputError, Unit, expand_unit, input_text, iter_units, open_input
from ._normalize import normalize

__all__ = [
    "ChunkResult",
    "Tally",
    "Task",
    "convert",
    "convert_chunk",
    "iter_chunks",
    "iter_tasks",
    "ordered_map",
]

CHUNK_LINES = 2000
CHUNK_BYTES = 1 << 20
INTERNAL_ERROR = "internal_error"
"""Reason reported when ``normalize`` fails with something other than NormalizationError.

That is a bug in a mapper, but one record must not stop the stream, and the record must
still be accounted for; the exception type and message go in the error line.
"""

_SORT = orjson.OPT_SORT_KEYS


@dataclass(frozen=True)
class Task:
    """One chunk of work, as sent to a worker: picklable and self-contained."""

    source: str
    units: list[Unit]
    dataset: Dataset | None = None
    keep_original: bool = False


@dataclass
class ChunkResult:
    """What one chunk produced: ready-to-write bytes plus its share of the accounting."""

    documents: bytes
    errors: bytes
    read: int
    written: int
    rejected: dict[str, int]
    datasets: dict[str, int]


@dataclass
class Tally:
    """Running totals for a whole run, updated as chunk results are written."""

    read: int = 0
    written: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    datasets: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def add(self, result: ChunkResult) -> None:
        self.read += result.read
        self.written += result.written
        self.rejected.update(result.rejected)
        self.datasets.update(result.datasets)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _error_line(
    exc: Exception, source: str, number: int, index: int | None, payload: Any, raw: bytes
) -> bytes:
    if isinstance(exc, NormalizationError):
        reason, message, path = exc.reason, exc.detail, exc.path
    else:
        reason, message, path = INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", None
    entry: dict[str, Any] = {"line": number}
    if index is not None:
        entry["index"] = index
    entry["source"] = source
    entry["reason"] = reason
    if path is not None:
        entry["path"] = path
    entry["message"] = message
    entry["input"] = input_text(payload, raw)
    return orjson.dumps(entry)


def _dataset_name(document: dict[str, Any]) -> str:
    event = document.get("event")
    name = event.get("dataset") if isinstance(event, dict) else None
    return name if isinstance(name, str) else "unknown"


def convert_chunk(task: Task) -> ChunkResult:
    """Normalize every record of a chunk; the unit of work of both execution paths.

    Plain record lines (the overwhelming majority) go straight to ``normalize`` as
    bytes; only lines that may be arrays or pages go through :func:`expand_unit`.
    Whatever fails for one record, in ``normalize`` or in encoding its document, is
    that record's error line: one record never ends the run.
    """
    documents: list[bytes] = []
    errors: list[bytes] = []
    rejected: dict[str, int] = {}
    datasets: dict[str, int] = {}
    read = 0
    dataset, keep_original = task.dataset, task.keep_original
    for number, raw in task.units:
        if raw[0] == 0x7B and b'"items"' not in raw:  # '{': a plain record line
            records: Iterable[tuple[int | None, Any]] = ((None, raw),)
        else:
            records = expand_unit(raw)
        for index, payload in records:
            read += 1
            try:
                document = normalize(payload, dataset=dataset, keep_original=keep_original)
                text = orjson.dumps(document, option=_SORT)
            except Exception as exc:
                errors.append(_error_line(exc, task.source, number, index, payload, raw))
                reason = exc.reason if isinstance(exc, NormalizationError) else INTERNAL_ERROR
                rejected[reason] = rejected.get(reason, 0) + 1
                continue
            documents.append(text)
            name = _dataset_name(document)
            datasets[name] = datasets.get(name, 0) + 1
    return ChunkResult(
        documents=b"\n".join(documents) + b"\n" if documents else b"",
        errors=b"\n".join(errors) + b"\n" if errors else b"",
        read=read,
        written=len(documents),
        rejected=rejected,
        datasets=datasets,
    )


def iter_chunks(
    units: Iterable[Unit], max_lines: int = CHUNK_LINES, max_bytes: int = CHUNK_BYTES
) -> Iterator[list[Unit]]:
    """Group units into lists of at most ``max_lines`` units or about ``max_bytes`` bytes.

    The byte bound matters for page lines: 2,000 lines of 1,000-item pages would
    otherwise be two million records in one chunk.
    """
    chunk: list[Unit] = []
    size = 0
    for unit in units:
        chunk.append(unit)
        size += len(unit[1])
        if len(chunk) >= max_lines or size >= max_bytes:
            yield chunk
            chunk = []
            size = 0
    if chunk:
        yield chunk


def iter_tasks(
    inputs: Sequence[str],
    *,
    dataset: Dataset | None = None,
    keep_original: bool = False,
    stdin: IO[bytes] | None = None,
    max_lines: int | None = None,
    max_bytes: int | None = None,
) -> Iterator[Task]:
    """Read the inputs one after the other and yield their chunks as tasks.

    Each input is opened only when its turn comes and closed when it is exhausted.
    Raises :class:`InputError` (after yielding everything read before the failure).
    Chunk bounds default to the module's CHUNK_LINES/CHUNK_BYTES, read at call time
    so tests can shrink them to exercise many chunks with little data.
    """
    lines_bound = CHUNK_LINES if max_lines is None else max_lines
    bytes_bound = CHUNK_BYTES if max_bytes is None else max_bytes
    for name in inputs:
        with ExitStack() as stack:
            stream = open_input(name, stack, stdin)
            for units in iter_chunks(iter_units(stream, name), lines_bound, bytes_bound):
                yield Task(name, units, dataset, keep_original)


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides what to do
    # (flush, summary, exit 130), workers just finish their chunk.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ordered_map(
    function: Callable[[Task], ChunkResult], tasks: Iterable[Task], workers: int = 1
) -> Generator[ChunkResult, None, None]:
    """``map(function, tasks)``, in order, in ``workers`` processes when more than one.

    At most ``2 * workers`` tasks are in flight, so memory stays bounded (the stdlib's
    ``Executor.map`` and ``Pool.imap`` both read their input ahead without limit). If
    reading fails with :class:`InputError`, the results of tasks already submitted are
    still yielded first, as they would be in-process, and then the error is raised.
    """
    if workers <= 1:
        yield from map(function, tasks)
        return
    # forkserver: no fork() of a possibly multi-threaded parent (unsafe, and warned
    # about from Python 3.12), yet cheaper than spawn: the server imports the package
    # once and each worker is forked from it ready to run.
    context: BaseContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload([__name__])
        context = forkserver
    else:
        context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_sigint)
    pending: deque[Future[ChunkResult]] = deque()
    try:
        try:
            for task in tasks:
                pending.append(pool.submit(function, task))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
        except InputError:
            while pending:
                yield pending.popleft().result()
            raise
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def convert(
    inputs: Sequence[str],
    *,
    write_documents: Callable[[bytes], object],
    write_errors: Callable[[bytes], object],
    tally: Tally,
    dataset: Dataset | None = None,
    keep_original: bool = False,
    workers: int = 1,
    stdin: IO[bytes] | None = None,
    on_chunk: Callable[[Tally], object] | None = None,
) -> Tally:
    """Convert ``inputs`` in order, writing as each chunk completes; return ``tally``.

    ``tally`` is passed in, not created here, so that a caller interrupted midway
    (Ctrl-C, closed pipe, :class:`InputError`) still knows what was done.
    """
    tasks = iter_tasks(inputs, dataset=dataset, keep_original=keep_original, stdin=stdin)
    # closing(): when a write fails or Ctrl-C lands, shut the worker pool down now,
    # not whenever the abandoned generator happens to be collected.
    with closing(ordered_map(convert_chunk, tasks, workers)) as results:
        for result in results:
            if result.documents:
                write_documents(result.documents)
            if result.errors:
                write_errors(result.errors)
            tally.add(result)
            if on_chunk is not None:
                on_chunk(tally)
    return tally
