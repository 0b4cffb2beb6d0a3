"""``python -m onepassword_ecs.spark``, and the file ``spark-submit`` is given.

Without the ``spark`` extra, say which to install (exit 2) instead of a traceback,
as the CLI does for its own extras.
"""

from __future__ import annotations

import importlib.util
import sys

if __name__ == "__main__":
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("pyarrow") is None:
        sys.stderr.write(
            "onepassword-ecs spark: needs the spark extra (pyspark, pyarrow not installed): "
            'pip install "onepassword-ecs[spark]"\n'
        )
        sys.exit(2)
    from onepassword_ecs.spark import main

    sys.exit(main())
