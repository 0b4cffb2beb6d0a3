"""Indicator matching: documents whose addresses, emails or domains are in a threat feed.

Security teams keep indicators of compromise in three shapes, all read here:

* a **STIX 2.1 bundle** (``{"type": "bundle", "objects": [...]}``) of ``indicator``
  objects whose ``pattern`` compares ``ipv4-addr:value``, ``ipv6-addr:value``,
  ``domain-name:value`` or ``email-addr:value`` with ``=`` (or ``ISSUBSET`` for a CIDR
  range), several comparisons joined by ``OR`` inside one ``[...]``;
* a **MISP JSON export** (an ``{"Event": ...}``, a list of them, or ``{"response":
  [...]}``): attributes of type ``ip-src``, ``ip-dst`` (also ``|port``), ``domain``,
  ``hostname``, ``domain|ip``, ``email``, ``email-src``, ``email-dst``, in the event and
  in its objects (not those MISP marks ``to_ids: false``, context rather than
  something to detect);
* a **CSV** of ``value,type,source`` rows (type ``ipv4-addr``, ``ipv6-addr``,
  ``domain-name``, ``email-addr``, or ``ip``, ``domain``, ``email``; a header row
  ``value,type,source`` is allowed).

The STIX patterns are parsed here, strictly, rather than with the OASIS ``stix2`` and
``stix2-patterns`` libraries: those parse every pattern with an ANTLR grammar, which
costs 14 s of CPU for 100,000 patterns (47 s as ``stix2.Indicator`` objects) in each
process and at each reload, and brings three dependencies for four comparison forms.
What is read is refused when not understood: a pattern on one of the four object types
that uses ``AND``, ``NOT``, ``LIKE``, ``MATCHES``, a qualifier (``WITHIN``, ``REPEATS``,
``START``) or a second observation, an address that is not one, a CIDR range with host
bits set. Anything refused refuses the whole feed, naming the file and the entry (a
feed half loaded would match less than the operator believes). What is *about*
something else is skipped and counted, never refused: a STIX pattern on file hashes, a
MISP attribute of type ``sha256``, a revoked or expired indicator, an indicator whose
``pattern_type`` is not ``stix``.

A match adds one entry to the document's ``threat.enrichments`` (ECS): the indicator
(``type``, ``name``, ``ip`` / ``email.address`` / ``url.domain`` for a single value,
``provider``, ``description``, ``reference``, ``confidence``, ``modified_at``) and the
match (``matched.atomic``: the document's value; ``matched.field``: where it was;
``matched.id``: the indicator's id; ``matched.type``: ``enrichment``). The fields looked
at are ``source.ip``, ``client.ip`` (when it differs), ``user.email`` and
``user.target.email`` (and the domain of each email, and that domain's parents).
Addresses match every range that holds them; at most :data:`MAX_ENRICHMENTS` entries
are added per document.

Cost: a document holds a handful of values to look up, and the answer for each value
is remembered (a bounded memo, emptied when full), so an address seen before costs one
dictionary lookup. Ranges are held per prefix length: an address is masked once per
length present in the feed, never compared with each range.

:class:`IndicatorMatcher` is the picklable stage: feeds are loaded once per process
and reloaded when a file changes (size or modification time, looked at every few
seconds at most), like the lookups stage. A reload that fails keeps what it had.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from .._errors import StageConfigError
from ._enrich import BUSY_SECONDS, CLOCK_STRIDE
from ._lookups import RECHECK_SECONDS

__all__ = [
    "INDICATOR_TYPES",
    "MAX_ENRICHMENTS",
    "IndicatorMatcher",
    "Indicators",
    "indicator_files",
    "load_indicators",
    "match_indicators",
    "parse_pattern",
]

INDICATOR_TYPES = ("ipv4-addr", "ipv6-addr", "domain-name", "email-addr")
MAX_ENRICHMENTS = 16
"""At most this many ``threat.enrichments`` entries per document (bounded documents)."""
MATCH_TYPE = "enrichment"
_MEMO_LIMIT = 65_536
_MAX_VALUE = 320  # longer than any address, domain (253) or email (254): not one

_CSV_TYPES = {
    "ipv4-addr": "ipv4-addr",
    "ipv6-addr": "ipv6-addr",
    "domain-name": "domain-name",
    "email-addr": "email-addr",
    "ip": "ip",
    "domain": "domain-name",
    "email": "email-addr",
}
_MISP_TYPES = {
    "ip-src": "ip",
    "ip-dst": "ip",
    "ip-src|port": "ip|port",
    "ip-dst|port": "ip|port",
    "domain": "domain-name",
    "hostname": "domain-name",
    "domain|ip": "domain|ip",
    "email": "email-addr",
    "email-src": "email-addr",
    "email-dst": "email-addr",
}
_DOMAIN = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}")
_CONFIDENCE = ((0, "None"), (29, "Low"), (69, "Medium"), (100, "High"))  # STIX 2.1 scale


class _Refused(ValueError):
    """One entry cannot be read: the loader adds the file and the entry."""


@dataclass
class Indicators:
    """Loaded feeds: what to look up, and what each match writes.

    ``networks`` maps (IP version, prefix length) to {network as int: indicator numbers};
    ``values`` maps a lower-case domain or email to indicator numbers; ``entries`` holds
    each indicator's ECS ``indicator`` object (and its id) by number.
    """

    networks: dict[tuple[int, int], dict[int, list[int]]] = field(default_factory=dict)
    values: dict[str, list[int]] = field(default_factory=dict)
    entries: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.entries)

    def _add(self, indicator: dict[str, Any], ident: str | None) -> int:
        self.entries.append((indicator, ident))
        return len(self.entries) - 1

    def add_value(self, kind: str, value: str, base: dict[str, Any], ident: str | None) -> None:
        """One indicator value (already of a known kind); raises _Refused when it is not one."""
        text = value.strip()
        if not text or len(text) > _MAX_VALUE:
            raise _Refused(f"{kind} value {value[:60]!r} is empty or too long")
        if kind in ("ipv4-addr", "ipv6-addr", "ip"):
            self._add_network(kind, text, base, ident)
        elif kind == "domain-name":
            domain = _domain(text)
            number = self._add(base | {"type": kind, "url": {"domain": domain}}, ident)
            self.values.setdefault(domain, []).append(number)
        elif kind == "email-addr":
            email = _email(text)
            number = self._add(base | {"type": kind, "email": {"address": email}}, ident)
            self.values.setdefault(email, []).append(number)
        else:  # pragma: no cover - callers map kinds first
            raise _Refused(f"unknown indicator type {kind!r}")

    def _add_network(self, kind: str, text: str, base: dict[str, Any], ident: str | None) -> None:
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise _Refused(f"{text[:60]!r} is not an address or a CIDR range ({exc})") from None
        stix_type = "ipv4-addr" if network.version == 4 else "ipv6-addr"
        if kind != "ip" and kind != stix_type:
            raise _Refused(f"{text!r} is an {stix_type}, not an {kind}")
        indicator = base | {"type": stix_type}
        if network.num_addresses == 1:
            indicator["ip"] = str(network.network_address)
        else:
            indicator.setdefault("name", str(network))
        number = self._add(indicator, ident)
        bits = network.max_prefixlen
        key = int(network.network_address) >> (bits - network.prefixlen)
        table = self.networks.setdefault((network.version, network.prefixlen), {})
        table.setdefault(key, []).append(number)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def merge(self, other: Indicators) -> None:
        offset = len(self.entries)
        self.entries.extend(other.entries)
        for key, table in other.networks.items():
            mine = self.networks.setdefault(key, {})
            for network, numbers in table.items():
                mine.setdefault(network, []).extend(n + offset for n in numbers)
        for value, numbers in other.values.items():
            self.values.setdefault(value, []).extend(n + offset for n in numbers)
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count
        self.files += other.files


def _domain(text: str) -> str:
    domain = text.lower().rstrip(".")
    if not _DOMAIN.fullmatch(domain):
        raise _Refused(f"{text[:60]!r} is not a domain name")
    return domain


def _email(text: str) -> str:
    local, at, domain = text.lower().rpartition("@")
    if not at or not local or any(c.isspace() or c in '<>"' for c in local):
        raise _Refused(f"{text[:60]!r} is not an email address")
    return f"{local}@{_domain(domain)}"


# --- STIX 2.1 ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<open>\[)|(?P<close>\])|(?P<string>'(?:[^'\\]|\\['\\])*')"
    r"|(?P<path>[a-z0-9-]+:[A-Za-z0-9_.\-\[\]*']+)|(?P<word>[A-Za-z]+)|(?P<op>!=|<=|>=|=|<|>))"
)
_OBJECT = re.compile(r"([a-z0-9-]+):")
_STRING = re.compile(r"'(?:[^'\\]|\\['\\])*'")


def _tokens(pattern: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(pattern):
        if pattern[position:].strip() == "":
            break
        match = _TOKEN.match(pattern, position)
        if match is None or match.end() == position:
            raise _Refused(f"pattern not understood at {pattern[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def parse_pattern(pattern: str) -> list[tuple[str, str]] | None:
    """The ``(object type, value)`` pairs of a simple STIX pattern, or None if not ours.

    None: the pattern compares no ipv4/ipv6/domain/email object (a file hash...), so it
    is not for this stage. Raises _Refused for a pattern on those objects that is more
    than ``[type:value = 'v' OR ...]`` (``ISSUBSET`` allowed for addresses).
    """
    objects = set(_OBJECT.findall(_STRING.sub("''", pattern)))
    if not objects & set(INDICATOR_TYPES):
        return None
    tokens = _tokens(pattern)
    if len(tokens) < 5 or tokens[0][0] != "open" or tokens[-1][0] != "close":
        raise _Refused("expected one observation: [type:value = '...' OR ...]")
    found: list[tuple[str, str]] = []
    body = tokens[1:-1]
    index = 0
    while True:
        if len(body) - index < 3:
            raise _Refused("a comparison is cut short")
        (path_kind, path), (op_kind, op), (value_kind, value) = body[index : index + 3]
        if path_kind != "path" or value_kind != "string" or op_kind not in ("op", "word"):
            raise _Refused(f"not a comparison of an object's value: {path!r} {op!r} {value!r}")
        object_type, _, prop = path.partition(":")
        if object_type not in INDICATOR_TYPES or prop != "value":
            raise _Refused(f"{path!r}: only {', '.join(INDICATOR_TYPES)} :value are read")
        address = object_type in ("ipv4-addr", "ipv6-addr")
        if op != "=" and not (address and op == "ISSUBSET"):
            raise _Refused(f"operator {op!r} is not read (only =, and ISSUBSET for addresses)")
        found.append((object_type, value[1:-1].replace("\\'", "'").replace("\\\\", "\\")))
        index += 3
        if index == len(body):
            break
        if body[index][0] == "close":
            raise _Refused("only one observation [...] is read (no OR, AND or FOLLOWEDBY between)")
        if body[index] != ("word", "OR"):
            raise _Refused(f"only OR may join comparisons, not {body[index][1]!r}")
        index += 1
    return found


def _confidence(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        return None
    return next(label for limit, label in _CONFIDENCE if value <= limit)


def _stix_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _read_stix(bundle: dict[str, Any], into: Indicators, now: datetime) -> None:
    objects = bundle.get("objects")
    if not isinstance(objects, list):
        raise _Refused("a STIX bundle needs an 'objects' list")
    identities = {
        o.get("id"): o.get("name")
        for o in objects
        if isinstance(o, dict) and o.get("type") == "identity" and isinstance(o.get("name"), str)
    }
    for number, item in enumerate(objects, 1):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise _Refused(f"object {number}: not a STIX object")
        if item["type"] != "indicator":
            continue
        ident = item.get("id") if isinstance(item.get("id"), str) else None
        where = f"object {number} ({ident})" if ident else f"object {number}"
        try:
            _stix_indicator(item, identities, into, now)
        except _Refused as exc:
            raise _Refused(f"{where}: {exc}") from None


def _stix_indicator(
    item: dict[str, Any], identities: dict[Any, Any], into: Indicators, now: datetime
) -> None:
    if item.get("pattern_type", "stix") != "stix":
        into.skip(f"pattern_type {item.get('pattern_type')}")
        return
    if item.get("revoked") is True:
        into.skip("revoked")
        return
    until = _stix_time(item.get("valid_until"))
    if until is not None and until <= now:
        into.skip("expired (valid_until)")
        return
    pattern = item.get("pattern")
    if not isinstance(pattern, str):
        raise _Refused("an indicator without a pattern")
    pairs = parse_pattern(pattern)
    if pairs is None:
        into.skip("pattern on other objects")
        return
    base: dict[str, Any] = {}
    if isinstance(item.get("name"), str):
        base["name"] = item["name"]
    if isinstance(item.get("description"), str):
        base["description"] = item["description"]
    provider = identities.get(item.get("created_by_ref"))
    if provider:
        base["provider"] = provider
    confidence = _confidence(item.get("confidence"))
    if confidence:
        base["confidence"] = confidence
    modified = item.get("modified")
    if _stix_time(modified) is not None:
        base["modified_at"] = modified
    for reference in item.get("external_references") or ():
        if isinstance(reference, dict) and isinstance(reference.get("url"), str):
            base["reference"] = reference["url"]
            break
    for object_type, value in pairs:
        into.add_value(object_type, value, dict(base), item.get("id"))


# --- MISP --------------------------------------------------------------------------------


def _misp_events(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and "response" in data:
        data = data["response"]
    items = data if isinstance(data, list) else [data]
    events = []
    for item in items:
        event = item.get("Event") if isinstance(item, dict) else None
        if not isinstance(event, dict):
            raise _Refused("a MISP export holds {'Event': {...}} objects")
        events.append(event)
    return events


def _misp_attributes(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from event.get("Attribute") or ()
    for obj in event.get("Object") or ():
        if not isinstance(obj, dict):
            raise _Refused("an Object that is not a JSON object")
        yield from obj.get("Attribute") or ()


def _read_misp(data: Any, into: Indicators) -> None:
    for event_number, event in enumerate(_misp_events(data), 1):
        org = event.get("Orgc") or event.get("Org") or {}
        provider = org.get("name") if isinstance(org, dict) else None
        info = event.get("info") if isinstance(event.get("info"), str) else None
        for number, attribute in enumerate(_misp_attributes(event), 1):
            ident = attribute.get("uuid") if isinstance(attribute, dict) else None
            where = f"event {event_number} attribute {number}" + (f" ({ident})" if ident else "")
            try:
                _misp_attribute(attribute, provider, info, into)
            except _Refused as exc:
                raise _Refused(f"{where}: {exc}") from None


def _misp_attribute(
    attribute: Any, provider: str | None, info: str | None, into: Indicators
) -> None:
    if not isinstance(attribute, dict):
        raise _Refused("not a JSON object")
    kind = _MISP_TYPES.get(str(attribute.get("type")))
    if kind is None:
        into.skip(f"MISP type {attribute.get('type')}")
        return
    if attribute.get("deleted") is True:
        into.skip("deleted")
        return
    if attribute.get("to_ids") is False:  # MISP's own flag: context, not for detection
        into.skip("to_ids false")
        return
    value = attribute.get("value")
    if not isinstance(value, str):
        raise _Refused("an attribute without a string value")
    base: dict[str, Any] = {}
    if provider:
        base["provider"] = provider
    description = attribute.get("comment") or info
    if isinstance(description, str) and description:
        base["description"] = description
    ident = attribute.get("uuid") if isinstance(attribute.get("uuid"), str) else None
    if kind == "ip|port":
        address, bar, port = value.rpartition("|")
        if not bar or not port.isdigit():
            raise _Refused(f"{value[:60]!r} is not address|port")
        into.add_value("ip", address, base, ident)
    elif kind == "domain|ip":
        domain, bar, address = value.partition("|")
        if not bar:
            raise _Refused(f"{value[:60]!r} is not domain|ip")
        into.add_value("domain-name", domain, dict(base), ident)
        into.add_value("ip", address, base, ident)
    else:
        into.add_value(kind, value, base, ident)


# --- CSV ---------------------------------------------------------------------------------


def _read_csv(text: str, into: Indicators) -> None:
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if number == 1 and [c.strip().lower() for c in row] == ["value", "type", "source"]:
            continue
        if row[0].lstrip().startswith("#"):
            continue
        try:
            if len(row) != 3:
                raise _Refused(f"expected value,type,source, got {len(row)} columns")
            value, kind, source = (c.strip() for c in row)
            mapped = _CSV_TYPES.get(kind.lower())
            if mapped is None:
                raise _Refused(f"type {kind[:40]!r} is not one of {', '.join(_CSV_TYPES)}")
            into.add_value(mapped, value, {"provider": source} if source else {}, None)
        except _Refused as exc:
            raise _Refused(f"line {number}: {exc}") from None


# --- files -------------------------------------------------------------------------------


def indicator_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files a set of paths names (a folder's ``*.json`` and ``*.csv``, sorted)."""
    files: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in (".json", ".csv")))
        elif path.is_file():
            files.append(path)
        else:
            raise StageConfigError(f"{path}: no such indicator file or folder")
    return files


def _load_file(path: Path, now: datetime) -> Indicators:
    loaded = Indicators(files=(str(path),))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StageConfigError(f"{path}: cannot read the indicator file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StageConfigError(f"{path}: not UTF-8 text") from None
    try:
        if text.lstrip()[:1] in ("{", "["):
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise _Refused(f"not valid JSON ({exc})") from None
            if isinstance(data, dict) and data.get("type") == "bundle":
                _read_stix(data, loaded, now)
            else:
                _read_misp(data, loaded)
        else:
            _read_csv(text, loaded)
    except _Refused as exc:
        raise StageConfigError(f"{path}: indicator feed refused: {exc}") from None
    return loaded


def load_indicators(
    paths: Iterable[str | os.PathLike[str]], *, now: datetime | None = None
) -> Indicators:
    """Every indicator in ``paths`` (files or folders), or StageConfigError naming why not."""
    moment = now or datetime.now(UTC)
    indicators = Indicators()
    for path in indicator_files(paths):
        indicators.merge(_load_file(path, moment))
    return indicators


# --- matching ----------------------------------------------------------------------------


def _address_key(text: str) -> tuple[int, int, int] | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address), address.max_prefixlen


Hit = tuple[int, str, str]
"""One match of a value: (indicator number, the value matched, suffix of the field name)."""


class _Matcher:
    """Lookups over one :class:`Indicators`, with the memo of values already answered.

    ``memo`` maps a document's value (an address, an email) to its hits; most values
    repeat, so the common path is one dictionary lookup and an empty tuple.
    """

    def __init__(self, indicators: Indicators) -> None:
        self.indicators = indicators
        self.lengths: dict[int, list[int]] = {}
        for version, length in sorted(indicators.networks, key=lambda k: -k[1]):
            self.lengths.setdefault(version, []).append(length)
        self.memo: dict[str, tuple[Hit, ...]] = {}

    def address(self, text: str) -> tuple[Hit, ...]:
        if not isinstance(text, str):
            raise TypeError("an address is a string")
        numbers: list[int] = []
        key = _address_key(text)
        if key is not None:
            version, value, bits = key
            networks = self.indicators.networks
            for length in self.lengths.get(version, ()):
                numbers.extend(networks[(version, length)].get(value >> (bits - length), ()))
        return self._remember(text, [(n, text, "") for n in dict.fromkeys(numbers)])

    def email(self, text: str) -> tuple[Hit, ...]:
        """Matches of the address itself, then of its domain and the domain's parents."""
        if not isinstance(text, str):
            raise TypeError("an email is a string")
        lowered = text.lower()
        values = self.indicators.values
        hits = [(n, text, "") for n in values.get(lowered, ())]
        domain = lowered.rpartition("@")[2]
        labels = domain.split(".")
        for start in range(len(labels) - 1):
            hits.extend((n, domain, " (domain)") for n in values.get(".".join(labels[start:]), ()))
        return self._remember(text, hits)

    def _remember(self, text: str, hits: list[Hit]) -> tuple[Hit, ...]:
        if len(self.memo) >= _MEMO_LIMIT:
            self.memo.clear()
        found = self.memo[text] = tuple(hits)
        return found


def _enrichment(indicators: Indicators, hit: Hit, where: str, withhold: bool) -> dict[str, Any]:
    number, atomic, suffix = hit
    indicator, ident = indicators.entries[number]
    entry_indicator = {k: (dict(v) if isinstance(v, dict) else v) for k, v in indicator.items()}
    matched: dict[str, Any] = {"field": where + suffix, "type": MATCH_TYPE}
    if ident:
        matched["id"] = ident
    if withhold:  # redaction is on: neither the person's value nor the feed's copy of it
        for key in ("ip", "email", "url", "name"):
            entry_indicator.pop(key, None)
    else:
        matched["atomic"] = atomic
    return {"indicator": entry_indicator, "matched": matched}


def match_indicators(
    document: dict[str, Any], matcher: _Matcher, *, withhold: bool = False
) -> dict[str, Any]:
    """``document`` with a ``threat.enrichments`` entry per indicator it matches.

    Written for the miss, which is nearly every document: per field, one memo lookup
    that returns an empty tuple, and no isinstance test on the way (a value of another
    type, from some other tool's documents, is answered by the careful path).
    """
    try:
        found = _hits(document, matcher)
    except (AttributeError, TypeError):  # a field that is not what ECS says it is
        found = _hits(_only_strings(document), matcher)
    if not found:
        return document
    entries = [
        _enrichment(matcher.indicators, hit, where, withhold)
        for hit, where in found[:MAX_ENRICHMENTS]
    ]
    threat = document.get("threat")
    if not isinstance(threat, dict):
        threat = document["threat"] = {}
    previous = threat.get("enrichments")
    threat["enrichments"] = (list(previous) if isinstance(previous, list) else []) + entries
    return document


def _hits(document: dict[str, Any], matcher: _Matcher) -> list[tuple[Hit, str]]:
    memo = matcher.memo
    found: list[tuple[Hit, str]] = []
    source = document.get("source")
    source_ip = source.get("ip") if source else None
    if source_ip:
        hits = memo.get(source_ip)
        if hits is None:
            hits = matcher.address(source_ip)
        if hits:
            found.extend((hit, "source.ip") for hit in hits)
    client = document.get("client")
    client_ip = client.get("ip") if client else None
    if client_ip and client_ip != source_ip:
        hits = memo.get(client_ip)
        if hits is None:
            hits = matcher.address(client_ip)
        if hits:
            found.extend((hit, "client.ip") for hit in hits)
    user = document.get("user")
    if user:
        email = user.get("email")
        if email:
            hits = memo.get(email)
            if hits is None:
                hits = matcher.email(email)
            if hits:
                found.extend((hit, "user.email") for hit in hits)
        target = user.get("target")
        email = target.get("email") if target else None
        if email:
            hits = memo.get(email)
            if hits is None:
                hits = matcher.email(email)
            if hits:
                found.extend((hit, "user.target.email") for hit in hits)
    return found


def _only_strings(document: dict[str, Any]) -> dict[str, Any]:
    """The fields :func:`_hits` reads, kept only where they are what ECS says."""

    def table(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    user = table(document.get("user"))
    return {
        "source": {"ip": text(table(document.get("source")).get("ip"))},
        "client": {"ip": text(table(document.get("client")).get("ip"))},
        "user": {
            "email": text(user.get("email")),
            "target": {"email": text(table(user.get("target")).get("email"))},
        },
    }


# --- the stage ---------------------------------------------------------------------------


def _signature(paths: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    signature = []
    for path in indicator_files(paths):
        stat = path.stat()
        signature.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


@dataclass
class _Loaded:
    matcher: _Matcher
    signature: tuple[tuple[str, int, int], ...]
    checked_at: float
    problem: str | None = None


_LOADED: dict[tuple[tuple[str, ...], bool], _Loaded] = {}


class IndicatorMatcher:
    """The indicator stage: a picklable ``document -> document`` callable.

    ``paths`` are feed files or folders. They are read when the stage is made (a
    malformed feed fails before any record is read), once more in each worker process
    (it pickles as its paths), and again when a file changes: asked at most every
    ``recheck_seconds``, the clock read every :data:`CLOCK_STRIDE` records on a busy
    stream, like the lookups stage. ``withhold``: leave out the matched values (the
    document's address or email) because redaction is on.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        withhold: bool = False,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self.paths = tuple(os.fspath(p) for p in paths)
        self.withhold = withhold
        self.recheck_seconds = recheck_seconds
        self._loaded: _Loaded | None = None
        self._start()

    def _start(self) -> None:
        self._matcher = self._current()
        self._until_clock = CLOCK_STRIDE
        self._clock_read_at = time.monotonic()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "paths": self.paths,
            "withhold": self.withhold,
            "recheck_seconds": self.recheck_seconds,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.paths = state["paths"]
        self.withhold = state["withhold"]
        self.recheck_seconds = state["recheck_seconds"]
        self._loaded = None
        self._matcher = _Matcher(Indicators())  # replaced at the first record
        self._until_clock = 0
        self._clock_read_at = time.monotonic()

    def __repr__(self) -> str:
        return f"IndicatorMatcher({list(self.paths)!r})"

    @property
    def indicators(self) -> Indicators:
        """The feeds in use (loads them if this copy has not yet)."""
        return self._current().indicators

    @property
    def problem(self) -> str | None:
        """Why the last reload failed (the indicators in use are the ones before it)."""
        return self._loaded.problem if self._loaded is not None else None

    def __call__(self, document: dict[str, Any]) -> dict[str, Any]:
        self._until_clock -= 1
        if self._until_clock <= 0:
            now = time.monotonic()
            busy = now - self._clock_read_at < BUSY_SECONDS
            self._until_clock = CLOCK_STRIDE if busy else 1
            self._clock_read_at = now
            self._matcher = self._current()
        return match_indicators(document, self._matcher, withhold=self.withhold)

    def _current(self) -> _Matcher:
        loaded = self._loaded
        if loaded is None:
            key = (self.paths, self.withhold)
            loaded = _LOADED.get(key)
            if loaded is None:
                signature = _signature(self.paths)
                matcher = _Matcher(load_indicators(self.paths))
                loaded = _LOADED[key] = _Loaded(matcher, signature, time.monotonic())
            self._loaded = loaded
        if time.monotonic() - loaded.checked_at >= self.recheck_seconds:
            self._refresh(loaded)
        return loaded.matcher

    def _refresh(self, loaded: _Loaded) -> None:
        loaded.checked_at = time.monotonic()
        try:
            signature = _signature(self.paths)
            if signature == loaded.signature:
                return
            loaded.matcher = _Matcher(load_indicators(self.paths))
        except (StageConfigError, OSError) as exc:
            message = str(exc)
            if loaded.problem != message:
                loaded.problem = message
                print(f"onepassword-ecs: indicators not reloaded: {message}", file=sys.stderr)
            return
        loaded.signature = signature
        loaded.problem = None
