"""Error lines under redaction: the raw input of a rejected record is withheld.

A rejected record never became a document, so the redaction stage never saw it; its
error line would carry the raw record (``input``) with every name, email and address
in clear. Which raw values belong to a redacted field cannot be told reliably for a
record that failed to map, so with redaction on the error line keeps where the record
is (``source``, ``line``, ``index``) and why it failed (``reason``, ``path``), drops
``input`` (``"input_withheld": true`` says so) and rewrites ``message`` where it may
quote the record: every string of the input is replaced by ``[withheld]``, and the
messages of unexpected failures (which may quote anything) are replaced whole.

Error lines for documents a sink refused carry the redacted document, untouched.
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson

__all__ = ["WITHHELD", "withhold_input"]

WITHHELD = "[withheld]"
_UNEXPECTED = frozenset({"internal_error", "stage_error"})


def _strings(value: Any, out: set[str], depth: int = 0) -> None:
    if depth > 64:
        return
    if isinstance(value, str):
        if len(value) > 1:
            out.add(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _strings(key, out, depth + 1)
            _strings(item, out, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out, depth + 1)


def withhold_input(line: bytes) -> bytes:
    """One error line (JSON) with its raw ``input`` withheld; other lines unchanged."""
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line
    if not isinstance(entry, dict) or "input" not in entry:
        return line
    raw = entry.pop("input")
    entry["input_withheld"] = True
    message = entry.get("message")
    if isinstance(message, str):
        if entry.get("reason") in _UNEXPECTED:
            entry["message"] = f"{WITHHELD}: the failure's text may quote the record"
        else:
            quoted: set[str] = set()
            if isinstance(raw, str):
                quoted.add(raw)
                with contextlib.suppress(orjson.JSONDecodeError):
                    _strings(orjson.loads(raw), quoted)
            for text in sorted(quoted, key=len, reverse=True):
                message = message.replace(text, WITHHELD)
            entry["message"] = message
    return orjson.dumps(entry)
