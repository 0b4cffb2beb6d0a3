"""Hypothesis strategies for raw 1Password Events API records, valid and corrupted.

Everything a test needs to *generate* input lives here; the properties live in
``test_properties.py`` and the CLI fuzz target in ``test_fuzz_cli.py``.

What is generated
-----------------
* ``records(dataset)``: a valid raw record of one stream, v1 or v2 shape. Every
  documented field can appear; optional fields are absent, null or present; actions,
  object types and sign-in categories/types are documented values or unknown ones;
  random extra fields (top level and inside the nested objects); unicode in every
  string; IPv4, IPv6 and garbage IPs; RFC 3339 timestamps with ``Z`` or offsets and
  0-9 fractional digits. Each record carries one key that identifies its stream, so
  detection must succeed.
* ``corrupt_records()``: a valid record with one to three damages: a field of the
  wrong type, nested junk, huge strings, integers beyond 64 bits, a missing or bad
  timestamp, a missing identifying key.
* ``json_values()``: any JSON value (the "anything at all" input).
* ``timestamps()`` / ``near_miss_timestamps()``: valid RFC 3339 date-times and
  strings that almost are.

Known bugs
----------
Some inputs trigger bugs that are reported to their owners and pinned by
``xfail(strict=True)`` tests named after the bug. ``BUGS`` lists the open ones; while
a bug is listed the strategies avoid its trigger, so the general properties keep
guarding everything else. When the owner fixes a bug, its xfail test XPASSes (strict:
a failure); they delete the entry from ``BUGS`` and turn the test into a plain
regression test, and the properties start generating the trigger again.
"""

from __future__ import annotations

import calendar
import copy
import string
from collections.abc import Callable
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from onepassword_ecs import Dataset

__all__ = [
    "AUDIT_KEYS",
    "BUGS",
    "DATASETS",
    "ITEM_USAGE_KEYS",
    "SIGNIN_KEYS",
    "corrupt_records",
    "has_big_int",
    "is_open",
    "json_scalars",
    "json_values",
    "near_miss_timestamps",
    "records",
    "records_with_dataset",
    "scaled",
    "timestamps",
    "unicode_text",
]

# Bug id -> (owner, what triggers it). Each has an xfail test named after it.
LEAD = "lead: mappers"
VALIDATOR = "helper: _validate.py / _template.py"
CLI = "helper: CLI (_cli.py, _convert.py, _ndjson.py)"
BUGS: dict[str, tuple[str, str]] = {}


def is_open(bug: str) -> bool:
    """True while ``bug`` is listed in ``BUGS``: the strategies avoid its trigger."""
    return bug in BUGS


def scaled(divisor: int, minimum: int = 10) -> int:
    """An example budget for a test that is ``divisor`` times heavier than a property.

    Read from the active profile, so ``HYPOTHESIS_PROFILE=long`` scales it up too.
    """
    return max(minimum, settings().max_examples // divisor)


DATASETS = tuple(Dataset)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- vocabulary (from the reference tables, copied so the tests need no /work/shared)

AUDIT_ACTIONS = _words(
    "activate addgsso begin beginr cancel cancelr changeks changela changemp changenm "
    "changesk chngasso chngdsso chngpsso complete completr convert create dealldev delete "
    "delgsso delshare deolddev detchild disblduo disblmfa disblsso dlgsess dvrfydmn enblduo "
    "enblmfa enblsso expire export grant hide join launchi leave musercom muserdec patch "
    "propose provsn prsndall purge rdmchild reactive reauth replace resendts revoke role "
    "sdvcsso sendpkg sendts share ssotknv suspend tdvcsso trename trevoke trvlaway trvlback "
    "tverify uisas unhide unknown unlink updatduo update updatea updatfw updatmfa upguest "
    "uvrfydmn verify view vrfydmn"
)
AUDIT_OBJECT_TYPES = _words(
    "account card cred device dlgdsess ec famchild file gm group gva invite item itemhist "
    "items miguser mngdacc pm report sa satoken slackapp sso ssotkn sub template user uva "
    "vault vaultkey"
)
ITEM_USAGE_ACTIONS = _words(
    "enter-item-edit-mode export fill other reveal secure-copy select-sso-provider "
    "server-create server-fetch server-update share"
)
SIGNIN_CATEGORIES = _words(
    "success credentials_failed mfa_failed sso_failed modern_version_failed "
    "firewall_failed firewall_reported_success"
)
SIGNIN_TYPES = _words(
    "all_blocked anonymous_blocked code_bad code_disabled code_timeout continent_blocked "
    "country_blocked credentials_ok duo_bad duo_disabled duo_native_bad duo_timeout "
    "federated ip_blocked mfa_missing mfa_ok modern_version_missing modern_version_old "
    "non_sso_user password_secret_bad platform_secret_bad platform_secret_disabled "
    "platform_secret_proxy service_account_sso_denied sso_user_mismatch totp_bad "
    "totp_disabled totp_timeout u2f_bad u2f_disabled u2f_timeout u2f_timout"
)

# Raw keys each stream documents (v1 and v2), top level and nested.
PERSON_KEYS = ("uuid", "name", "email")
PERSON_V2_KEYS = ("user_type", "user_account_uuid")
CLIENT_KEYS = (
    "app_name",
    "app_version",
    "platform_name",
    "platform_version",
    "os_name",
    "os_version",
    "ip_address",
)
LOCATION_KEYS = ("country", "region", "city", "latitude", "longitude")
SESSION_KEYS = ("uuid", "login_time", "device_uuid", "ip")
AUDIT_KEYS = _words(
    "uuid timestamp actor_uuid actor_details action object_type object_uuid object_details "
    "aux_id aux_uuid aux_details aux_info session location"
)
AUDIT_V2_KEYS = ("account_uuid", "actor_type", "actor_account_uuid")
ITEM_USAGE_KEYS = _words(
    "uuid timestamp used_version vault_uuid item_uuid action user client location"
)
SIGNIN_KEYS = _words(
    "uuid session_uuid timestamp category type country details target_user client location"
)
V2_KEYS = ("account_uuid",)
# Keys detection looks at (any stream) and the collector hint field: random extra
# fields never use these, so that detection stays predictable. Nor "items" while the CLI
# takes any object with an "items" list for a page (bug "cli-record-with-items").
RESERVED_KEYS = frozenset(
    {*AUDIT_KEYS, *AUDIT_V2_KEYS, *ITEM_USAGE_KEYS, *SIGNIN_KEYS, "sekoia_event_type"}
) | ({"items"} if "cli-record-with-items" in BUGS else set())
# Documented keys of the nested objects: random extra fields never reuse them either, so
# a valid record stays valid (wrong types come from corrupt_records only).
NESTED_KEYS = frozenset(
    {*PERSON_KEYS, *PERSON_V2_KEYS, *CLIENT_KEYS, "ip", *LOCATION_KEYS, *SESSION_KEYS, "value"}
)
# Raw dotted paths the mappers report in onepassword.malformed.
KNOWN_PATHS = (
    "uuid",
    "action",
    "aux_id",
    "session.ip",
    "session.login_time",
    "location.latitude",
    "client.ip_address",
    "actor_details.name",
    "details.value",
    "used_version",
)

# --- primitives -------------------------------------------------------------------

# Unicode everywhere: Hypothesis' default alphabet is every code point except lone
# surrogates (which no JSON text can carry; see the "lone-surrogates" bug for dicts).
_CHARS = st.characters(codec="utf-8")
unicode_text = st.text(_CHARS, max_size=24)

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
uuids = st.one_of(
    st.text(st.sampled_from(_BASE32), min_size=26, max_size=26),
    st.text(st.sampled_from(_BASE32.lower()), min_size=26, max_size=26),
    st.uuids().map(str),
    unicode_text,
)

_NAMES = (
    "Alice Kowalski",
    "François Lefèvre",
    "Carol N'Diaye",
    "Eun-ji Park 박은지",
    "Дмитрий Иванов",
    "Priya Raman",
    "Deploy Bot",
    "zoë 🦊",
)
names = st.one_of(st.sampled_from(_NAMES), unicode_text)
emails = st.one_of(
    st.sampled_from(("alice@acme.example", "grace@northwind-msp.example", "bjørn@exämple.test")),
    st.builds(lambda a, b: f"{a}@{b}", unicode_text, unicode_text),
)

_ARABIC_INDIC_IP = str.maketrans(string.digits, "".join(chr(0x0660 + i) for i in range(10)))
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
garbage_ips = st.one_of(
    st.sampled_from(
        (
            "10.0.0.999",
            "unknown",
            " 192.0.2.1",
            "192.0.2.1 ",
            "fe80::1%eth0",
            "1.2.3",
            "192.0.2.1/24",
            "2001:db8::g",
            "::ffff:999.1.1.1",
            "192.0.2.1".translate(_ARABIC_INDIC_IP),
        )
    ),
    unicode_text,
)
ips = st.one_of(ipv4, ipv6, garbage_ips)

user_types = st.one_of(st.sampled_from(("user", "external_user")), unicode_text)
countries = st.one_of(
    st.sampled_from(
        ("CA", "ca", "Canada", "FR", "France", "Côte d'Ivoire", "Czech Republic", "XX", "  de ")
    ),
    unicode_text,
)
regions = st.one_of(st.sampled_from(("Ontario", "Québec", "Île-de-France", "ON")), unicode_text)
latitudes = st.one_of(
    st.floats(-90, 90),
    st.integers(-90, 90),
    st.floats(allow_nan=False, allow_infinity=False),
)
longitudes = st.one_of(
    st.floats(-180, 180),
    st.integers(-180, 180),
    st.floats(allow_nan=False, allow_infinity=False),
)

INT64 = (-(2**63), 2**63 - 1)

# --- timestamps -------------------------------------------------------------------


def _two(value: int) -> str:
    return f"{value:02d}"


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """A valid RFC 3339 date-time (``T``/``t``/space, 0-9 fractional digits, ``Z``/``z``
    or a ``±hh:mm`` offset up to ±23:59). Years 2-9998 so that any offset stays inside
    the range both Python and Elasticsearch can represent.
    """
    year = draw(st.one_of(st.integers(1990, 2040), st.integers(2, 9998)))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(year, month)[1]))
    hour, minute, second = (
        draw(st.integers(0, 23)),
        draw(st.integers(0, 59)),
        draw(st.integers(0, 59)),
    )
    digits = draw(st.integers(0, 9))
    fraction = draw(st.text(st.sampled_from(string.digits), min_size=digits, max_size=digits))
    separator = draw(st.sampled_from("TTTt "))
    offset = draw(
        st.one_of(
            st.sampled_from(("Z", "Z", "z", "+00:00", "-00:00")),
            st.builds(
                lambda sign, h, m: f"{sign}{_two(h)}:{_two(m)}",
                st.sampled_from("+-"),
                st.integers(0, 23),
                st.integers(0, 59),
            ),
        )
    )
    text = f"{year:04d}-{_two(month)}-{_two(day)}{separator}{_two(hour)}:{_two(minute)}"
    text += f":{_two(second)}"
    if fraction:
        text += "." + fraction
    return text + offset


# Digits Python's re \d and int() accept but RFC 3339 does not (U+FF10.., U+0660..).
_FULLWIDTH = str.maketrans(string.digits, "".join(chr(0xFF10 + i) for i in range(10)))
_ARABIC_INDIC = str.maketrans(string.digits, "".join(chr(0x0660 + i) for i in range(10)))


def _near_miss_edits() -> list[Callable[[str], str]]:
    edits: list[Callable[[str], str]] = [
        lambda t: t[:19],  # no offset
        lambda t: t[:10],  # date only
        lambda t: t[:5] + "13" + t[7:],  # month 13
        lambda t: t[:5] + "00" + t[7:],  # month 0
        lambda t: t[:8] + "32" + t[10:],  # day 32
        lambda t: "2023-02-29" + t[10:],  # not a leap year
        lambda t: "2024-02-30" + t[10:],
        lambda t: t[:11] + "24" + t[13:],  # hour 24
        lambda t: t[:14] + "60" + t[16:],  # minute 60
        lambda t: t[:17] + "60" + t[19:],  # leap second: valid only at 23:59:60 UTC
        lambda t: t[:11] + "23:59:60" + t[19:],  # ... which this is when the offset is Z
        lambda t: t[:19] + ".1234567890Z",  # ten fractional digits: cut to nine
        lambda t: t[:19] + ".Z",
        lambda t: t[:19] + "+24:00",
        lambda t: t[:19] + "+0",
        lambda t: t[:19] + "Z ",
        lambda t: " " + t,
        lambda t: t + "\n",
        lambda t: t.replace("-", "/", 2),
        lambda t: "0000" + t[4:19] + "Z",  # year 0 is not representable
        lambda t: "0001-01-01T00:00:00+00:01",  # before year 1 in UTC
        lambda t: "9999-12-31T23:59:59-00:01",  # after year 9999 in UTC
        lambda t: t[:19] + "+05:30:00",
        lambda t: t[:19] + "UTC",
        lambda t: t[:19] + "GMT+1",
    ]
    if not is_open("offset-minutes"):
        edits.append(lambda t: t[:19] + "+00:99")
        edits.append(lambda t: t[:19] + "-05:60")
    if not is_open("non-ascii-digits"):
        edits.append(lambda t: t.translate(_FULLWIDTH))
        edits.append(lambda t: t[:19] + ".\u0663Z")
        edits.append(lambda t: t[:11] + "1\u0663" + t[13:])  # hour "1\u0663"
        edits.append(lambda t: t.translate(_ARABIC_INDIC))
    return edits


@st.composite
def near_miss_timestamps(draw: st.DrawFn) -> str:
    """A string that is *almost* an RFC 3339 date-time (or, rarely, is one)."""
    base = draw(timestamps())
    edits = _near_miss_edits()
    edit = draw(st.sampled_from(edits))
    return edit(base)


bad_timestamp_values = st.one_of(
    st.sampled_from(("yesterday", "", "now", "2024-05-01", "1714557600", "2024-05-01T10:00:00")),
    near_miss_timestamps(),
    unicode_text,
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(unicode_text, st.integers(), max_size=2),
)

# --- any JSON value ---------------------------------------------------------------


def _keys() -> st.SearchStrategy[str]:
    """Keys for random objects: mostly plain, sometimes hostile to Elasticsearch."""
    tricky = ["a.b", "@x", "malformed", "x" * 300, "tab\tkey", "ключ", "🔑"]
    if not is_open("malformed-bad-keys"):
        tricky += ["", " x", "x ", "."]
    if not is_open("underscore-keys"):
        tricky += ["_", "__"]
    if not is_open("malformed-key-collision"):
        tricky += list(KNOWN_PATHS)
    plain = st.text(_CHARS, min_size=1, max_size=12)
    if is_open("underscore-keys"):
        plain = plain.filter(lambda k: k.strip("_") != "")
    if is_open("malformed-bad-keys"):
        plain = plain.filter(lambda k: k == k.strip())
    if is_open("malformed-key-collision"):
        plain = plain.filter(lambda k: "." not in k or k not in KNOWN_PATHS)
    return st.one_of(plain, st.sampled_from(tricky))


_KEYS = _keys()
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(INT64[0], INT64[1]),
    st.floats(allow_nan=False, allow_infinity=False),
    unicode_text,
)


def json_values(max_leaves: int = 30) -> st.SearchStrategy[Any]:
    """Any JSON value: scalars, arrays (possibly mixing kinds), objects."""
    return st.recursive(
        json_scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(_KEYS, children, max_size=5),
        ),
        max_leaves=max_leaves,
    )


def extra_fields(max_size: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """Random fields the API might add one day (never a key that decides detection)."""
    keys = _KEYS.filter(lambda k: k not in RESERVED_KEYS and k not in NESTED_KEYS)
    return st.dictionaries(keys, json_values(12), max_size=max_size)


# --- valid records ----------------------------------------------------------------


def _maybe_null(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, strategy, st.none())


def _object(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]],
    extras: bool = True,
) -> st.SearchStrategy[dict[str, Any]]:
    """An object with ``required`` keys, each ``optional`` key absent/null/present, and
    sometimes random extra keys (which never replace a documented key).
    """
    base = st.fixed_dictionaries(
        required, optional={key: _maybe_null(value) for key, value in optional.items()}
    )
    if not extras:
        return base
    return st.builds(
        lambda fields, extra: {**extra, **fields},
        base,
        st.one_of(st.just({}), st.just({}), extra_fields()),
    )


def _person(v2: bool) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {"uuid": uuids, "name": names, "email": emails}
    if v2:
        optional |= {"user_type": user_types, "user_account_uuid": uuids}
    return _object({}, optional)


def _location() -> st.SearchStrategy[dict[str, Any]]:
    return _object(
        {},
        {
            "country": countries,
            "region": regions,
            "city": st.one_of(st.sampled_from(("Toronto", "São Paulo", "東京")), unicode_text),
            "latitude": latitudes,
            "longitude": longitudes,
        },
    )


def _client() -> st.SearchStrategy[dict[str, Any]]:
    client = _object(
        {},
        {
            "app_name": st.one_of(
                st.sampled_from(("1Password Extension", "1Password CLI", "1Password for Mac")),
                unicode_text,
            ),
            "app_version": st.one_of(st.sampled_from(("20127", "81032016", "")), unicode_text),
            "platform_name": st.one_of(st.sampled_from(("Chrome", "Firefox", "")), unicode_text),
            "platform_version": unicode_text,
            "os_name": st.one_of(st.sampled_from(("MacOSX", "Windows", "Linux")), unicode_text),
            "os_version": unicode_text,
            "ip_address": ips,
        },
    )

    def rename_ip(client: dict[str, Any], use_ip_key: bool) -> dict[str, Any]:
        # Some published samples say "ip" instead of "ip_address".
        if use_ip_key and "ip_address" in client:
            client = dict(client)
            client["ip"] = client.pop("ip_address")
        return client

    return st.builds(rename_ip, client, st.booleans())


def _session() -> st.SearchStrategy[dict[str, Any]]:
    return _object(
        {},
        {"uuid": uuids, "login_time": timestamps(), "device_uuid": uuids, "ip": ips},
    )


def _audit(v2: bool) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {
        "uuid": uuids,
        "actor_uuid": uuids,
        "actor_details": _person(v2),
        "object_type": st.one_of(st.sampled_from(AUDIT_OBJECT_TYPES), unicode_text),
        "object_uuid": uuids,
        "object_details": _person(v2),
        "aux_id": st.one_of(st.integers(0, 2**31), st.integers(INT64[0], INT64[1])),
        "aux_uuid": uuids,
        "aux_details": _person(v2),
        "aux_info": st.one_of(
            st.sampled_from(("R", "A", "1,0,0,0,0", "0,2,1,0,0", "carol@acme.example")),
            unicode_text,
        ),
        "session": _session(),
        "location": _location(),
    }
    if v2:
        optional |= {"account_uuid": uuids, "actor_type": user_types, "actor_account_uuid": uuids}
    # actor_uuid identifies an audit event; action alone does not (item usages have one).
    required = {
        "timestamp": timestamps(),
        "actor_uuid": uuids,
        "action": _maybe_null(st.one_of(st.sampled_from(AUDIT_ACTIONS), unicode_text)),
    }
    optional.pop("actor_uuid")
    return _object(required, optional)


def _item_usage(v2: bool) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {
        "uuid": uuids,
        "used_version": st.one_of(st.integers(0, 1000), st.integers(0, INT64[1])),
        "vault_uuid": uuids,
        "action": st.one_of(st.sampled_from(ITEM_USAGE_ACTIONS), unicode_text),
        "user": _person(v2),
        "client": _client(),
        "location": _location(),
    }
    if v2:
        optional["account_uuid"] = uuids
    return _object({"timestamp": timestamps(), "item_uuid": _maybe_null(uuids)}, optional)


def _signin(v2: bool) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {
        "uuid": uuids,
        "session_uuid": uuids,
        "type": st.one_of(st.sampled_from(SIGNIN_TYPES), unicode_text),
        "country": countries,
        "details": _object({}, {"value": st.one_of(st.sampled_from(("Europe", "Asia")), ips)}),
        "target_user": _person(v2),
        "client": _client(),
        "location": _location(),
    }
    if v2:
        optional["account_uuid"] = uuids
    category = _maybe_null(st.one_of(st.sampled_from(SIGNIN_CATEGORIES), unicode_text))
    return _object({"timestamp": timestamps(), "category": category}, optional)


_BUILDERS = {
    Dataset.audit_events: _audit,
    Dataset.item_usages: _item_usage,
    Dataset.signin_attempts: _signin,
}


def records(dataset: Dataset | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """A valid raw record of ``dataset`` (any stream when None), v1 or v2 shape."""
    chosen = DATASETS if dataset is None else (dataset,)
    return st.one_of([_BUILDERS[d](v2) for d in chosen for v2 in (False, True)])


def records_with_dataset() -> st.SearchStrategy[tuple[Dataset, dict[str, Any]]]:
    """``(dataset, record)`` pairs: a valid record and the stream it was built for."""
    return st.one_of(
        [st.tuples(st.just(d), _BUILDERS[d](v2)) for d in DATASETS for v2 in (False, True)]
    )


# --- corrupted records --------------------------------------------------------------


def _junk() -> st.SearchStrategy[Any]:
    """Values of the wrong type for wherever they land."""
    # In UTF-8 bytes. 32766 is the most one keyword term can hold; while the bug is open,
    # 16000 keeps even two such values in one malformed JSON text below it.
    huge_limit = 16_000 if is_open("huge-keyword") or is_open("huge-malformed") else 70_000
    junk = [
        json_values(20),
        st.integers(),  # beyond 64 bits too
        st.integers(2**63, 2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.builds(
            lambda n, c: c * min(n, huge_limit // len(c.encode())),
            st.integers(2_000, huge_limit),
            st.sampled_from("xé字🦊"),
        ),
        st.lists(st.one_of(st.integers(), unicode_text, st.booleans()), min_size=2, max_size=4),
        st.builds(lambda n: _nested_lists(n), st.integers(2, 40)),
        st.builds(lambda n: _nested_objects(n), st.integers(2, 40)),
    ]
    return st.one_of(junk)


def _nested_lists(depth: int) -> Any:
    value: Any = ["bottom"]
    for _ in range(depth):
        value = [value]
    return value


def _nested_objects(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"n": value}
    return value


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path inside nested objects (not inside arrays)."""
    found: list[tuple[str, ...]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((*prefix, key))
            found.extend(_paths(child, (*prefix, key)))
    return found


# Documented paths where a wrong type is a "declared place" the mapper must check, so
# corruption also targets them when absent from the record.
_CORRUPTIBLE = [
    (key,) for key in (*AUDIT_KEYS, *ITEM_USAGE_KEYS, *SIGNIN_KEYS) if key != "timestamp"
] + [
    ("session", "login_time"),
    ("session", "ip"),
    ("location", "latitude"),
    ("location", "country"),
    ("client", "ip_address"),
    ("client", "os_name"),
    ("actor_details", "name"),
    ("target_user", "email"),
    ("user", "uuid"),
    ("details", "value"),
]
_V2_PATHS = [
    ("account_uuid",),
    ("actor_type",),
    ("actor_account_uuid",),
    ("actor_details", "user_type"),
    ("user", "user_account_uuid"),
    ("target_user", "user_type"),
]


def _set_path(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = record
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


def _declared_vendor_hazard(dataset: Dataset, path: tuple[str, ...]) -> bool:
    """Would junk at ``path`` hit the open "declared-vendor-types" bug?

    The mapper type-checks only the fields of the record's own stream; declared
    onepassword.* fields of other streams and the v2 fields pass through untyped.
    """
    if path in _V2_PATHS or path[-1] in PERSON_V2_KEYS:
        return True
    own = {
        Dataset.audit_events: AUDIT_KEYS,
        Dataset.item_usages: ITEM_USAGE_KEYS,
        Dataset.signin_attempts: SIGNIN_KEYS,
    }[dataset]
    declared_roots = {
        "object_type",
        "object_uuid",
        "aux_id",
        "aux_uuid",
        "aux_info",
        "session",
        "vault_uuid",
        "item_uuid",
        "used_version",
        "session_uuid",
        "type",
        "country",
        "details",
        "client",
        "location",
        "actor_details",
        "object_details",
        "aux_details",
        "user",
        "target_user",
    }
    return path[0] in declared_roots and path[0] not in own


@st.composite
def corrupt_records(draw: st.DrawFn) -> tuple[Dataset, dict[str, Any]]:
    """``(dataset, record)``: a valid record damaged in one to three places."""
    dataset, record = draw(records_with_dataset())
    record = copy.deepcopy(record)
    for _ in range(draw(st.integers(1, 3))):
        damage = draw(
            st.sampled_from(
                (
                    "wrong-type",
                    "wrong-type",
                    "nested-junk",
                    "bad-timestamp",
                    "drop-timestamp",
                    "drop-key",
                    "v2-wrong-type",
                )
            )
        )
        if damage == "bad-timestamp":
            record["timestamp"] = draw(bad_timestamp_values)
        elif damage == "drop-timestamp":
            record.pop("timestamp", None)
        elif damage == "drop-key":
            paths = [p for p in _paths(record) if len(p) == 1]
            if paths:
                record.pop(draw(st.sampled_from(paths))[0], None)
        else:
            candidates = _paths(record) + _CORRUPTIBLE
            if damage == "v2-wrong-type":
                candidates = list(_V2_PATHS)
            if damage == "nested-junk":
                candidates = [(draw(_KEYS.filter(lambda k: k not in RESERVED_KEYS)),)]
            if is_open("declared-vendor-types"):
                candidates = [p for p in candidates if not _declared_vendor_hazard(dataset, p)]
            candidates = [p for p in candidates if p != ("timestamp",)]
            if not candidates:
                continue
            path = draw(st.sampled_from(candidates))
            value = draw(_junk())
            if is_open("coordinate-bigint") and path[-1] in ("latitude", "longitude"):
                value = draw(_junk().filter(lambda v: not _big_int(v)))
            _set_path(record, path, value)
    return dataset, record


def _big_int(value: Any) -> bool:
    return type(value) is int and not INT64[0] <= value <= INT64[1]


def has_big_int(value: Any) -> bool:
    """True when an int beyond 64 bits is anywhere inside ``value``."""
    if isinstance(value, dict):
        return any(has_big_int(v) for v in value.values())
    if isinstance(value, list):
        return any(has_big_int(v) for v in value)
    return _big_int(value)
