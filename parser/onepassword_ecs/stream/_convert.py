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
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from typing import Any

import orjson

from .._errors import NormalizationError
from ..mapping import Dataset, DataStreamStage, normalize, normalize_tagged
from ._bounded import MAX_RECORD_BYTES, PAGE_FACTOR, Oversize
from ._reader import InputError, Unit, expand_unit, input_fields
from ._sink import Batch, Sink, SinkResult
from ._source import Chunk, Source
from ._stage import STAGE_ERROR, Stage, apply_stages

__all__ = [
    "INTERNAL_ERROR",
    "RECORD_TOO_LARGE",
    "ChunkResult",
    "SinkTally",
    "Tally",
    "Task",
    "convert",
    "convert_chunk",
    "deliver",
    "iter_tasks",
    "ordered_map",
    "sink_error_lines",
]

INTERNAL_ERROR = "internal_error"
"""Reason reported when ``normalize`` fails with something other than NormalizationError.

That is a bug in a mapper, but one record must not stop the stream, and the record must
still be accounted for; the exception type and message go in the error line.
"""

RECORD_TOO_LARGE = "record_too_large"
"""Reason reported for a record over ``max_record_bytes`` (see :mod:`._bounded`)."""

_SORT = orjson.OPT_SORT_KEYS


@dataclass(frozen=True)
class Task:
    """One chunk of work, as sent to a worker: picklable and self-contained.

    ``whole_records``: every unit is one record, never an array or a page to open
    (the collector's units are the items of a page, each encoded on its own). Without
    it, an item that is itself an array (``[]``, ``[[]]``) would be opened as a list
    of records, and an empty one would vanish: read as nothing, reported as nothing.
    """

    origin: Mapping[str, str]
    units: list[Unit]
    dataset: Dataset | None = None
    keep_original: bool = False
    stages: tuple[Stage, ...] = ()
    max_record_bytes: int = MAX_RECORD_BYTES
    assume_timezone: str | None = None
    whole_records: bool = False


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
class SinkTally:
    """What one sink made of the documents it was given."""

    written: int = 0
    duplicates: int = 0
    rejected: int = 0

    def add(self, result: SinkResult) -> None:
        self.written += result.accepted
        self.duplicates += result.duplicates
        self.rejected += len(result.rejected)


@dataclass
class Tally:
    """Running totals for a whole run, updated as chunk results are delivered.

    ``written`` counts documents produced and handed to the sinks; ``sinks`` says what
    each sink made of them (written, already present, refused).
    """

    read: int = 0
    written: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    datasets: Counter[str] = field(default_factory=Counter)
    sinks: dict[str, SinkTally] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def add(self, result: ChunkResult) -> None:
        self.read += result.read
        self.written += result.written
        self.rejected.update(result.rejected)
        self.datasets.update(result.datasets)

    def sink(self, name: str) -> SinkTally:
        return self.sinks.setdefault(name, SinkTally())

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _error_line(
    exc: Exception,
    origin: Mapping[str, str],
    number: int,
    index: int | None,
    payload: Any,
    raw: bytes | None,
) -> bytes:
    if isinstance(exc, NormalizationError):
        reason, message, path = exc.reason, exc.detail, exc.path
    else:
        reason, message, path = INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", None
    entry: dict[str, Any] = {"line": number}
    if index is not None:
        entry["index"] = index
    entry.update(origin)
    entry["reason"] = reason
    if path is not None:
        entry["path"] = path
    entry["message"] = message
    entry.update(input_fields(payload, raw))
    return orjson.dumps(entry)


def _too_large(record: Oversize, limit: int) -> NormalizationError:
    return NormalizationError(
        RECORD_TOO_LARGE,
        f"the record is {record.length:,} bytes, over the limit of {limit:,} "
        f"(max_record_bytes; a page or array line may be {PAGE_FACTOR} times that); "
        f"input holds its first {len(record.head):,} bytes",
    )


def _dataset_name(document: dict[str, Any]) -> str:
    event = document.get("event")
    name = event.get("dataset") if isinstance(event, dict) else None
    return name if isinstance(name, str) else "unknown"


def _staged(document: dict[str, Any], stages: tuple[Stage, ...]) -> dict[str, Any]:
    try:
        return apply_stages(document, stages)
    except NormalizationError:
        raise
    except Exception as exc:
        raise NormalizationError(STAGE_ERROR, f"{type(exc).__name__}: {exc}") from exc


def _bytes_path_stages(stages: tuple[Stage, ...]) -> tuple[tuple[Stage, ...], str | None]:
    """(stages that need the document as a dict, data-stream namespace for normalize).

    A leading :class:`DataStreamStage` is the same as ``normalize``'s
    ``data_stream_namespace`` (the fields land before any later stage sees the
    document), so it becomes that argument: with no other stage, records take the
    bytes path (``normalize_tagged``) and never exist as a dict outside ``mapping``.
    """
    if stages and type(stages[0]) is DataStreamStage:
        return stages[1:], stages[0].namespace
    return stages, None


def convert_chunk(task: Task) -> ChunkResult:
    """Normalize every record of a chunk; the unit of work of both execution paths.

    Plain record lines (the overwhelming majority) go straight to ``normalize`` as
    bytes; only lines that may be arrays or pages go through :func:`expand_unit`.
    Whatever fails for one record, in ``normalize``, a stage or in encoding its
    document, is that record's error line: one record never ends the run.
    """
    documents: list[bytes] = []
    errors: list[bytes] = []
    rejected: dict[str, int] = {}
    datasets: dict[str, int] = {}
    read = 0
    dataset, keep_original, stages = task.dataset, task.keep_original, task.stages
    limit = task.max_record_bytes
    assume_timezone = task.assume_timezone
    stages, namespace = _bytes_path_stages(stages)
    whole = task.whole_records
    for number, raw in task.units:
        if isinstance(raw, Oversize):
            records: Iterable[tuple[int | None, Any]] = ((None, raw),)
            line: bytes | None = None
        elif raw[0] == 0x7B and len(raw) <= limit and b'"items"' not in raw:
            records = ((None, raw),)  # '{': a plain record line, the common case
            line = raw
        elif whole:
            records = ((None, raw if len(raw) <= limit else Oversize.of(raw.strip())),)
            line = raw
        else:
            records = expand_unit(raw, limit)
            line = raw
        for index, payload in records:
            read += 1
            try:
                if isinstance(payload, Oversize):
                    raise _too_large(payload, limit)
                if stages:
                    document = normalize(
                        payload,
                        dataset=dataset,
                        keep_original=keep_original,
                        assume_timezone=assume_timezone,
                        data_stream_namespace=namespace,
                    )
                    document = _staged(document, stages)
                    text = orjson.dumps(document, option=_SORT)
                    name = _dataset_name(document)
                else:
                    text, name = normalize_tagged(
                        payload,
                        dataset=dataset,
                        keep_original=keep_original,
                        assume_timezone=assume_timezone,
                        data_stream_namespace=namespace,
                    )
            except Exception as exc:
                errors.append(_error_line(exc, task.origin, number, index, payload, line))
                reason = exc.reason if isinstance(exc, NormalizationError) else INTERNAL_ERROR
                rejected[reason] = rejected.get(reason, 0) + 1
                continue
            documents.append(text)
            datasets[name] = datasets.get(name, 0) + 1
    return ChunkResult(
        documents=b"\n".join(documents) + b"\n" if documents else b"",
        errors=b"\n".join(errors) + b"\n" if errors else b"",
        read=read,
        written=len(documents),
        rejected=rejected,
        datasets=datasets,
    )


def iter_tasks(
    source: Source,
    *,
    dataset: Dataset | None = None,
    keep_original: bool = False,
    stages: Sequence[Stage] = (),
    max_record_bytes: int = MAX_RECORD_BYTES,
    assume_timezone: str | None = None,
) -> Iterator[Task]:
    """The source's chunks as tasks carrying the conversion options."""
    chosen = tuple(stages)
    chunk: Chunk
    for chunk in source:
        yield Task(
            chunk.origin,
            chunk.units,
            dataset,
            keep_original,
            chosen,
            max_record_bytes,
            assume_timezone,
        )


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group, and systemd sends SIGTERM to the whole
    # control group; the parent alone decides what to do (keep what landed, summary,
    # exit status), workers just finish their chunk and are shut down by the parent.
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, signal.SIG_IGN)


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


def sink_error_lines(sink: str, batch: Batch, result: SinkResult) -> bytes:
    """Error lines for the documents a sink refused: the sink's reason and the document.

    Nothing a sink refuses is lost: the line carries the whole document, so it can be
    fixed and delivered again.
    """
    if not result.rejected:
        return b""
    documents = batch.documents()
    lines = []
    for rejection in result.rejected:
        document = documents[rejection.index]
        lines.append(
            orjson.dumps(
                {
                    "sink": sink,
                    "reason": rejection.reason,
                    "message": rejection.message,
                    "document": orjson.Fragment(document),
                }
            )
        )
    return b"\n".join(lines) + b"\n"


def deliver(result: ChunkResult, sinks: Sequence[Sink], errors: Sink, tally: Tally) -> None:
    """Hand one chunk's documents to every sink and its error lines to the error sink.

    A document a sink refused becomes an error line naming the sink and its reason.
    The chunk is counted first and its rejected records reported before any document
    is written: if a sink then fails (a closed pipe, Ctrl-C), the summary still knows
    what was read and converted, and no rejected record of the chunk goes unreported.
    """
    tally.add(result)
    if result.errors:
        errors.write(Batch(result.errors, sum(result.rejected.values())))
    if result.documents:
        batch = Batch(result.documents, result.written)
        for sink in sinks:
            answer = sink.write(batch)
            tally.sink(sink.name).add(answer)
            refused = sink_error_lines(sink.name, batch, answer)
            if refused:
                errors.write(Batch(refused, len(answer.rejected)))


def convert(
    source: Source,
    *,
    sinks: Sequence[Sink],
    errors: Sink,
    tally: Tally,
    dataset: Dataset | None = None,
    keep_original: bool = False,
    stages: Sequence[Stage] = (),
    workers: int = 1,
    on_chunk: Callable[[Tally], object] | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
    assume_timezone: str | None = None,
) -> Tally:
    """Convert what ``source`` yields, in order, delivering as each chunk completes.

    ``tally`` is passed in, not created here, so that a caller interrupted midway
    (Ctrl-C, closed pipe, :class:`InputError`) still knows what was done. Sinks are
    not flushed here: the caller decides when durability is needed (at the end, or
    before a cursor moves). ``max_record_bytes`` is the record limit applied to the
    items of pages (the source applies it to lines; see :mod:`._bounded`).
    """
    for sink in sinks:
        tally.sink(sink.name)
    tasks = iter_tasks(
        source,
        dataset=dataset,
        keep_original=keep_original,
        stages=stages,
        max_record_bytes=max_record_bytes,
        assume_timezone=assume_timezone,
    )
    # closing(): when a write fails or Ctrl-C lands, shut the worker pool down now,
    # not whenever the abandoned generator happens to be collected.
    with closing(ordered_map(convert_chunk, tasks, workers)) as results:
        for result in results:
            deliver(result, sinks, errors, tally)
            if on_chunk is not None:
                on_chunk(tally)
    return tally
