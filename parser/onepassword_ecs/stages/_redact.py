"""Redaction: pseudonymize, mask or drop what must not leave, consistently everywhere.

Teams that forward events to a shared or outsourced SIEM must not send people's names,
emails or addresses in clear. A rule names a field (``user.email``) or a group
(``people``, ``addresses``, ``locations``) and a mode:

* ``hash``: ``anon-`` and the first 16 hex digits of HMAC-SHA256(key, value). One value
  always gets the same pseudonym (emails are compared in lower case), so joins and
  detections still work; without the key nobody can test a guess. The key comes from
  the environment, never from the command line.
* ``mask``: keep what helps triage and hide the rest: ``j***@corp.example``,
  ``B*** T***``, ``198.51.*.*``, coordinates rounded to whole degrees.
* ``drop``: remove the field; in free text the value becomes ``[redacted]``.

**Consistent everywhere.** The original values of the redacted fields are collected
first, then every string of the document is rewritten: equal strings are replaced
(``related.user``, ``onepassword.*``, ``client.address`` beside a redacted
``client.ip``), and occurrences inside text are replaced too (``message``,
``event.reason``, ``onepassword.malformed``), and ``event.original`` is parsed,
rewritten the same way and encoded again. Values shorter than four characters (country
codes) are replaced only as whole words, so they do not eat into identifiers.

**Every spelling.** Text holds a value as written, as JSON escapes it, or as the
message builder escapes it: ``message`` writes a tab, a newline, ESC or a bidi mark in a
name as ``\\uXXXX`` (``Dana\\u200f Levi``), so that form is looked for too, and replaced
by the replacement escaped alike (a mask keeps a first character, which may be such a
mark). Matching ignores case (by case folding). An address is found by what it parses
to, not by its text: ``2001:0db8:0000:...:0001``, ``198.051.100.023`` and
``::ffff:198.51.100.23`` are the addresses ``2001:db8::1`` and ``198.51.100.23``, in a
pass-through field, in ``event.original`` or inside a sentence; inside text only a whole
run of address characters is parsed, so ``10.1.2.3`` never eats into ``110.1.2.30``.
One address has one pseudonym, whatever its spelling.

**Still valid ECS.** A pseudonym or a mask is not an IP address: ``client.ip``,
``source.ip`` and ``related.ip`` lose a redacted address, whose replacement stays in the
keyword fields ``client.address`` / ``source.address``. Objects and arrays left empty are
removed. ``onepassword.redaction.fields`` lists the rules applied (``user.email=hash``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final

from .._errors import StageConfigError
from ..mapping import readable_message

__all__ = [
    "DROPPED_TEXT",
    "FIELD_KINDS",
    "GROUPS",
    "MIN_KEY_BYTES",
    "MODES",
    "PSEUDONYM_PREFIX",
    "REDACT_KEY_ENV",
    "Redactor",
    "parse_rules",
    "redaction_key",
    "rules_from_config",
]

MODES = ("hash", "mask", "drop")
REDACT_KEY_ENV = "ONEPASSWORD_ECS_REDACT_KEY"
MIN_KEY_BYTES = 16
PSEUDONYM_PREFIX = "anon-"
PSEUDONYM_HEX = 16
DROPPED_TEXT = "[redacted]"
SHORT = 4
"""Values shorter than this are replaced inside text only as whole words."""

# The fields a rule may name, and what kind of value each holds (it decides the mask).
FIELD_KINDS: Final[dict[str, str]] = {
    "user.id": "text",
    "user.name": "name",
    "user.full_name": "name",
    "user.email": "email",
    "user.target.id": "text",
    "user.target.name": "name",
    "user.target.full_name": "name",
    "user.target.email": "email",
    "user.target.group.name": "name",
    "group.name": "name",
    "related.user": "related",
    "client.ip": "address",
    "client.address": "address",
    "source.ip": "address",
    "source.address": "address",
    "related.ip": "address",
    "host.id": "text",
    "onepassword.item.title": "name",
    "onepassword.vault.name": "name",
    **{
        f"{side}.geo.{name}": "text"
        for side in ("client", "source")
        for name in (
            "city_name",
            "region_name",
            "region_iso_code",
            "country_name",
            "country_iso_code",
        )
    },
    "client.geo.location": "point",
    "source.geo.location": "point",
    "onepassword.country": "text",
    "onepassword.location.country": "text",
    "onepassword.location.region": "text",
    "onepassword.location.city": "text",
    "onepassword.location.latitude": "coordinate",
    "onepassword.location.longitude": "coordinate",
}

GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "people": (
        "user.name",
        "user.full_name",
        "user.email",
        "user.target.name",
        "user.target.full_name",
        "user.target.email",
        "related.user",
    ),
    "addresses": ("client.ip", "client.address", "source.ip", "source.address", "related.ip"),
    "locations": (
        *(name for name in FIELD_KINDS if ".geo." in name),
        *(name for name in FIELD_KINDS if name.startswith("onepassword.location.")),
        "onepassword.country",
    ),
}

# Top-level objects whose ``ip`` is an ECS ip field: a replaced value cannot stay there.
_IP_PARENTS = frozenset({"client", "source", "related"})
# Codes and names the mapping owns, never rewritten (a person called "join" must not
# change event.action), and the stages' own markers under onepassword.
_PROTECTED_TOP = frozenset({"@timestamp", "ecs"})
_PROTECTED_EVENT = frozenset({"kind", "module", "dataset", "category", "type", "outcome", "action"})
_MARKERS = frozenset({"enrichment", "redaction"})
_COORDINATE_KEYS = frozenset({"lat", "lon", "latitude", "longitude"})
# The identifiers related.user keeps when only names and emails are redacted.
_ID_FIELDS = ("user.id", "user.target.id")


def parse_rules(specs: Iterable[str]) -> dict[str, str]:
    """``FIELD=MODE`` strings (a field or a group) → field → mode; later rules win."""
    rules: dict[str, str] = {}
    for spec in specs:
        name, sep, mode = spec.partition("=")
        if not sep:
            raise StageConfigError(f"redaction rule {spec!r}: expected FIELD=MODE")
        rules.update(_expand(name.strip(), mode.strip()))
    return rules


def rules_from_config(table: Mapping[str, Any]) -> dict[str, str]:
    """The ``[redact]`` table of a TOML config (``people = "hash"``) → field → mode."""
    rules: dict[str, str] = {}
    for name, mode in table.items():
        if not isinstance(mode, str):
            raise StageConfigError(f"[redact] {name}: the mode must be a string")
        rules.update(_expand(name, mode))
    return rules


def _expand(name: str, mode: str) -> dict[str, str]:
    if mode not in MODES:
        raise StageConfigError(
            f"redaction rule {name}={mode}: the mode must be one of {', '.join(MODES)}"
        )
    if name in GROUPS:
        return dict.fromkeys(GROUPS[name], mode)
    if name in FIELD_KINDS:
        return {name: mode}
    raise StageConfigError(
        f"redaction rule {name}={mode}: unknown field; use a group "
        f"({', '.join(GROUPS)}) or one of: {', '.join(sorted(FIELD_KINDS))}"
    )


def redaction_key(variable: str = REDACT_KEY_ENV, *, label: str | None = None) -> bytes:
    """The HMAC key from the environment variable ``variable``.

    Refuses a missing or short key. Errors name the variable (or ``label``, for a name
    a person typed, which might be the key itself by mistake), never the value.
    """
    shown = label or f"the environment variable {variable}"
    value = os.environ.get(variable)
    if not value:
        raise StageConfigError(
            f"redaction mode hash needs a secret key in {shown} (at least {MIN_KEY_BYTES} "
            "bytes, e.g. from `openssl rand -hex 32`); it is not set"
        )
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise StageConfigError(
            f"the key in {shown} is too short: use at least {MIN_KEY_BYTES} bytes"
        )
    return key


# --- replacements ---------------------------------------------------------------


def _mask_text(value: str) -> str:
    words = value.split()
    return " ".join(word[0] + "***" for word in words) or "***"


def _mask_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local.strip() or not domain.strip():
        return _mask_text(value)
    return f"{local[0]}***@{domain}"


def _mask_address(value: str) -> str:
    """The network part people triage by, never a valid address: ``198.51.*.*``,
    ``2001:db8:*`` (the first two groups)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return _mask_text(value)
    if address.version == 4:
        return ".".join(str(address).split(".")[:2]) + ".*.*"
    groups = address.exploded.split(":")[:2]
    return ":".join(group.lstrip("0") or "0" for group in groups) + ":*"


_MASKS = {
    "email": _mask_email,
    "name": _mask_text,
    "text": _mask_text,
    "address": _mask_address,
}


class _Drop:
    """Marks a value to remove (in free text: :data:`DROPPED_TEXT`)."""

    def __repr__(self) -> str:
        return "<drop>"


DROP: Final = _Drop()
_Replacement = str | _Drop


def _walk_strings(value: Any, out: list[str], depth: int = 0) -> None:
    if depth > 64:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            out.append(str(key))
            _walk_strings(item, out, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk_strings(item, out, depth + 1)


@lru_cache(maxsize=8192)
def _json_escaped(value: str) -> str:
    """How ``value`` appears inside JSON text (``onepassword.malformed`` keeps some so)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


@lru_cache(maxsize=4096)
def _pattern(needles: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for the needles found in a text (longest first: an email wins over
    the name inside it). Cached: the same people and addresses recur all day."""
    parts = []
    for needle in needles:
        escaped = re.escape(needle)
        parts.append(escaped if len(needle) >= SHORT else rf"(?<!\w){escaped}(?!\w)")
    return re.compile("|".join(parts), re.IGNORECASE)


_Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# What may spell an address inside text: four dotted numbers, or a run of hex digits
# holding at least two colons (IPv6, maybe ending in dotted IPv4), not inside a longer
# word or number. Each one found is parsed, so other spellings of a redacted address
# are found in any text.
_ADDRESS_RUN = re.compile(
    r"(?<![0-9A-Za-z:.])(?:\d+(?:\.\d+){3}|[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)"
)
_DIGITS = frozenset("0123456789")
_LONGEST_ADDRESS = 64  # an expanded IPv6 address with a zone id fits with room to spare


@lru_cache(maxsize=16384)
def _parsed_address(text: str) -> _Address | None:
    """The address ``text`` spells, however it spells it, or None.

    ``ipaddress`` accepts compressed and fully expanded IPv6 alike but refuses a
    zero-padded IPv4 octet (``198.051.100.007``), which other systems still write, so
    those are read here. An IPv4-mapped IPv6 address (``::ffff:198.51.100.7``) is the
    IPv4 address it carries, and a zone id (``fe80::1%eth0``) is not part of the address.
    """
    text = text.strip()
    colons = text.count(":")
    if colons:
        # Cheap refusals first (times such as 09:41:00.774 are everywhere): IPv6 has
        # 2 to 7 colons, "::" unless 7, and a dotted tail only as an IPv4 address.
        if colons > 7 or (colons < 7 and "::" not in text) or text.count(".") not in (0, 3):
            return None
        try:
            found = ipaddress.IPv6Address(text.partition("%")[0])
        except ValueError:
            return None
        return found.ipv4_mapped or found
    if text.count(".") != 3:
        return None
    parts = text.split(".")
    if len(parts) != 4 or not all(part and set(part) <= _DIGITS for part in parts):
        return None
    octets = [int(part) for part in parts]
    if max(octets) > 255:
        return None
    return ipaddress.IPv4Address(bytes(octets))


def _folded(text: str) -> str:
    return text.lower() if text.isascii() else text.casefold()


@lru_cache(maxsize=16384)
def _canonical_address(text: str) -> str:
    """The address ``text`` spells, written the one usual way; else ``text``."""
    parsed = _parsed_address(text)
    return str(parsed) if parsed is not None else text


class _Plan:
    """The replacements of one document: original value → what replaces it."""

    __slots__ = (
        "addresses",
        "coordinates",
        "needles",
        "outputs",
        "shortest",
        "spelled",
        "strings",
        "texts",
        "variants",
    )

    def __init__(self) -> None:
        self.strings: dict[str, _Replacement] = {}
        self.coordinates: dict[float, float | None] = {}
        self.addresses: dict[_Address, _Replacement] = {}
        self.spelled: set[str] = set()  # addresses: found in text by parsing, not as needles
        self.outputs: set[str] = set()
        self.needles: tuple[str, ...] = ()  # folded, longest variant first
        self.variants: dict[str, str] = {}  # folded needle -> the variant as written
        self.shortest = 0
        self.texts: dict[str, str] = {}

    def add(self, value: str, replacement: _Replacement, *, address: bool = False) -> None:
        """Replace ``value``; ``address``: also any other spelling of the address it is."""
        if value in self.strings:
            return
        self.strings[value] = replacement
        if isinstance(replacement, str):
            self.outputs.add(replacement)
        if address:
            parsed = _parsed_address(value)
            if parsed is not None:
                self.addresses.setdefault(parsed, replacement)
                self.spelled.add(value)

    def finish(self) -> None:
        """The needles to look for inside text: each value as written, as JSON escapes
        it, and as ``message`` escapes it (a name holding a tab or a bidi mark appears
        there only escaped: ``Dana\\u200f Levi``; its replacement is escaped alike, so the
        message stays free of such characters). Matched without regard to case."""
        texts: dict[str, str] = {}
        needles: dict[str, str] = {}
        for value, replacement in self.strings.items():
            if not value.strip() or value in self.spelled:
                # Blank: replaced where it is a whole value, never inside text. An
                # address: inside text only as a whole run of address characters (see
                # text()), so "10.1.2.3" does not eat into a version "110.1.2.30".
                continue
            text = replacement if isinstance(replacement, str) else DROPPED_TEXT
            for variant, instead in (
                (value, text),
                (_json_escaped(value), text),
                (readable_message(value), readable_message(text)),
            ):
                folded = _folded(variant)
                if folded not in texts:
                    texts[folded] = instead
                    needles[folded] = variant
        self.texts = texts
        self.variants = needles
        self.needles = tuple(sorted(needles, key=lambda n: (-len(needles[n]), needles[n])))
        self.shortest = min((len(variant) for variant in needles.values()), default=0)

    def text(self, value: str) -> str:
        """``value`` with every spelling of a redacted address inside it replaced (a
        mapped ``::ffff:`` prefix included), then every needle, in one pass."""
        if value in self.outputs:
            return value
        if self.addresses and ("." in value or ":" in value):
            value = _ADDRESS_RUN.sub(self._address_spelling, value)
        if len(value) >= self.shortest and self.needles:
            # Case folding maps each character on its own, so a value holding a needle
            # holds its folded form: a safe test before the (cached) pattern. For ASCII
            # text lower() is the same and much faster.
            folded = value.lower() if value.isascii() else value.casefold()
            found = tuple(needle for needle in self.needles if needle in folded)
            if found:
                variants, texts = self.variants, self.texts
                value = _pattern(tuple(variants[needle] for needle in found)).sub(
                    lambda m: texts.get(_folded(m.group(0)), DROPPED_TEXT), value
                )
        return value

    def _address_spelling(self, match: re.Match[str]) -> str:
        run = match.group(0)
        # A sentence's full stop or a colon may have run into the address: kept.
        for core in (run, run.rstrip("."), run.rstrip(".:")):
            parsed = _parsed_address(core) if core else None
            replacement = self.addresses.get(parsed) if parsed is not None else None
            if replacement is not None:
                text = replacement if isinstance(replacement, str) else DROPPED_TEXT
                return text + run[len(core) :]
        return run


_GONE: Final = object()
"""Returned by the rewrite for a leaf to remove."""


class Redactor:
    """The redaction stage: a picklable ``document -> document`` callable.

    ``rules`` maps field or group names to modes (``{"people": "hash"}``; see
    :func:`parse_rules` for ``FIELD=MODE`` strings); ``key`` is the HMAC
    key, required when a rule hashes (see :func:`redaction_key`). The key is never
    shown by ``repr`` or in an error.
    """

    def __init__(self, rules: Mapping[str, str], *, key: bytes | None = None) -> None:
        expanded: dict[str, str] = {}
        for name, mode in rules.items():  # groups expand; later entries win
            expanded.update(_expand(name, mode))
        if "hash" in expanded.values() and not key:
            raise StageConfigError(
                "redaction mode hash needs a key (the environment variable "
                f"{REDACT_KEY_ENV}, or the one --redact-key-env names)"
            )
        self.rules = expanded
        self._key = key or b""
        self._paths = [(name, tuple(name.split(".")), FIELD_KINDS[name]) for name in expanded]
        self._pseudonyms: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Redactor({self.rules!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"rules": self.rules, "key": self._key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["rules"], key=state["key"] or None)  # type: ignore[misc]

    # -- values ---------------------------------------------------------------

    def pseudonym(self, value: str) -> str:
        """``anon-`` + 16 hex digits of HMAC-SHA256; emails compared in lower case."""
        found = self._pseudonyms.get(value)
        if found is None:
            subject = value.lower() if "@" in value else value
            digest = hmac.new(self._key, subject.encode("utf-8"), hashlib.sha256).hexdigest()
            found = PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]
            if len(self._pseudonyms) >= 10_000:
                self._pseudonyms.clear()
            self._pseudonyms[value] = found
        return found

    def _replacement(self, value: str, kind: str, mode: str) -> _Replacement:
        if mode == "drop":
            return DROP
        if mode == "hash":
            if kind == "address":
                # Every spelling of one address gets one pseudonym: the canonical one's.
                return self.pseudonym(_canonical_address(value))
            return self.pseudonym(value)
        if kind != "address" and "@" in value:
            kind = "email"
        masked = _MASKS.get(kind, _mask_text)(value)
        # A one-letter name masks to itself plus stars: then nothing of it is kept.
        return "***" if value.lower() in masked.lower() else masked

    # -- the stage ------------------------------------------------------------

    def __call__(self, document: dict[str, Any]) -> dict[str, Any]:
        plan = _Plan()
        applied: list[str] = []
        related_mode: str | None = None
        for name, path, kind in self._paths:
            value = _get(document, path)
            if value is None:
                continue
            mode = self.rules[name]
            if kind == "related":
                related_mode = mode
                continue
            found = False
            if kind == "point":
                if isinstance(value, dict):
                    for coordinate in (value.get("lat"), value.get("lon")):
                        found |= self._coordinate(plan, coordinate, mode)
            elif kind == "coordinate":
                found = self._coordinate(plan, value, mode)
            else:
                for item in value if isinstance(value, list) else (value,):
                    if isinstance(item, str) and item:
                        replacement = self._replacement(item, kind, mode)
                        plan.add(item, replacement, address=kind == "address")
                        found = True
            if found:
                applied.append(f"{name}={mode}")
        if related_mode is not None and self._related(document, plan, related_mode):
            applied.append(f"related.user={related_mode}")
        if not applied:
            return document
        plan.finish()
        result = _rewrite_document(document, plan)
        vendor = result.get("onepassword")
        if vendor is None:
            vendor = result["onepassword"] = {}
        if isinstance(vendor, dict):
            vendor["redaction"] = {"fields": applied}
        return result

    def _coordinate(self, plan: _Plan, value: Any, mode: str) -> bool:
        if value.__class__ not in (int, float):
            return False
        plan.coordinates[float(value)] = float(round(value)) if mode == "mask" else None
        return True

    def _related(self, document: dict[str, Any], plan: _Plan, mode: str) -> bool:
        """Names and emails in ``related.user`` (not the uuids beside them)."""
        related = document.get("related")
        entries = related.get("user") if isinstance(related, dict) else None
        if not isinstance(entries, list):
            return False
        kept = {_get(document, tuple(name.split("."))) for name in _ID_FIELDS}
        kept.update(_uuid_values(document.get("onepassword")))
        found = False
        for entry in entries:
            if isinstance(entry, str) and entry not in kept and entry not in plan.outputs:
                plan.add(entry, self._replacement(entry, "related", mode))
                found = True
        return found


def _get(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _uuid_values(vendor: Any, depth: int = 0) -> set[str]:
    """Values of ``*uuid`` keys under ``onepassword``: identifiers related.user keeps."""
    found: set[str] = set()
    if isinstance(vendor, dict) and depth < 8:
        for key, value in vendor.items():
            if isinstance(value, str) and str(key).endswith("uuid"):
                found.add(value)
            elif isinstance(value, dict):
                found |= _uuid_values(value, depth + 1)
    return found


def _kept(value: Any) -> bool:
    return value is not _GONE and value != {} and value != []


def _rewrite_document(document: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    """The document with the plan applied: the top levels by name (protected codes, ip
    fields, ``event.original``, the stages' markers), everything below by value."""
    result: dict[str, Any] = {}
    for key, value in document.items():
        if key in _PROTECTED_TOP or value.__class__ is not dict:
            new = value if key in _PROTECTED_TOP else _rewrite(value, plan, False)
        else:
            new = {}
            for child, item in value.items():
                if key == "event" and child in _PROTECTED_EVENT:
                    rewritten = item
                elif key == "event" and child == "original" and item.__class__ is str:
                    rewritten = _rewrite_original(item, plan)
                elif key == "onepassword" and child in _MARKERS:
                    rewritten = item
                else:
                    rewritten = _rewrite(item, plan, child == "ip" and key in _IP_PARENTS)
                if _kept(rewritten):
                    new[child] = rewritten
        if _kept(new):
            result[key] = new
    return result


def _rewrite(value: Any, plan: _Plan, ip: bool) -> Any:
    """``value`` with the plan applied; :data:`_GONE` for a leaf to remove. ``ip``: the
    value sits in an ECS ip field, where no replacement can stay."""
    cls = value.__class__
    if cls is str:
        replacement = plan.strings.get(value)
        if replacement is None:
            text = plan.text(value)
            if text == value:
                return value
            if plan.addresses and len(value) <= _LONGEST_ADDRESS:
                # The whole value is another spelling of a redacted address: it goes
                # as the address itself does (removed when dropped).
                parsed = _parsed_address(value)
                whole = plan.addresses.get(parsed) if parsed is not None else None
                if whole is not None:
                    return _GONE if ip or whole is DROP else whole
            return _GONE if ip else text
        if ip or replacement is DROP:
            return _GONE
        return replacement
    if cls is dict:
        result: dict[str, Any] = {}
        strings, coordinates = plan.strings, plan.coordinates
        for key, item in value.items():
            # Keys are replaced only when equal to a value: a raw record's unknown key
            # may be an email, but "full_name" must not change for a person called Name.
            swapped = strings.get(key) if key.__class__ is str else None
            if swapped is DROP:
                continue
            name: Any = swapped if swapped is not None else key
            if (
                coordinates
                and key in _COORDINATE_KEYS
                and item.__class__ in (int, float)
                and float(item) in coordinates
            ):
                masked = coordinates[float(item)]
                if masked is not None:
                    result[name] = masked
                continue
            new = _rewrite(item, plan, False)
            if _kept(new):
                result[name] = new
        return result
    if cls is list:
        kept = [new for new in (_rewrite(item, plan, ip) for item in value) if _kept(new)]
        if all(item.__class__ is str for item in kept):
            kept = list(dict.fromkeys(kept))
        return kept
    return value


def _rewrite_original(text: str, plan: _Plan) -> Any:
    """``event.original``: parsed, rewritten like the document, encoded again."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return _GONE  # cannot be rewritten safely: not kept at all
    rewritten = _rewrite(raw, plan, False)
    if rewritten is _GONE:
        return _GONE
    return json.dumps(rewritten, ensure_ascii=False, separators=(",", ":"))
