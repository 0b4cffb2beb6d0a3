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

Tables are held compactly: one table per kind, lower-case uuid → name (users: name and
email), nothing else of the export. Identifiers match case-insensitively (the Events
API prints some uuids in upper case, the CLI in lower case). Up to :data:`PACK_ABOVE`
entries the tables are dicts; a bigger export is packed (:class:`PackedTable`) so it
costs at most about twice the file's size per process, and a CSV file is parsed as it
is read, never held whole.

:class:`LookupSource` keeps the tables of a set of paths loaded once per process and
reloads them when a file changes (size or mtime, looked at every few seconds at most),
for long-running collectors; a reload that fails keeps the tables it had.
"""

from __future__ import annotations

import csv
import os
import re
import sys
import time
from array import array
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .._errors import LookupFileError

__all__ = [
    "KINDS",
    "PACK_ABOVE",
    "PACK_CSV_BYTES",
    "RECHECK_SECONDS",
    "SECRET_KEYS",
    "LookupSource",
    "Lookups",
    "PackedTable",
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


# --- compact tables for big lookup files ----------------------------------------------

PACK_ABOVE = 1 << 17
"""Entries (all kinds together) up to which the tables are plain dicts.

A dict costs about 240 bytes an entry (the key and the name as objects, the hash slot):
fine for the usual export (a few thousand vaults, up to a hundred thousand items, at
most about 32 MB) and the fastest lookup there is. Past this many entries the tables
become :class:`PackedTable` s, which hold an entry in about its size in the file plus
20 bytes: a 1,000,000-row, 78 MB CSV then costs at most twice its size per process
(``scripts/bench_lookup_memory.py`` measures it; a test holds it to that). CSV files
over :data:`PACK_CSV_BYTES` are packed from their first row.
"""

PACK_CSV_BYTES = 2 << 20
"""CSV files bigger than this together are packed from the first row (a CSV row is
about 80 bytes: this is about 25,000 rows), so loading them never builds the dicts, which
would cost three times a CSV's size (a JSON export is bigger per entry than its dict)."""

_CACHE_ENTRIES = 65_536  # recently asked uuids per packed table: streams repeat them
_NONE = "\x01"  # a user's missing name or email, in a packed entry
_SEPARATOR = "\x00"  # names hold no control character (escaped by _safe), so never this
_MISSING: Any = object()


class PackedTable(MutableMapping[str, Any]):
    """A lower-case uuid → name (users: (name, email)) table in a few flat buffers.

    Entries are appended to one ``bytearray`` as ``key NUL value``; an ``array`` keeps
    where each starts and its key's hash, and an open-addressing index of ``array``
    slots (at most half full) finds one in a probe or two, comparing bytes in place.
    A replaced entry stays in the buffer (later files win; a reload builds a new
    table). Recently asked uuids are kept in a bounded dict in front, so a stream that
    repeats the same vaults and items pays the probe once per uuid.
    """

    def __init__(self, *, pairs: bool) -> None:
        self._pairs = pairs
        self._blob = bytearray()
        self._starts = array("Q")
        self._hashes = array("I")  # the low 32 bits: the index never has more slots
        self._slots = array("i", bytes(array("i").itemsize * 1024))
        self._mask = 1023
        self._count = 0
        self._cache: dict[str, Any] = {}

    # -- reading --------------------------------------------------------------------

    def _slot(self, key: str) -> tuple[int, int, bytes]:
        """(slot, entry number + 1 or 0 when absent, the key's bytes and separator)."""
        prefix = key.encode("utf-8") + b"\x00"
        slots, mask, blob, starts = self._slots, self._mask, self._blob, self._starts
        position = hash(key) & mask
        while True:
            number = slots[position]
            if number == 0 or blob.startswith(prefix, starts[number - 1]):
                return position, number, prefix
            position = (position + 1) & mask

    def _value(self, number: int, skip: int) -> Any:
        start = self._starts[number - 1] + skip
        end = self._starts[number] if number < len(self._starts) else len(self._blob)
        text = self._blob[start:end].decode("utf-8")
        if not self._pairs:
            return text
        name, _, email = text.partition(_SEPARATOR)
        return (None if name == _NONE else name, None if email == _NONE else email)

    def get(self, key: str, default: Any = None) -> Any:
        cache = self._cache
        found = cache.get(key, _MISSING)
        if found is _MISSING:
            _, number, prefix = self._slot(key)
            found = self._value(number, len(prefix)) if number else None
            if len(cache) >= _CACHE_ENTRIES:
                cache.clear()
            cache[key] = found
        return default if found is None else found

    def __getitem__(self, key: str) -> Any:
        found = self.get(key, _MISSING)
        if found is _MISSING:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        blob, starts = self._blob, self._starts
        for number in self._slots:
            if number:
                start = starts[number - 1]
                yield blob[start : blob.index(0, start)].decode("utf-8")

    # -- writing (while loading) ------------------------------------------------------

    def __setitem__(self, key: str, value: Any) -> None:
        if self._pairs:
            name, email = value
            value = f"{name or _NONE}{_SEPARATOR}{email or _NONE}"
        position, number, prefix = self._slot(key)
        self._starts.append(len(self._blob))
        self._hashes.append(hash(key) & 0xFFFFFFFF)
        self._blob += prefix
        self._blob += value.encode("utf-8")
        self._slots[position] = len(self._starts)
        self._cache.clear()
        if not number:
            self._count += 1
            if self._count * 2 > len(self._slots):
                self._grow()

    def __delitem__(self, key: str) -> None:
        raise TypeError("lookup tables are rebuilt, never edited")

    def _grow(self) -> None:
        size = len(self._slots) * 2
        mask = size - 1
        slots = array("i", bytes(self._slots.itemsize * size))
        hashes = self._hashes
        for number in self._slots:
            if number:
                position = hashes[number - 1] & mask
                while slots[position]:
                    position = (position + 1) & mask
                slots[position] = number
        self._slots, self._mask = slots, mask


def _packed(table: MutableMapping[str, Any], *, pairs: bool) -> PackedTable:
    packed = PackedTable(pairs=pairs)
    for key, value in table.items():
        packed[key] = value
    return packed


@dataclass(slots=True)
class Lookups:
    """Names by lower-case uuid, one table per kind.

    Plain dicts while small; past :data:`PACK_ABOVE` entries every table becomes a
    :class:`PackedTable` (the same mapping, in a fraction of the memory).
    """

    users: MutableMapping[str, _Person] = field(default_factory=dict)
    groups: MutableMapping[str, str] = field(default_factory=dict)
    vaults: MutableMapping[str, str] = field(default_factory=dict)
    items: MutableMapping[str, str] = field(default_factory=dict)
    added: int = field(default=0, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.users) + len(self.groups) + len(self.vaults) + len(self.items)

    @property
    def packed(self) -> bool:
        """Whether the tables are packed (a big lookup file)."""
        return isinstance(self.items, PackedTable)

    def name_of(self, uuid: str) -> str | None:
        """The name of a vault, group or item (what messages mention by uuid)."""
        key = uuid.lower()
        return self.vaults.get(key) or self.groups.get(key) or self.items.get(key)

    def add(self, kind: str, uuid: str, name: str) -> None:
        # Interned while the tables are dicts: the mapper interns the uuids it sees
        # again and again, and a dict lookup then matches by identity.
        packed = self.packed
        key = uuid.lower() if packed else sys.intern(uuid.lower())
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
        if not packed:
            self.added += 1
            if self.added > PACK_ABOVE and len(self) > PACK_ABOVE:
                self.pack()  # distinct entries past the threshold (not repeats)
            elif self.added > PACK_ABOVE:
                self.added = len(self)  # repeats: look again after as many adds

    def pack(self) -> None:
        """Move every table into a :class:`PackedTable` (done once, past the threshold)."""
        self.users = _packed(self.users, pairs=True)
        self.groups = _packed(self.groups, pairs=False)
        self.vaults = _packed(self.vaults, pairs=False)
        self.items = _packed(self.items, pairs=False)


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
    files = lookup_files(paths)
    lookups = Lookups()
    if sum(_size(path) for path in files if path.suffix.lower() == ".csv") > PACK_CSV_BYTES:
        lookups.pack()
    for path in files:
        try:
            if path.suffix.lower() == ".csv":
                # Read as it is parsed: a big CSV is never held whole (nor twice, as
                # bytes and as text) beside the tables being built from it.
                with path.open(encoding="utf-8-sig", newline="") as text:
                    for kind, uuid, name in _csv_entries(path, text):
                        lookups.add(kind, uuid, name)
            else:
                for kind, uuid, name in _json_entries(path, path.read_bytes()):
                    lookups.add(kind, uuid, name)
        except OSError as exc:
            raise LookupFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise LookupFileError(f"{path}: not UTF-8 text") from None
    return lookups


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reading it says why


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


def _csv_entries(path: Path, text: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    for number, row in enumerate(csv.reader(text), start=1):
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
