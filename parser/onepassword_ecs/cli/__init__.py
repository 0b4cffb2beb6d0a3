"""The command line: argument parsing only, one module per subcommand."""

from __future__ import annotations

from ._main import main

__all__ = ["main"]
