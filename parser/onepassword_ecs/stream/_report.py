"""What ``convert`` tells the person running it: a live status line and a summary.

Both go to standard error, so standard output stays pure NDJSON for the next tool in
the pipe. The status line is redrawn in place with ``\\r`` and throttled, so a fast run
does not spend its time repainting a terminal.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from ._convert import Tally

__all__ = ["Delivery", "Progress", "format_summary"]


@dataclass(frozen=True)
class Delivery:
    """How far the documents got, when that is not simply "all of them were written".

    ``count`` documents reached the output (``verb`` says in what sense: "written",
    or "sent to the pipe" when its reader may not have read them all); ``ending`` says
    why the run stopped ("interrupted", "the reader closed the output").
    """

    count: int
    verb: str
    ending: str


def _records(count: int) -> str:
    return f"{count:,} record" + ("" if count == 1 else "s")


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


class Progress:
    """A single, self-overwriting status line on a terminal.

    ``update`` redraws at most every ``interval`` seconds; ``clear`` erases the line
    (before other text is printed to the same terminal, and at the end).
    """

    def __init__(self, stream: TextIO, interval: float = 0.2) -> None:
        self._stream = stream
        self._interval = interval
        self._next = 0.0
        self._width = 0

    def update(self, tally: Tally, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next:
            return
        self._next = now + self._interval
        elapsed = tally.elapsed()
        text = (
            f"{_records(tally.read)} read, {tally.written:,} written, "
            f"{tally.rejected_total:,} rejected ({_rate(tally.read, elapsed):,.0f}/s)"
        )
        padding = " " * max(0, self._width - len(text))
        self._width = len(text)
        self._stream.write(f"\r{text}{padding}")
        self._stream.flush()

    def clear(self) -> None:
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
            self._next = 0.0


def _sink_lines(tally: Tally, durable: Mapping[str, int] | None) -> list[str]:
    """One line per sink, when there is more to say than "everything written".

    A lone file or standard-output sink that took every document adds nothing to the
    first line; a store that found duplicates, or any second sink, gets its own line.
    After an interruption (``durable`` given) every sink gets one, and "written" counts
    only what is durable there: a store's commit, what the operating system took, never
    documents handed to an output that was then not kept.
    """
    sinks = tally.sinks
    plain = len(sinks) <= 1 and all(s.duplicates == 0 and s.rejected == 0 for s in sinks.values())
    if plain and durable is None:
        return []
    lines = []
    for name, s in sinks.items():
        written = s.written if durable is None else durable.get(name, 0)
        line = (
            f"  sink {name}: {written:,} written, {s.duplicates:,} duplicates, "
            f"{s.rejected:,} rejected"
        )
        if written != s.written:
            line += f" ({s.written - written:,} taken but not kept)"
        lines.append(line)
    return lines


def format_summary(
    tally: Tally,
    *,
    interrupted: bool = False,
    delivery: Delivery | None = None,
    durable: Mapping[str, int] | None = None,
) -> str:
    """The end-of-run report: counts, rejections by reason, documents per dataset, speed.

    Without ``delivery`` every converted document is said to be written. With it, the
    first line keeps "converted" and "written" (or the delivery's own verb) apart, so a
    run cut short never claims documents that did not reach the output. ``durable``
    (documents durable per sink, after an interruption) makes the per-sink lines say
    only what is durable.
    """
    elapsed = tally.elapsed()
    if delivery is None:
        lines = [
            f"onepassword-ecs: {_records(tally.read)} read, {tally.written:,} written, "
            f"{tally.rejected_total:,} rejected" + (" (interrupted)" if interrupted else "")
        ]
        produced = "written"
    else:
        lines = [
            f"onepassword-ecs: {_records(tally.read)} read, {tally.written:,} converted, "
            f"{delivery.count:,} {delivery.verb}, {tally.rejected_total:,} rejected "
            f"({delivery.ending})"
        ]
        produced = "converted"
    if tally.rejected:
        reasons = ", ".join(
            f"{reason} {count:,}" for reason, count in sorted(tally.rejected.items())
        )
        lines.append(f"  rejected by reason: {reasons}")
    if tally.datasets:
        names = ", ".join(
            f"{name.removeprefix('1password.')} {count:,}"
            for name, count in sorted(tally.datasets.items())
        )
        lines.append(f"  {produced} by dataset: {names}")
    lines.extend(_sink_lines(tally, durable))
    lines.append(f"  {elapsed:.2f} s, {_rate(tally.read, elapsed):,.0f} records/s")
    return "\n".join(lines) + "\n"
