"""The convert status line drawn by rich (cli/_progress.py) on a terminal."""

from __future__ import annotations

import io

from onepassword_ecs.cli._progress import RichProgress
from onepassword_ecs.stream import Tally


def tally(read: int, written: int) -> Tally:
    counts = Tally()
    counts.read, counts.written = read, written
    return counts


def test_status_line_shows_counts_throttles_and_erases() -> None:
    screen = io.StringIO()
    progress = RichProgress(screen, interval=60, force_terminal=True)
    progress.update(tally(1234, 1200), force=True)
    drawn = screen.getvalue()
    assert "1,234 read, 1,200 written, 0 rejected" in drawn
    progress.update(tally(5000, 5000))  # within the interval: not redrawn
    assert screen.getvalue() == drawn
    progress.clear()
    erased = screen.getvalue()[len(drawn) :]
    assert "\x1b[2K" in erased  # the transient line is erased before anything else prints
    progress.update(tally(5000, 4990), force=True)  # and comes back after
    assert "5,000 read, 4,990 written" in screen.getvalue()[len(drawn) + len(erased) :]
    progress.clear()


def test_clear_without_a_line_writes_nothing() -> None:
    screen = io.StringIO()
    RichProgress(screen, force_terminal=True).clear()
    assert screen.getvalue() == ""
