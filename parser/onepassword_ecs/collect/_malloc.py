"""Fewer glibc malloc arenas for a collector with many account threads.

glibc gives each thread that allocates concurrently its own arena, up to eight per
core, and an arena keeps memory it has freed. A collector converts a page of up to
1,000 events in whichever account thread fetched it, so each of up to 8 x cores
arenas ends up holding a page's worth of freed memory: the soak benchmark measured
433 MB at 50 accounts on 2 cores, against 225 MB with two arenas, at the same speed
(conversion is one page at a time under one lock anyway). On a 32-core machine the
default would allow 256 arenas.

:func:`limit_malloc_arenas` asks glibc for at most ``count`` arenas (``mallopt
M_ARENA_MAX``), before the account threads start. The CLI calls it; a library user
embedding the collector decides for their own process. Elsewhere than glibc it does
nothing. ``MALLOC_ARENA_MAX`` in the environment, when set, wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["limit_malloc_arenas"]

_M_ARENA_MAX = -8  # from glibc's malloc.h


def limit_malloc_arenas(count: int = 2) -> bool:
    """Ask glibc for at most ``count`` malloc arenas; say whether it was done."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, count))
