"""The live status line of ``convert`` (and ``collect``), drawn with rich.

Why here and not in ``stream``: the stream room computes the counts (``Tally``) and
offers a plain ``\\r`` status line; which terminal library draws it is the command
line's choice, and the stream room must not depend on it. rich draws the same line
with a spinner and aligned numbers, erases it cleanly before error lines and at the
end (a transient ``Live`` display), and is only imported when standard error is a
terminal, so a piped or ``--quiet`` run never loads it.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from ..stream import Progress, Tally

__all__ = ["RichProgress", "progress_line"]


class RichProgress(Progress):
    """:class:`stream.Progress` with rich's rendering: same throttle, same calls."""

    def __init__(self, stream: TextIO, interval: float = 0.2, *, force_terminal: bool = False):
        super().__init__(stream, interval)
        from rich.console import Console

        self._console = Console(file=stream, force_terminal=force_terminal or None, highlight=False)
        self._live: Any = None
        self._due = 0.0

    def update(self, tally: Tally, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._due:
            return
        self._due = now + self._interval
        from rich.live import Live
        from rich.spinner import Spinner

        elapsed = tally.elapsed()
        rate = tally.read / elapsed if elapsed > 0 else 0.0
        text = (
            f"{tally.read:,} read, {tally.written:,} written, "
            f"{tally.rejected_total:,} rejected ({rate:,.0f}/s)"
        )
        line = Spinner("dots", text=text)
        if self._live is None:
            self._live = Live(line, console=self._console, transient=True, auto_refresh=False)
            self._live.start()
        self._live.update(line, refresh=True)

    def clear(self) -> None:
        if self._live is not None:
            self._live.stop()  # transient: the line is erased
            self._live = None
            self._due = 0.0


def progress_line(stream: TextIO) -> Progress:
    """The status line for a terminal's standard error.

    rich belongs to the ``investigate`` extra; a core install draws the stream room's
    plain ``\\r`` line instead.
    """
    try:
        import rich  # noqa: F401
    except ImportError:
        return Progress(stream)
    return RichProgress(stream)
