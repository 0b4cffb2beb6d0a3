"""One measured pass for ``bench_indicators.py``: run under valgrind, never timed.

Every run, whatever its mode, imports the same modules, reads the same corpus, loads
the same feed into an :class:`~onepassword_ecs.stages.IndicatorMatcher` and warms
normalize and the matcher on the same warm-up records; only the loop differs. So
(a mode's count - the baseline's count) / records is what one record costs that mode.

Usage: ``_callgrind_indicators_probe.py MODE CORPUS FEED WARMUP``, MODE ``baseline``,
``plain`` or ``matched``.
"""

from __future__ import annotations

import gc
import sys

import orjson

from onepassword_ecs import normalize
from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.stages import IndicatorMatcher


def main() -> int:
    mode, corpus, feed, warm_text = sys.argv[1:5]
    warm = int(warm_text)
    with open(corpus, "rb") as handle:
        lines = handle.read().splitlines()
    matcher = IndicatorMatcher([feed])
    for line in lines[:warm]:
        matcher(normalize(line))
    measured = lines[warm:]
    gc.collect()
    gc.freeze()  # the feed's tables are long-lived: never walked inside a measured loop
    dumps = orjson.dumps
    if mode == "plain":
        for line in measured:
            try:  # noqa: SIM105 - a context manager per record would be counted too
                dumps(normalize(line))
            except NormalizationError:
                pass
    elif mode == "matched":
        for line in measured:
            try:  # noqa: SIM105
                dumps(matcher(normalize(line)))
            except NormalizationError:
                pass
    elif mode != "baseline":
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
