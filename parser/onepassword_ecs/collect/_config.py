"""What the collector is told: accounts, tokens, base URLs, start points and tunables.

Everything here is checked before the first request, so a bad option ends the run with
exit 2 and a clear message instead of a stream failing later. The token is wrapped in
:class:`Secret` as soon as it is read: its ``repr`` and ``str`` are a placeholder, so a
token cannot reach a log line or an error message by being formatted by accident.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from .._errors import CollectorConfigError
from ..mapping import Dataset, parse_dataset

__all__ = [
    "API_VERSIONS",
    "DEFAULT_RATE_LIMITS",
    "ENDPOINTS",
    "REGIONS",
    "RETENTION",
    "TOKEN_ENV",
    "AccountConfig",
    "AccountDefaults",
    "RateLimit",
    "Secret",
    "Tunables",
    "check_url",
    "default_state_path",
    "load_accounts_file",
    "parse_duration",
    "parse_rate_limit",
    "parse_since",
    "parse_streams",
    "rate_limit_warnings",
    "read_token",
    "resolve_base_url",
    "url_from_token",
]

TOKEN_ENV = "EVENTS_API_TOKEN"
"""The variable 1Password's own sample scripts read the token from."""

REGIONS: Mapping[str, str] = {
    "1password.com": "https://events.1password.com",
    "ent.1password.com": "https://events.ent.1password.com",
    "1password.ca": "https://events.1password.ca",
    "1password.eu": "https://events.1password.eu",
}
"""Where each hosting server's Events API lives (developer.1password.com, "Servers")."""

ENDPOINTS: Mapping[Dataset, str] = {
    Dataset.audit_events: "auditevents",
    Dataset.item_usages: "itemusages",
    Dataset.signin_attempts: "signinattempts",
}
"""Each stream's endpoint name, which is also the introspection feature that covers it."""

API_VERSIONS = ("v1", "v2")

RETENTION = timedelta(days=120)
"""The API serves the last 120 days; an older ``--since`` is clamped with a warning."""

_OLD_TOKEN_AUDIENCE = "com.1password.streamingservice"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


class Secret:
    """A token: usable through :meth:`reveal`, invisible when printed or logged."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` requests in any ``seconds``-long window."""

    count: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}s"


DEFAULT_RATE_LIMITS = (RateLimit(600, 60.0), RateLimit(30_000, 3600.0))
"""The Events API's documented limits (developer.1password.com, "Rate limits")."""


@dataclass(frozen=True)
class Tunables:
    """How hard and how often to poll. Defaults suit production; tests shrink them."""

    page_size: int = 1000
    pages_per_cycle: int = 50
    interval: float = 60.0
    timeout: float = 30.0
    max_attempts: int = 8
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = 3600.0
    rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS
    on_bad_cursor: str = "stop"
    reset_overlap: float = 3600.0
    ca_bundle: str | None = None
    max_response_bytes: int = 64 << 20
    max_stale_pages: int = 200
    """Pages in a row of already-delivered records before a stream is given up on."""
    pages_in_flight: int = 8
    """Pages fetched but not yet delivered, across every account (memory's bound)."""
    """Pages in a row of already-delivered records before a stream is given up on."""


@dataclass(frozen=True)
class AccountConfig:
    """One account to poll: where, with which token, which streams, from when."""

    name: str
    base_url: str
    token: Secret = field(repr=False)
    streams: tuple[Dataset, ...] = tuple(ENDPOINTS)
    since: datetime | None = None
    until: datetime | None = None
    api_version: str = "v2"


@dataclass(frozen=True)
class AccountDefaults:
    """What an ``[[account]]`` of a config file gets for the keys it leaves out."""

    streams: tuple[Dataset, ...] = tuple(ENDPOINTS)
    since: datetime | None = None
    until: datetime | None = None
    api_version: str = "v2"


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``24h``, ``7d``, ``500ms`` or plain seconds → seconds."""
    match = _DURATION.match(text)
    if not match:
        raise CollectorConfigError(
            f"not a duration: {text!r} (expected a number with ms, s, m, h, d or w, such as 7d)"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]


def parse_since(text: str, now: datetime, warnings: list[str]) -> datetime:
    """An RFC 3339 time or a duration back from ``now``, clamped to the API's retention."""
    if _DURATION.match(text):
        when = now - timedelta(seconds=parse_duration(text))
    else:
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            raise CollectorConfigError(
                f"not a time or a duration: {text!r} (expected RFC 3339 such as "
                "2024-05-01T10:00:00Z, or a duration such as 7d)"
            ) from None
        if when.tzinfo is None:
            raise CollectorConfigError(f"{text!r} has no UTC offset (add Z or +00:00)")
    oldest = now - RETENTION
    if when < oldest:
        warnings.append(
            f"--since {text} is older than the API's 120 days of retention; "
            f"starting at {oldest.astimezone(UTC).isoformat()} instead"
        )
        when = oldest
    return when.astimezone(UTC)


def parse_rate_limit(text: str) -> RateLimit:
    """``COUNT/SECONDS`` (``600/60``) or ``COUNT/DURATION`` (``30000/1h``)."""
    count, _, window = text.partition("/")
    try:
        number = int(count)
    except ValueError:
        number = 0
    if number < 1 or not window:
        raise CollectorConfigError(
            f"not a rate limit: {text!r} (expected COUNT/SECONDS, such as 600/60)"
        )
    seconds = parse_duration(window)
    if seconds <= 0:
        raise CollectorConfigError(f"rate-limit window must be positive: {text!r}")
    return RateLimit(number, seconds)


def rate_limit_warnings(limits: Sequence[RateLimit]) -> list[str]:
    """Say so when the configured limits let more through than the API allows.

    The most requests the limits admit in a window of ``W`` seconds is, for each limit,
    ``count * ceil(W / seconds)``, and the smallest of those; compared with 600 a minute
    and 30,000 an hour. Lower is always fine; higher is allowed (a test server may be
    faster) but will meet 429s from the real API.
    """
    found = []
    for api in DEFAULT_RATE_LIMITS:
        admitted = min(
            (limit.count * math.ceil(api.seconds / limit.seconds) for limit in limits),
            default=0,
        )
        if admitted > api.count:
            found.append(
                f"the rate limits ({', '.join(map(str, limits))}) admit up to {admitted} "
                f"requests in {api.seconds:g}s, more than the API's {api}: expect 429s"
            )
    return found


def parse_streams(names: Sequence[str]) -> tuple[Dataset, ...]:
    chosen: list[Dataset] = []
    for name in names:
        try:
            dataset = parse_dataset(name.strip())
        except ValueError:
            raise CollectorConfigError(
                f"unknown stream {name!r} (expected audit_events, item_usages, signin_attempts)"
            ) from None
        if dataset not in chosen:
            chosen.append(dataset)
    if not chosen:
        raise CollectorConfigError("no stream chosen")
    return tuple(chosen)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(url: str) -> str:
    """The URL as an error message may show it: scheme, host and port, nothing else.

    A mistyped URL may hold a password (``user:pass@``) or a token in its query; an
    error message ends up in logs and tickets, so it never repeats those parts.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(the URL given)"
    if not parts.scheme or not host:
        return "(the URL given)"
    return f"{parts.scheme}://{host}{port}"


def check_url(url: str) -> str:
    """The base URL without a trailing slash; plain HTTP only to a loopback address.

    The token travels in a header: over plain HTTP anyone on the path could read it.
    Loopback is allowed for tests and local TLS-terminating proxies. Credentials in
    the URL (``https://user:pass@host``) are refused, as for cluster URLs: httpx would
    send them as Basic auth beside the token, and they would sit in shell history and
    ``ps``. No error message repeats the URL beyond its scheme, host and port.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a malformed port raises here, not in httpx later
    except ValueError:
        raise CollectorConfigError("not an http(s) URL: the Events API URL is malformed") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise CollectorConfigError(
            f"the Events API URL {_shown(url)} carries credentials (user:password@): "
            "refused; the Events API takes only the bearer token (from "
            f"${TOKEN_ENV} or --token-file), so remove them from the URL"
        )
    if parts.scheme not in ("https", "http") or not host:
        raise CollectorConfigError(
            "not an http(s) URL: the Events API URL needs https:// and a host name"
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise CollectorConfigError(
            f"refusing plain HTTP to {host}: the token would travel unencrypted "
            "(use https://, or http:// only to a loopback address such as 127.0.0.1)"
        )
    if parts.query or parts.fragment:
        raise CollectorConfigError(
            f"the base URL takes no query or fragment: {_shown(url)}?... (not repeated here)"
        )
    return url.strip().rstrip("/")


def url_from_token(token: Secret) -> str | None:
    """``https://`` + the JWT's first ``aud``, as 1Password's own collectors derive it.

    The token is read, not verified (the API verifies it). ``None`` when the token is
    not a JWT or carries the old audience that names no server. Nothing of the token
    is ever put in an error message.
    """
    pieces = token.reveal().split(".")
    if len(pieces) != 3:
        return None
    payload = pieces[1] + "=" * (-len(pieces[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    audience = claims.get("aud") if isinstance(claims, dict) else None
    if isinstance(audience, list):
        audience = audience[0] if audience else None
    if not isinstance(audience, str) or not audience or audience == _OLD_TOKEN_AUDIENCE:
        return None
    host = audience.removeprefix("https://").rstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", host):
        return None
    return f"https://{host}"


_TOKEN_CHARACTERS = re.compile(r"[\x21-\x7e]+")
"""Printable ASCII without spaces: what a bearer token (a JWT) is made of."""


def read_token(*, token_file: str | None, env_name: str, environ: Mapping[str, str]) -> Secret:
    """The token from a file (first line, trimmed) or an environment variable.

    A token with spaces, control or non-ASCII characters is refused here, with a
    message that does not quote it: sent on, it would fail in the HTTP layer, whose
    error text could quote the header it was in.
    """
    if token_file is not None:
        where = f"the token file {token_file}"
        try:
            text = Path(token_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CollectorConfigError(f"cannot read {where}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CollectorConfigError(f"{where} is not UTF-8 text") from None
        lines = text.strip().splitlines()
        value = lines[0].strip() if lines else ""
        if not value:
            raise CollectorConfigError(f"{where} is empty")
    else:
        where = f"${env_name}"
        value = environ.get(env_name, "").strip()
        if not value:
            raise CollectorConfigError(
                f"no token: set {env_name} or pass --token-file PATH "
                "(a token is never accepted on the command line, where ps would show it)"
            )
    if not _TOKEN_CHARACTERS.fullmatch(value):
        raise CollectorConfigError(
            f"the token in {where} holds spaces, control or non-ASCII characters; "
            "a bearer token has none (copied with something extra?)"
        )
    return Secret(value)


def resolve_base_url(url: str | None, region: str | None, token: Secret) -> str:
    """``--url``, else ``--region``, else the token's audience."""
    if url:
        return check_url(url)
    if region:
        if region not in REGIONS:
            raise CollectorConfigError(
                f"unknown region {region!r} (expected one of {', '.join(REGIONS)})"
            )
        return REGIONS[region]
    derived = url_from_token(token)
    if derived is None:
        raise CollectorConfigError(
            "the token names no server: pass --region (1password.com, ent.1password.com, "
            "1password.ca, 1password.eu) or --url"
        )
    return check_url(derived)


def default_state_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/onepassword-ecs/collector.sqlite3`` (``~/.local/state`` by default)."""
    base = environ.get("XDG_STATE_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "onepassword-ecs" / "collector.sqlite3"


_ACCOUNT_KEYS = {
    "name",
    "region",
    "url",
    "token_file",
    "token_env",
    "streams",
    "since",
    "until",
    "api_version",
}


def load_accounts_file(
    path: str,
    *,
    environ: Mapping[str, str],
    now: datetime,
    defaults: AccountDefaults,
    warnings: list[str],
) -> list[AccountConfig]:
    """Accounts from a TOML file: one ``[[account]]`` table each.

    Keys: ``name`` (required, unique), ``region`` or ``url``, ``token_file`` or
    ``token_env`` (default ``EVENTS_API_TOKEN``), ``streams``, ``since``, ``until``,
    ``api_version``. A token value itself is not accepted in the file.
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise CollectorConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CollectorConfigError(f"{path}: not valid TOML: {exc}") from None
    entries: Any = data.get("account")
    if not isinstance(entries, list) or not entries:
        raise CollectorConfigError(f"{path}: no [[account]] table")
    accounts: list[AccountConfig] = []
    for number, entry in enumerate(entries, 1):
        where = f"{path}: account {number}"
        if not isinstance(entry, dict):
            raise CollectorConfigError(f"{where}: not a table")
        unknown = set(entry) - _ACCOUNT_KEYS
        if unknown:
            raise CollectorConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CollectorConfigError(f"{where}: a name is required")
        if any(other.name == name for other in accounts):
            raise CollectorConfigError(f"{where}: the name {name!r} is used twice")
        token = read_token(
            token_file=_optional_str(entry, "token_file", where),
            env_name=_optional_str(entry, "token_env", where) or TOKEN_ENV,
            environ=environ,
        )
        base_url = resolve_base_url(
            _optional_str(entry, "url", where), _optional_str(entry, "region", where), token
        )
        streams_value = entry.get("streams")
        if streams_value is None:
            streams = defaults.streams
        elif isinstance(streams_value, list) and all(isinstance(s, str) for s in streams_value):
            streams = parse_streams(streams_value)
        else:
            raise CollectorConfigError(f"{where}: streams must be a list of names")
        since_text = _optional_str(entry, "since", where)
        until_text = _optional_str(entry, "until", where)
        version = _optional_str(entry, "api_version", where) or defaults.api_version
        if version not in API_VERSIONS:
            raise CollectorConfigError(f"{where}: api_version must be v1 or v2")
        accounts.append(
            AccountConfig(
                name=name,
                base_url=base_url,
                token=token,
                streams=streams,
                since=parse_since(since_text, now, warnings) if since_text else defaults.since,
                until=parse_since(until_text, now, warnings) if until_text else defaults.until,
                api_version=version,
            )
        )
    return accounts


def _optional_str(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CollectorConfigError(f"{where}: {key} must be a string")
    return value
