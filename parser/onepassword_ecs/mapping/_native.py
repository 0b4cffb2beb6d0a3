"""The native mapper (``_cnative.c``): when it is built, which records it takes, and
the Python it is configured with.

Why a compiled mapper at all: a record of the documented shape costs the pure bytes
path about 136,000 instructions, most of them in building and walking Python objects
the output never needs; the C code scans the JSON text and writes the document's bytes
without building them (docs/performance.md, "Native mapper", has the figures).

It is optional: ``pip install`` builds it when a compiler is present (setup.py marks
the extension optional), and without it, or with ``ONEPASSWORD_ECS_PURE=1`` in the
environment, every record takes the pure path. :func:`mapper_implementation` says
which is in use; ``onepassword-ecs --version`` prints it.

What it is configured with here, so it fixes the document's *shape* and never a value:

- the item-usage action and sign-in category and type tables (``_item_usage``,
  ``_signin``), their message templates split once into JSON-escaped literal pieces
  and field numbers; a template or table text that is not printable (which
  ``readable_message`` would escape) is marked, and records using it go to Python;
- callbacks that map one part of a record with the fast mapper's own code
  (``_fast._client_side``) and return the finished JSON fragments: a person or a
  location from its raw JSON text (decoded here), a client's software from its six
  strings and its address from its text (the C code reads the flat client object, so
  a stream's thousands of addresses do not multiply its few dozen builds), a sign-in's
  lone country. The C side memoizes the fragments on that text.

Everything the C code does not take it hands back (None), and the caller runs the
pure path, which decides: the output is the same bytes either way, and
tests/test_native.py holds the two to that.
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable
from typing import Any

import orjson

from ._common import ECS_VERSION
from ._dataset import Dataset
from ._decode import decode_record
from ._fast import _client_side
from ._item_usage import _ACTIONS, _UNKNOWN_ACTION
from ._item_usage import DATASET as ITEM_USAGES
from ._signin import _CATEGORIES, _NO_CATEGORY, _TYPES, _UNRECOGNIZED
from ._signin import DATASET as SIGNIN_ATTEMPTS

__all__ = [
    "DATASET_CODES",
    "NativeMap",
    "disable",
    "enable",
    "mapper_implementation",
    "native_map",
]

# map(record, dataset code, streams, tagged) -> bytes | (bytes, str) | None
NativeMap = Callable[[Any, int, Any, bool], Any]

# The dataset argument of normalize as the C code's number (0: detect). A dataset the
# C code does not map (audit events), or a name in another spelling, is not here: the
# pure path takes those records.
DATASET_CODES: dict[Any, int] = {
    None: 0,
    Dataset.item_usages: 1,
    Dataset.signin_attempts: 2,
}

# Field numbers shared with _cnative.c (enum F_*).
_FIELDS = {"user": 0, "item": 1, "vault": 2, "action": 3, "reason": 4, "category": 5}
_PURE_VARIABLE = "ONEPASSWORD_ECS_PURE"


def _escaped(text: str) -> bytes:
    """``text`` as it appears inside a JSON string written by orjson (no quotes)."""
    return orjson.dumps(text)[1:-1]


def _template(message: str, fields: frozenset[str]) -> tuple[tuple[bytes, int], ...] | None:
    """``message`` (a ``str.format`` template) as (literal, field number) pieces, or
    None when the C code must not fill it: a format spec, a conversion, a field the
    mapper does not pass, or literal text ``readable_message`` would escape."""
    pieces: list[tuple[bytes, int]] = []
    for literal, name, spec, conversion in string.Formatter().parse(message):
        if not literal.isprintable():
            return None
        if name is None:
            pieces.append((_escaped(literal), -1))
            continue
        if spec or conversion is not None or name not in fields:
            return None
        pieces.append((_escaped(literal), _FIELDS[name]))
    return tuple(pieces)


_ITEM_FIELDS = frozenset({"user", "item", "vault", "action"})
_SIGNIN_FIELDS = frozenset({"user", "reason", "category"})


def _printable_ascii(key: str) -> bool:
    return key.isascii() and key.isprintable()


def _action_row(rule: Any) -> tuple[bytes, None, Any] | None:
    template = _template(rule.message, _ITEM_FIELDS)
    return None if template is None else (orjson.dumps(rule.activity), None, template)


def _category_row(rule: Any) -> tuple[bytes, None, Any] | None:
    template = _template(rule.message, _SIGNIN_FIELDS)
    return None if template is None else (orjson.dumps(rule.outcome), None, template)


def _type_row(known: Any) -> tuple[bytes, bytes | None, None] | None:
    texts = [known.reason] + ([known.detail] if known.detail else [])
    if not all(text.isprintable() for text in texts):
        return None
    detail = _escaped(known.detail) if known.detail is not None else None
    return (_escaped(known.reason), detail, None)


def _fragment(value: Any) -> bytes | None:
    """The JSON of a memoized part (a Fragment, or a value), None for None."""
    return None if value is None else orjson.dumps(value)


def _decoded(raw: bytes) -> Any:
    return decode_record(raw)


def _person(raw: bytes) -> tuple[Any, ...] | None:
    """A person object's fragments: user fields, vendor fields, identifiers, display."""
    who = _client_side({"user": _decoded(raw)}, "user")
    if who is None or who[0] is None:
        return None
    person = who[0]
    display = person.display
    if display and not display.isprintable():
        return None  # readable_message would escape the message: Python writes it
    return (
        _fragment(person.fields_fragment) if person.fields else None,
        _fragment(person.vendor_fragment) if person.vendor is not None else None,
        _fragment(person.identifiers_fragment) if person.identifiers else None,
        _escaped(display) if display else None,
    )


# The client keys in the order _cnative.c writes a software key (then ip_address).
_SOFTWARE_KEYS = (
    "os_name", "os_version", "app_name", "app_version", "platform_name", "platform_version",
)  # fmt: skip


def _software(key: bytes) -> tuple[Any, ...] | None:
    """A client's software fragments (host, vendor client) from its six strings, written
    NUL-separated with ``\\x01`` for null or absent (printable ASCII only)."""
    values = [None if part == b"\x01" else part.decode("ascii") for part in key.split(b"\0")]
    client = {name: value for name, value in zip(_SOFTWARE_KEYS, values, strict=True)}
    side = _client_side({"client": client}, "user")
    if side is None or side[1] is None:
        return None
    build = side[1]
    return (
        _fragment(build.host_os_fragment) if build.host_os is not None else None,
        _fragment(build.vendor_fragment) if build.vendor is not None else None,
        None,
        None,
    )


def _address(raw: bytes) -> tuple[Any, ...] | None:
    """A client's ``ip_address`` (a non-empty string): its address and ip as JSON."""
    side = _client_side({"client": {"ip_address": raw.decode("ascii")}}, "user")
    if side is None:
        return None
    _who, _build, address, ip, _place = side
    return (_fragment(address), _fragment(ip), None, None)


def _place_parts(place: Any) -> tuple[Any, ...]:
    geo = _fragment(place.fragment) if place is not None and place.geo else None
    return (geo, None, None, None)


def _location(raw: bytes) -> tuple[Any, ...] | None:
    side = _client_side({"location": _decoded(raw)}, "user")
    return None if side is None else _place_parts(side[4])


def _country(raw: bytes) -> tuple[Any, ...] | None:
    side = _client_side({}, "user", raw.decode("ascii"))
    return None if side is None else _place_parts(side[4])


def _configuration() -> dict[str, Any]:
    return {
        "person": _person,
        "software": _software,
        "address": _address,
        "place": _location,
        "country": _country,
        "item_actions": {
            key.encode(): _action_row(rule)
            for key, rule in _ACTIONS.items()
            if _printable_ascii(key)
        },
        "item_unknown": _action_row(_UNKNOWN_ACTION),
        "signin_categories": {
            key.encode(): _category_row(rule)
            for key, rule in _CATEGORIES.items()
            if _printable_ascii(key)
        },
        "signin_unrecognized": _category_row(_UNRECOGNIZED),
        "signin_none": _category_row(_NO_CATEGORY),
        "signin_types": {
            key.encode(): _type_row(known) for key, known in _TYPES.items() if _printable_ascii(key)
        },
        "ecs": orjson.dumps({"version": ECS_VERSION}),
        "item_dataset": orjson.dumps(ITEM_USAGES),
        "signin_dataset": orjson.dumps(SIGNIN_ATTEMPTS),
        "item_event_dataset": ITEM_USAGES,
        "signin_event_dataset": SIGNIN_ATTEMPTS,
    }


def _load() -> NativeMap | None:
    """The C entry point, configured, or None (not built, or the pure path forced)."""
    if os.environ.get(_PURE_VARIABLE, "").strip() not in ("", "0"):
        return None
    try:
        from . import _cnative  # type: ignore[attr-defined]
    except ImportError:
        return None
    _cnative.configure(_configuration())
    found: NativeMap = _cnative.map
    return found


_LOADED = _load()
native_map: NativeMap | None = _LOADED


def mapper_implementation() -> str:
    """``"native"`` when records of the documented shapes take the compiled mapper,
    ``"pure"`` when every record takes the Python one (not built, or
    ``ONEPASSWORD_ECS_PURE=1``)."""
    return "native" if native_map is not None else "pure"


def disable() -> None:
    """Take the pure path from now on (tests run the suite both ways)."""
    global native_map
    native_map = None


def enable() -> None:
    """Take the native path again, when it is built."""
    global native_map
    native_map = _LOADED
