"""``onepassword-ecs collect``: pull the Events API into ECS NDJSON (or report health).

Argument parsing only: the options become a :class:`~onepassword_ecs.collect.CollectRequest`
and the ``collect`` room does the run. The token is read from ``EVENTS_API_TOKEN`` or
``--token-file``; there is deliberately no option that takes the token itself.

Exit statuses: 0 every covered stream caught up (or the run was stopped by a signal);
1 a stream stopped on an error, or ``--status`` found an unhealthy stream; 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import os
import ssl
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._errors import CollectorConfigError, SinkError
from ..collect import (
    API_VERSIONS,
    DEFAULT_RATE_LIMITS,
    REGIONS,
    TOKEN_ENV,
    AccountConfig,
    AccountDefaults,
    CollectRequest,
    Shard,
    Tunables,
    check_distinct_files,
    collect,
    default_state_path,
    limit_malloc_arenas,
    load_accounts_file,
    parse_duration,
    parse_rate_limit,
    parse_shard,
    parse_since,
    parse_streams,
    rate_limit_warnings,
    read_token,
    resolve_base_url,
    status,
)
from ._common import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, Streams, positive_int
from ._datastream import add_data_stream_options, data_stream_stages
from ._sink_options import add_sink_options, default_store_path, open_sinks, sinks_requested
from ._stage_options import (
    StageConfigError,
    add_stage_options,
    build_stages,
    withhold_if_redacting,
)

__all__ = ["register"]


def _duration(value: str) -> float:
    try:
        return parse_duration(value)
    except CollectorConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _NoToken(argparse.Action):
    """``--token`` exists only to be refused without repeating its value.

    Without it, argparse answers ``unrecognized arguments: --token SECRET`` and the
    secret lands in the terminal, the shell's scrollback and whatever log captures
    standard error.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            f"{option_string} is not accepted (its value is not repeated here): a token on "
            f"the command line is visible to every user through ps; set ${TOKEN_ENV} or "
            "pass --token-file PATH"
        )


def _shard(value: str) -> Shard:
    try:
        return parse_shard(value)
    except CollectorConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(commands: Any) -> None:
    """Add the ``collect`` subcommand."""
    parser = commands.add_parser(
        "collect",
        # No abbreviations: `--token SECRET` must be an error, not --token-file SECRET
        # (which would then print the "file name" in its error message).
        allow_abbrev=False,
        help="pull the 1Password Events API and write ECS NDJSON",
        description=(
            "Poll the 1Password Events API (audit events, item usages, sign-in attempts) "
            "from a stored cursor and write one ECS document per event. The token comes "
            f"from ${TOKEN_ENV} or --token-file, never from the command line."
        ),
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--once",
        action="store_true",
        help="drain every stream until caught up, then exit (for cron)",
    )
    mode.add_argument(
        "--follow",
        action="store_true",
        help="poll every --interval until SIGTERM/SIGINT (the default)",
    )
    mode.add_argument(
        "--status",
        action="store_true",
        help="print each stream's health from the state database; exit 1 if any is unhealthy",
    )
    where = parser.add_argument_group("account")
    where.add_argument("--url", help="the Events API base URL (https; http only to loopback)")
    where.add_argument(
        "--region",
        choices=sorted(REGIONS),
        help="the account's hosting server (else derived from the token)",
    )
    where.add_argument(
        "--token-file",
        metavar="PATH",
        help=f"read the token from this file instead of ${TOKEN_ENV}",
    )
    for trap in ("--token", "--api-token"):
        where.add_argument(trap, nargs="?", action=_NoToken, help=argparse.SUPPRESS)
    where.add_argument(
        "--config",
        metavar="FILE",
        help="TOML file listing several [[account]]s, polled concurrently",
    )
    where.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="poll only the accounts of --config that shard K of N holds (by a stable hash "
        "of each account's name), so N collectors split one file without coordination; "
        "with --status, show which of N shards holds each account",
    )
    where.add_argument(
        "--api-version",
        choices=API_VERSIONS,
        default="v2",
        help="endpoint version (default v2; v1 for old integrations)",
    )
    where.add_argument(
        "--streams",
        metavar="LIST",
        help="comma-separated streams (default all three: audit_events, "
        "item_usages, signin_attempts)",
    )
    where.add_argument(
        "--since",
        default="1h",
        help="first run only: RFC 3339 time or duration back (default 1h, at most 120 days)",
    )
    where.add_argument("--until", help="first run only: stop at this time (RFC 3339 or duration)")
    out = parser.add_argument_group("output and state")
    out.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="append documents here, exactly once (NDJSON; .gz allowed; '-' for standard "
        "output); with no -o and no other destination, documents go to the event store at "
        "$XDG_DATA_HOME/onepassword-ecs/events.db",
    )
    out.add_argument(
        "--errors", metavar="FILE", help="append rejected records here instead of standard error"
    )
    out.add_argument(
        "--state",
        metavar="PATH",
        type=Path,
        help="state database (default $XDG_STATE_HOME/onepassword-ecs/collector.sqlite3)",
    )
    add_data_stream_options(out)
    add_sink_options(parser)
    add_stage_options(parser)
    out.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="log warnings and errors only, not one line per cycle",
    )
    tune = parser.add_argument_group("polling")
    tune.add_argument(
        "--interval",
        type=_duration,
        default=60.0,
        metavar="DURATION",
        help="--follow: time between caught-up cycles (default 60s)",
    )
    tune.add_argument(
        "--on-bad-cursor",
        choices=("stop", "reset"),
        default="stop",
        help="when the API refuses a stored cursor: stop the stream (default) or "
        "restart from the last delivered event time minus --reset-overlap",
    )
    tune.add_argument(
        "--reset-overlap",
        type=_duration,
        default=3600.0,
        metavar="DURATION",
        help="how far before the last delivered event a reset restarts (default 1h)",
    )
    tune.add_argument(
        "--rate-limit",
        action="append",
        metavar="COUNT/WINDOW",
        help="at most COUNT requests per account in any WINDOW (repeatable; "
        "default 600/60s and 30000/1h, the API's limits)",
    )
    tune.add_argument(
        "--page-size",
        type=positive_int,
        default=1000,
        metavar="N",
        help="events per page (1-1000, default 1000)",
    )
    tune.add_argument(
        "--pages-per-cycle",
        type=positive_int,
        default=50,
        metavar="N",
        help="pages of one stream before turning to the next (default 50)",
    )
    tune.add_argument(
        "--pages-in-flight",
        type=positive_int,
        default=8,
        metavar="N",
        help="pages fetched but not yet delivered, across all accounts (default 8): "
        "bounds memory at N pages however many accounts --config lists",
    )
    tune.add_argument(
        "--timeout",
        type=_duration,
        default=30.0,
        metavar="DURATION",
        help="bound on each whole request, however slowly the answer arrives (default 30s)",
    )
    tune.add_argument(
        "--max-attempts",
        type=positive_int,
        default=8,
        metavar="N",
        help="attempts per request for 429/5xx/timeouts (default 8)",
    )
    tune.add_argument(
        "--backoff-base",
        type=_duration,
        default=1.0,
        metavar="DURATION",
        help="first backoff step; doubles per attempt, full jitter (default 1s)",
    )
    tune.add_argument(
        "--backoff-max",
        type=_duration,
        default=60.0,
        metavar="DURATION",
        help="longest backoff step (default 60s)",
    )
    tune.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="verify TLS against this CA bundle instead of the system's",
    )
    tune.add_argument(
        "--silence-alert",
        type=_duration,
        default=86400.0,
        metavar="DURATION",
        help="--status and logs: flag a stream with no delivery for this long (default 24h)",
    )
    parser.set_defaults(handler=run)


def _accounts(args: argparse.Namespace, warnings: list[str]) -> list[AccountConfig]:
    now = datetime.now(UTC)
    environ = os.environ
    streams = parse_streams(args.streams.split(",")) if args.streams else None
    since = parse_since(args.since, now, warnings)
    until = parse_since(args.until, now, warnings) if args.until else None
    if args.config:
        if args.url or args.region or args.token_file:
            raise CollectorConfigError(
                "--config lists its accounts: drop --url, --region and --token-file"
            )
        defaults = AccountDefaults(
            since=since,
            until=until,
            api_version=args.api_version,
            **({"streams": streams} if streams else {}),
        )
        return load_accounts_file(
            args.config, environ=environ, now=now, defaults=defaults, warnings=warnings
        )
    token = read_token(token_file=args.token_file, env_name=TOKEN_ENV, environ=environ)
    account = AccountConfig(
        name="default",
        base_url=resolve_base_url(args.url, args.region, token),
        token=token,
        since=since,
        until=until,
        api_version=args.api_version,
        **({"streams": streams} if streams else {}),
    )
    return [account]


def _tunables(args: argparse.Namespace, warnings: list[str]) -> Tunables:
    if args.page_size > 1000:
        raise CollectorConfigError("--page-size is at most 1000 (the API's limit)")
    limits = (
        tuple(parse_rate_limit(text) for text in args.rate_limit)
        if args.rate_limit
        else DEFAULT_RATE_LIMITS
    )
    warnings.extend(rate_limit_warnings(limits))
    if args.ca_bundle:
        if not os.path.isfile(args.ca_bundle):
            raise CollectorConfigError(f"--ca-bundle {args.ca_bundle}: no such file")
        try:
            ssl.create_default_context(cafile=args.ca_bundle)
        except ssl.SSLError as exc:
            raise CollectorConfigError(
                f"--ca-bundle {args.ca_bundle}: not PEM certificates ({exc.reason})"
            ) from None
    return Tunables(
        page_size=args.page_size,
        pages_per_cycle=args.pages_per_cycle,
        interval=args.interval,
        timeout=args.timeout,
        max_attempts=args.max_attempts,
        backoff_base=args.backoff_base,
        backoff_max=args.backoff_max,
        on_bad_cursor=args.on_bad_cursor,
        reset_overlap=args.reset_overlap,
        ca_bundle=args.ca_bundle,
        rate_limits=limits,
        pages_in_flight=args.pages_in_flight,
    )


def run(args: argparse.Namespace, streams: Streams) -> int:
    state_path: Path = args.state or default_state_path(os.environ)
    try:
        if args.status:
            shards = args.shard.count if args.shard else None
            report, healthy = status(state_path, args.silence_alert, shards)
            streams.stdout.write(report.encode("utf-8"))
            streams.stdout.flush()
            return EXIT_OK if healthy else EXIT_REJECTED
        warnings: list[str] = []
        accounts = _accounts(args, warnings)
        tunables = _tunables(args, warnings)
        if args.shard and not args.config:
            raise CollectorConfigError("--shard splits the accounts of --config; give --config")
        stages = build_stages(args)  # lookups and redaction, before the data stream
        # With no -o and no destination option, documents go to the default store.
        default_store = default_store_path() if args.output is None else None
        store = args.store or (
            str(default_store) if default_store is not None and not sinks_requested(args) else None
        )
        # Before any file is opened: a store, state or output that are one file would
        # destroy each other (and the cursors would move on as if all were well).
        check_distinct_files(
            {"-o": args.output, "--state": state_path, "--store": store, "--errors": args.errors}
        )
        with ExitStack() as stack:
            sinks = open_sinks(args, stack, default_store=default_store)
            if default_store is not None and not sinks_requested(args):
                streams.say(f"onepassword-ecs: collect: writing to the event store {default_store}")
            request = CollectRequest(
                accounts=accounts,
                tunables=tunables,
                state_path=state_path,
                output=args.output,
                errors=args.errors,
                once=args.once,
                silence_alert=args.silence_alert,
                quiet=args.quiet,
                stages=[*stages, *data_stream_stages(args)],
                sinks=sinks,
                wrap_errors=lambda errors: withhold_if_redacting(errors, stages),
                shard=args.shard,
                store=store,
            )
            if len(accounts) > 1:
                limit_malloc_arenas()  # before the account threads: see collect/_malloc.py
            outcome = collect(
                request, stdout=streams.stdout, stderr=streams.stderr, warnings=warnings
            )
    except CollectorConfigError as exc:
        streams.fail(str(exc))
        return EXIT_USAGE
    except (SinkError, StageConfigError) as exc:
        streams.fail(str(exc))
        return EXIT_USAGE
    for problem in outcome.problems:
        streams.say(f"onepassword-ecs: collect: {problem}")
    return EXIT_REJECTED if outcome.failed else EXIT_OK
