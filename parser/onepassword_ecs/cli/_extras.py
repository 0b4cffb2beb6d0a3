"""Which optional extra each subcommand needs, and the message when it is missing.

The base install carries only what ``normalize``, ``convert``, ``check``, ``template``
and ``store`` need. The other subcommands depend on an extra; before one runs, the
modules it needs are looked up (not imported), and a missing one ends the run with exit
status 2 and the exact ``pip install`` line, instead of a traceback from deep inside.
"""

from __future__ import annotations

import importlib.util

__all__ = ["COMMAND_EXTRAS", "missing_extra"]

# subcommand -> (extra, top-level modules that extra provides and the command imports)
COMMAND_EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "collect": ("collect", ("httpx", "tenacity")),
    "detect": ("detect", ("sigma", "yaml")),
    "rules": ("detect", ("sigma", "yaml")),
    "investigate": ("investigate", ("rich",)),
    "report": ("investigate", ("rich", "matplotlib")),
    "mcp": ("investigate", ("rich", "mcp")),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extra(command: str) -> str | None:
    """The error text when ``command``'s extra is not installed, else None."""
    extra, modules = COMMAND_EXTRAS.get(command, ("", ()))
    missing = [module for module in modules if not _installed(module)]
    if not missing:
        return None
    return (
        f"'{command}' needs the {extra} extra ({', '.join(missing)} not installed): "
        f'pip install "onepassword-ecs[{extra}]"'
    )
