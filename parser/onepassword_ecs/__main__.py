"""``python -m onepassword_ecs``: the same command line as the ``onepassword-ecs`` script.

The guard matters: worker processes (``convert --workers``) re-import the main module,
and must not start a second run of the command when they do.
"""

from __future__ import annotations

if __name__ == "__main__":
    import sys

    from .cli import main

    sys.exit(main())
