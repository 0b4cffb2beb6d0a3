"""One measured pass for ``bench.py --callgrind``: run under valgrind, never timed.

Why a separate process per mode: callgrind counts every instruction of a process, so
each figure is (this script with the loop) minus (this script without it). Both runs
import the same modules, read the same corpus file and warm the mapping tables on the
same warm-up records, so the difference is the loop alone. The loop passes over the
corpus once, like a real stream (no replayed rounds that would keep every memo warm).

Usage (normally from bench.py): ``_callgrind_probe.py MODE CORPUS WARMUP`` where MODE is
``baseline``, ``floor``, ``library`` or ``bytes``.
"""

from __future__ import annotations

import sys

import orjson

from onepassword_ecs import normalize
from onepassword_ecs._errors import NormalizationError


def main() -> int:
    mode, corpus, warm_text = sys.argv[1], sys.argv[2], sys.argv[3]
    warm = int(warm_text)
    with open(corpus, "rb") as handle:
        lines = handle.read().splitlines()
    for line in lines[:warm]:
        normalize(line)
    measured = lines[warm:]
    dumps, loads = orjson.dumps, orjson.loads
    if mode == "floor":
        for line in measured:
            dumps(loads(line))
    elif mode == "library":
        for line in measured:
            try:  # noqa: SIM105 - a context manager per record would be counted too
                dumps(normalize(line))
            except NormalizationError:
                pass
    elif mode == "bytes":
        import onepassword_ecs

        to_bytes = getattr(onepassword_ecs, "normalize_bytes", None)
        if to_bytes is None:
            return 3
        for line in measured:
            try:  # noqa: SIM105
                to_bytes(line)
            except NormalizationError:
                pass
    elif mode != "baseline":
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
