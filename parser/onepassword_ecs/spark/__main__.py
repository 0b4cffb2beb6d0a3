"""``python -m onepassword_ecs.spark``, and the file ``spark-submit`` is given."""

from __future__ import annotations

import sys

from onepassword_ecs.spark import main

if __name__ == "__main__":
    sys.exit(main())
