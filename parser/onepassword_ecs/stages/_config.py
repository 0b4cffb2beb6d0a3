"""Redaction rules from a TOML file: a ``[redact]`` table a team can review and share.

::

    [redact]
    key_env = "TEAM_REDACT_KEY"   # optional: the variable holding the key for "hash"
    people = "hash"               # a group, as --redact people=hash
    "user.email" = "mask"         # an ECS field (quoted: it holds dots)

Each entry but ``key_env`` is one ``--redact FIELD=MODE`` rule; later entries win for
the same field, as on the command line. The key for ``hash`` is never a value in the
file: a config file is checked in, copied and pasted into tickets, so the file may only
*name* the environment variable that holds it (``key_env``); an entry that looks like
a key (``key``, ``secret``, ``hmac_key``, ...) refuses the whole file. Errors name the
file and the entry, never a value: someone may have put the key where a mode goes.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .._errors import StageConfigError
from ._redact import FIELD_KINDS, GROUPS, MODES, rules_from_config

__all__ = ["KEY_ENV_ENTRY", "RedactConfig", "read_redact_config"]

KEY_ENV_ENTRY = "key_env"
"""The ``[redact]`` entry naming the environment variable that holds the hash key."""

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SHOWABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
# Entry names that would hold the key itself (compared in lower case, "-" as "_").
_SECRET_WORDS = ("key", "secret", "password", "token", "passphrase")


@dataclass(frozen=True)
class RedactConfig:
    """What a ``[redact]`` table says: rules (field → mode) and the key's variable."""

    path: str
    rules: dict[str, str] = field(default_factory=dict)
    key_env: str | None = None


def read_redact_config(path: str | os.PathLike[str], *, required: bool = True) -> RedactConfig:
    """The ``[redact]`` table of the TOML file at ``path``.

    Other tables are ignored (the same file may list ``collect``'s ``[[account]]``s).
    With ``required``, a file without a ``[redact]`` table is refused (a typo such as
    ``[redaction]`` must not silently redact nothing). Raises :class:`StageConfigError`.
    """
    shown = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise StageConfigError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise StageConfigError(f"{shown}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise StageConfigError(f"{shown}: not UTF-8 text (a TOML file is UTF-8)") from None
    table: Any = data.get("redact")
    if table is None:
        if required:
            raise StageConfigError(f"{shown}: no [redact] table")
        return RedactConfig(shown)
    if not isinstance(table, dict):
        raise StageConfigError(f"{shown}: redact must be a table ([redact])")
    rules: dict[str, str] = {}
    key_env: str | None = None
    for name, value in table.items():
        where = f"{shown}: [redact] {_show(name)}"
        if name == KEY_ENV_ENTRY:
            if not isinstance(value, str) or _VARIABLE_NAME.fullmatch(value) is None:
                raise StageConfigError(
                    f"{where}: expected the NAME of an environment variable (letters, "
                    "digits, underscores), not the key itself"
                )
            key_env = value
        elif _looks_like_a_key(name):
            raise StageConfigError(
                f"{where}: the redaction key is never read from a file (config files get "
                f"shared); put it in an environment variable and name that variable with "
                f'{KEY_ENV_ENTRY} = "NAME"'
            )
        elif not isinstance(value, str) or value not in MODES:
            raise StageConfigError(f"{where}: the mode must be one of {', '.join(MODES)}")
        elif name not in GROUPS and name not in FIELD_KINDS:
            raise StageConfigError(
                f"{where}: unknown field; use a group ({', '.join(GROUPS)}) or one of: "
                f"{', '.join(sorted(FIELD_KINDS))}"
            )
        else:
            rules.update(rules_from_config({name: value}))
    return RedactConfig(shown, rules, key_env)


def _looks_like_a_key(name: str) -> bool:
    words = name.lower().replace("-", "_").split("_")
    return "." not in name and any(word in _SECRET_WORDS for word in words)


def _show(name: str) -> str:
    """An entry's name for a message: as written when it is a plain identifier."""
    return name if _SHOWABLE_NAME.fullmatch(name) else "(an entry with an unusual name)"
