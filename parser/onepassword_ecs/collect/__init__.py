"""The collector: pull the 1Password Events API, deliver, then commit the cursor.

``onepassword-ecs collect`` is built from this room. The Events API is a
:class:`~onepassword_ecs.stream.Source` (one chunk per page, origin ``{"stream",
"cursor"}``); pages go through the same ``convert_chunk``/``deliver`` as ``convert``
and to a list of :class:`~onepassword_ecs.stream.Sink`; every sink is flushed before
a cursor is committed (at-least-once), and an NDJSON file's length is committed with
the cursor, so the file gets every event exactly once even across ``kill -9``.

Private modules: ``_config`` (options, tokens, URLs, TOML accounts), ``_client``
(httpx), ``_retry`` (tenacity policy), ``_budget`` (shared sliding-window rate
budget), ``_state`` (SQLite), ``_source`` (pages as chunks), ``_writer`` (the
exactly-once file), ``_run`` (the loop), ``_health`` (log lines and ``--status``),
``_stopper`` (signals), ``_command`` (putting a run together), ``_paths`` (no two
of a run's files may be one), ``_shard`` (``--shard K/N``), ``_slots`` (pages in
memory across accounts), ``_watchdog`` (whole-request deadlines), ``_malloc`` (glibc
arenas).
"""

from __future__ import annotations

from ._client import parse_retry_after
from ._command import CollectOutcome, CollectRequest, collect, open_sinks, status
from ._config import (
    API_VERSIONS,
    DEFAULT_RATE_LIMITS,
    REGIONS,
    TOKEN_ENV,
    AccountConfig,
    AccountDefaults,
    RateLimit,
    Secret,
    Tunables,
    check_url,
    default_state_path,
    load_accounts_file,
    parse_duration,
    parse_rate_limit,
    parse_since,
    parse_streams,
    rate_limit_warnings,
    read_token,
    resolve_base_url,
    url_from_token,
)
from ._malloc import limit_malloc_arenas
from ._paths import check_distinct_files
from ._shard import Shard, parse_shard, shard_of
from ._stopper import Stopper

__all__ = [
    "API_VERSIONS",
    "DEFAULT_RATE_LIMITS",
    "REGIONS",
    "TOKEN_ENV",
    "AccountConfig",
    "AccountDefaults",
    "CollectOutcome",
    "CollectRequest",
    "RateLimit",
    "Secret",
    "Shard",
    "Stopper",
    "Tunables",
    "check_distinct_files",
    "check_url",
    "collect",
    "default_state_path",
    "limit_malloc_arenas",
    "load_accounts_file",
    "open_sinks",
    "parse_duration",
    "parse_rate_limit",
    "parse_retry_after",
    "parse_shard",
    "parse_since",
    "parse_streams",
    "rate_limit_warnings",
    "read_token",
    "resolve_base_url",
    "shard_of",
    "status",
    "url_from_token",
]
