"""Lookup files: names for the uuids the Events API sends, read from ``op`` exports.

The Events API identifies vaults, groups and items only by uuid (and old audit events
the actor too). An administrator can list what those uuids are with the 1Password CLI::

    op user list --format json  > users.json    [{"id", "name", "email", "type", "state"}]
    op group list --format json > groups.json   [{"id", "name", "description", "state", ...}]
    op vault list --format json > vaults.json   [{"id", "name", "content_version", ...}]
    op item list --format json  > items.json    [{"id", "title", "vault": {"id", "name"}, ...}]

and anything else as CSV rows ``uuid,kind,name`` (kind: user, group, vault, item; a
user's "name" holding an ``@`` is their email). Each JSON entry is recognised by its
shape, not by the file's name, so one folder can hold them all under any names.

A lookup file carries names, never secrets: an entry holding ``fields``, ``password``
or another secret-bearing key (what ``op item get`` prints) makes the whole file
refused, naming the file, the entry and the key but never a value.

Names are stored with control characters, line and paragraph separators and bidi
marks escaped as ``\\uXXXX``: a name lands in ``message``, and a lookup file must not
be able to forge or reorder log lines there.

Tables are held compactly: one dict per kind, lower-case uuid → name (users: name and
email), nothing else of the export. Identifiers match case-insensitively (the Events
API prints some uuids in upper case, the CLI in lower case).

:class:`LookupSource` keeps the tables of a set of paths loaded once per process and
reloads them when a file changes (size or mtime, looked at every few seconds at most),
for long-running collectors; a reload that fails keeps the tables it had.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .._errors import LookupFileError

__all__ = [
    "KINDS",
    "RECHECK_SECONDS",
    "SECRET_KEYS",
    "LookupSource",
    "Lookups",
    "load_lookups",
    "lookup_files",
]

KINDS = ("user", "group", "vault", "item")
SUFFIXES = (".json", ".csv")
RECHECK_SECONDS = 2.0
"""How often, at most, a long-running stage looks whether its lookup files changed."""

# Keys that only exports of secrets carry (``op item get``, ``op read``): a file holding
# any of them anywhere is refused. Compared in lower case.
SECRET_KEYS = frozenset(
    {
        "fields",
        "password",
        "notesplain",
        "sections",
        "secret",
        "otp",
        "totp",
        "credential",
        "private_key",
        "value",
    }
)

_Person = tuple[str | None, str | None]

# What a name must not bring into a message (C0/C1 controls, DEL, U+2028/2029, bidi
# marks, embeddings, overrides, isolates).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _safe(name: str) -> str:
    if _UNSAFE.search(name) is None:
        return name
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", name)


@dataclass(slots=True)
class Lookups:
    """Names by lower-case uuid, one table per kind."""

    users: dict[str, _Person] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    vaults: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.users) + len(self.groups) + len(self.vaults) + len(self.items)

    def name_of(self, uuid: str) -> str | None:
        """The name of a vault, group or item (what messages mention by uuid)."""
        key = uuid.lower()
        return self.vaults.get(key) or self.groups.get(key) or self.items.get(key)

    def add(self, kind: str, uuid: str, name: str) -> None:
        key = sys.intern(uuid.lower())
        name = _safe(name)
        if kind == "user":
            known_name, known_email = self.users.get(key, (None, None))
            if "@" in name:
                self.users[key] = (known_name, name)
            else:
                self.users[key] = (name, known_email)
        elif kind == "group":
            self.groups[key] = name
        elif kind == "vault":
            self.vaults[key] = name
        else:
            self.items[key] = name


def lookup_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files the given paths name: files as given, folders' ``*.json``/``*.csv``."""
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            found.extend(
                sorted(p for p in given.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
            )
        elif given.is_file():
            found.append(given)
        else:
            raise LookupFileError(f"{given}: no such lookup file or folder")
    return found


def load_lookups(paths: Iterable[str | os.PathLike[str]]) -> Lookups:
    """Read every lookup file under ``paths``; later files win for the same uuid."""
    lookups = Lookups()
    for path in lookup_files(paths):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LookupFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
        is_csv = path.suffix.lower() == ".csv"
        entries = _csv_entries(path, data) if is_csv else _json_entries(path, data)
        for kind, uuid, name in entries:
            lookups.add(kind, uuid, name)
    return lookups


def _secret_key(value: Any, depth: int = 0) -> str | None:
    """The first secret-bearing key anywhere in ``value``, or None."""
    if depth > 32:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in SECRET_KEYS:
                return key
            found = _secret_key(item, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _secret_key(item, depth + 1)
            if found is not None:
                return found
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# A secret-bearing key anywhere in the file's text: one pass in C over 100,000 items,
# where walking every entry in Python would double the load time. Only when it finds
# one are the entries walked, to name the first (or to find it was only text in a title).
_SECRET_KEY_TEXT = re.compile(
    rb'(?<!\\)"(?:' + b"|".join(key.encode() for key in sorted(SECRET_KEYS)) + rb')"\s*:',
    re.IGNORECASE,
)


def _json_entries(path: Path, data: bytes) -> Iterator[tuple[str, str, str]]:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise LookupFileError(f"{path}: not valid JSON ({exc})") from None
    entries = [parsed] if isinstance(parsed, dict) else parsed
    if not isinstance(entries, list):
        raise LookupFileError(f"{path}: expected the JSON array an `op ... list` prints")
    check = _SECRET_KEY_TEXT.search(data) is not None
    for index, entry in enumerate(entries):
        yield from _entry(path, index, entry, check)


def _entry(path: Path, index: int, entry: Any, check: bool) -> Iterator[tuple[str, str, str]]:
    where = f"{path}: entry {index}"
    if not isinstance(entry, dict):
        raise LookupFileError(f"{where}: expected an object")
    secret = _secret_key(entry) if check else None
    if secret is not None:
        raise LookupFileError(
            f"{where} holds {secret!r}: lookup files carry names, never secrets "
            "(export with `op item list`, not `op item get`); refusing the file"
        )
    uuid = _text(entry.get("id"))
    if uuid is None:
        raise LookupFileError(f'{where}: no "id"')
    vault = entry.get("vault")
    if "title" in entry and isinstance(vault, dict):  # op item list
        title = _text(entry.get("title"))
        if title:
            yield "item", uuid, title
        vault_id, vault_name = _text(vault.get("id")), _text(vault.get("name"))
        if vault_id and vault_name:
            yield "vault", vault_id, vault_name
        return
    name = _text(entry.get("name"))
    if "email" in entry:  # op user list
        email = _text(entry.get("email"))
        if name:
            yield "user", uuid, name
        if email:
            yield "user", uuid, email
        return
    if entry.keys() & {"content_version", "attribute_version", "items"}:  # op vault list
        kind = "vault"
    elif entry.keys() & {"description", "state", "permissions"}:  # op group list
        kind = "group"
    else:
        raise LookupFileError(
            f"{where}: cannot tell whether this is a user, group, vault or item "
            "(expected the output of `op user|group|vault|item list --format json`; "
            "use a uuid,kind,name CSV file for anything else)"
        )
    if name:
        yield kind, uuid, name


def _csv_entries(path: Path, data: bytes) -> Iterator[tuple[str, str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LookupFileError(f"{path}: not UTF-8 text") from None
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and [cell.lower() for cell in cells] == ["uuid", "kind", "name"]:
            continue
        if len(cells) != 3:
            raise LookupFileError(
                f"{path}: line {number}: expected 3 columns uuid,kind,name, got {len(cells)} "
                "(lookup files carry names, never secrets)"
            )
        uuid, kind, name = cells
        if kind.lower() not in KINDS:
            raise LookupFileError(f"{path}: line {number}: kind must be one of {', '.join(KINDS)}")
        if uuid and name:
            yield kind.lower(), uuid, name


_Signature = tuple[tuple[str, int, int], ...]


def _signature(paths: Sequence[str]) -> _Signature:
    """What identifies the current content of the files: name, size and mtime of each."""
    entries: list[tuple[str, int, int]] = []
    for path in lookup_files(paths):
        try:
            status = path.stat()
        except OSError:
            continue
        entries.append((str(path), status.st_size, status.st_mtime_ns))
    return tuple(entries)


@dataclass
class _Loaded:
    lookups: Lookups
    signature: _Signature
    checked_at: float
    problem: str | None = None


# One set of tables per distinct list of paths, per process: a stage object is
# pickled with every chunk sent to a worker, and must not reload on each.
_LOADED: dict[tuple[str, ...], _Loaded] = {}


class LookupSource:
    """The tables of ``paths``, loaded once per process and reloaded when files change.

    Picklable (it pickles as its paths): worker processes load their own copy on first
    use. ``recheck_seconds`` bounds how often the files are looked at.
    """

    def __init__(
        self, paths: Iterable[str | os.PathLike[str]], *, recheck_seconds: float = RECHECK_SECONDS
    ) -> None:
        self.paths = tuple(os.fspath(p) for p in paths)
        self.recheck_seconds = recheck_seconds
        self._loaded: _Loaded | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"paths": self.paths, "recheck_seconds": self.recheck_seconds}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.paths = state["paths"]
        self.recheck_seconds = state["recheck_seconds"]
        self._loaded = None

    def __repr__(self) -> str:
        return f"LookupSource({list(self.paths)!r})"

    def current(self) -> Lookups:
        """The tables; loads on first use, reloads when a file changed since last time."""
        loaded = self._loaded
        if loaded is None:
            loaded = self._loaded = self._first()
        if time.monotonic() - loaded.checked_at >= self.recheck_seconds:
            self._refresh(loaded)
        return loaded.lookups

    @property
    def problem(self) -> str | None:
        """Why the last reload failed (the tables in use are the ones before it)."""
        return self._loaded.problem if self._loaded is not None else None

    def _first(self) -> _Loaded:
        loaded = _LOADED.get(self.paths)
        if loaded is None:
            signature = _signature(self.paths)
            loaded = _Loaded(load_lookups(self.paths), signature, time.monotonic())
            _LOADED[self.paths] = loaded
        return loaded

    def _refresh(self, loaded: _Loaded) -> None:
        loaded.checked_at = time.monotonic()
        try:
            signature = _signature(self.paths)
            if signature == loaded.signature:
                return
            loaded.lookups = load_lookups(self.paths)
        except LookupFileError as exc:
            if loaded.problem != str(exc):
                loaded.problem = str(exc)
                print(f"onepassword-ecs: lookups not reloaded: {exc}", file=sys.stderr)
            return
        loaded.signature = signature
        loaded.problem = None
