"""One measured pass for ``bench_stages.py --callgrind``: run under valgrind, never timed.

Every run, whatever its mode, imports the same modules, reads the same corpus, loads
the same lookup files into an :class:`~onepassword_ecs.stages.Enricher` and warms
normalize and the enricher on the same warm-up records; only the loop differs. So
(a mode's count - the baseline's count) / records is what one record costs that mode,
and (enriched - plain) / records is what enrichment adds, independent of the load.

Usage (normally from bench_stages.py): ``_callgrind_stages_probe.py MODE CORPUS LOOKUPS
WARMUP`` where MODE is ``baseline``, ``plain`` or ``enriched``.
"""

from __future__ import annotations

import gc
import sys

import orjson

from onepassword_ecs import normalize
from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.stages import Enricher


def main() -> int:
    mode, corpus, lookups, warm_text = sys.argv[1:5]
    warm = int(warm_text)
    with open(corpus, "rb") as handle:
        lines = handle.read().splitlines()
    enricher = Enricher([lookups])
    for line in lines[:warm]:
        enricher(normalize(line))
    measured = lines[warm:]
    # The lookup tables are a large heap of long-lived objects: a full collection that
    # walks them lands in one mode's loop and not another's, depending only on how
    # many containers each allocated, and moves the per-record figure by thousands of
    # instructions either way. Frozen, the collector never walks them.
    gc.collect()
    gc.freeze()
    dumps = orjson.dumps
    if mode == "plain":
        for line in measured:
            try:  # noqa: SIM105 - a context manager per record would be counted too
                dumps(normalize(line))
            except NormalizationError:
                pass
    elif mode == "enriched":
        for line in measured:
            try:  # noqa: SIM105
                dumps(enricher(normalize(line)))
            except NormalizationError:
                pass
    elif mode != "baseline":
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
