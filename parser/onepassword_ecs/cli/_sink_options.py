"""The destination options every delivering subcommand shares (``convert``, ``collect``).

``--store PATH`` (the embedded SQLite store), ``--elasticsearch URL`` and
``--opensearch URL``, in any combination with the subcommand's own ``-o``. Cluster
credentials are read from files or environment variables only: a value on the command
line would be visible to every user of the machine (``ps``) and kept in shell history.

Use: :func:`add_sink_options` when building the parser, then :func:`open_sinks` inside
the run's ``ExitStack`` (each sink is closed by the stack; flushing is the caller's job,
after the last chunk or before a cursor moves).
"""

from __future__ import annotations

import argparse
import os
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

from .._errors import ClusterError
from ..ecs import DEFAULT_NAMESPACE
from ..sinks import ClusterAuth, ClusterSink, EventStore, RetryPolicy
from ..stream import Sink

__all__ = [
    "API_KEY_ENV",
    "PASSWORD_ENV",
    "STORE_COMMIT_ROWS",
    "add_sink_options",
    "default_store_path",
    "open_sinks",
    "sinks_requested",
]

API_KEY_ENV = "ONEPASSWORD_ECS_CLUSTER_API_KEY"
PASSWORD_ENV = "ONEPASSWORD_ECS_CLUSTER_PASSWORD"

STORE_COMMIT_ROWS = 20_000
"""A long load into the store commits every this many documents (see EventStore.open)."""


def default_store_path() -> Path:
    """Where ``collect`` keeps events when given no destination: the XDG data folder."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "onepassword-ecs" / "events.db"


def _non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def _cluster_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL, got {value!r}")
    if parts.username is not None or parts.password is not None:
        # Refused even without a password: the habit of typing one there is the risk.
        raise argparse.ArgumentTypeError(
            "credentials in the URL are not accepted; use --cluster-user with "
            f"${PASSWORD_ENV} or --cluster-password-file, or an API key"
        )
    return value


_NAME_FORBIDDEN = frozenset(' "*\\/<>|,#:?')


def _index_name(value: str) -> str:
    """An index, alias or namespace name both servers accept (checked before any write)."""
    if (
        not value
        or value != value.lower()
        or value[0] in "-_+"
        or value in (".", "..")
        or _NAME_FORBIDDEN.intersection(value)
        or len(value.encode()) > 255
    ):
        raise argparse.ArgumentTypeError(
            f"not a valid index name: {value!r} (lower case; no spaces or "
            '\\ / * ? " < > | , # :; not starting with - _ +)'
        )
    return value


def add_sink_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--store``, ``--elasticsearch``, ``--opensearch`` and the cluster options."""
    group = parser.add_argument_group(
        "destinations",
        "Where documents go besides -o; any combination. A chunk counts as delivered "
        "when every destination took it.",
    )
    group.add_argument(
        "--store", metavar="PATH", help="the embedded event store (SQLite; created if missing)"
    )
    group.add_argument(
        "--elasticsearch",
        metavar="URL",
        type=_cluster_url,
        help='an Elasticsearch cluster (needs "onepassword-ecs[elasticsearch]")',
    )
    group.add_argument(
        "--opensearch",
        metavar="URL",
        type=_cluster_url,
        help='an OpenSearch cluster (needs "onepassword-ecs[opensearch]")',
    )
    group.add_argument(
        "--index",
        type=_index_name,
        metavar="NAME",
        help="write to this index or alias instead of the data stream each document names "
        "(logs-1password_ecs.<dataset>-<namespace>; for servers without data streams)",
    )
    group.add_argument(
        "--no-template",
        action="store_true",
        help="do not install the index template on the cluster",
    )
    group.add_argument(
        "--cluster-user", metavar="NAME", help=f"basic auth user; password from ${PASSWORD_ENV}"
    )
    group.add_argument(
        "--cluster-password-file",
        metavar="FILE",
        help=f"read the basic auth password from FILE instead of ${PASSWORD_ENV}",
    )
    group.add_argument(
        "--cluster-api-key-file",
        metavar="FILE",
        help=f"read the Elasticsearch API key (base64 id:key) from FILE instead of ${API_KEY_ENV}",
    )
    group.add_argument(
        "--cluster-ca-bundle",
        metavar="FILE",
        help="CA certificates to verify the cluster (collect's --ca-bundle is the API's)",
    )
    group.add_argument(
        "--aws-region",
        metavar="REGION",
        help="sign --opensearch requests with AWS SigV4 for Amazon OpenSearch Service in "
        'REGION (credentials from the standard AWS chain; needs "onepassword-ecs[aws]")',
    )
    group.add_argument(
        "--aws-service",
        choices=("es", "aoss"),
        default="es",
        help="es: a managed domain (default); aoss: OpenSearch Serverless",
    )
    group.add_argument("--client-cert", metavar="FILE", help="TLS client certificate (PEM)")
    group.add_argument("--client-key", metavar="FILE", help="its private key (PEM)")
    group.add_argument(
        "--cluster-retries",
        type=_non_negative,
        default=RetryPolicy().retries,
        metavar="N",
        help="tries after the first when a cluster is busy or unreachable, with doubling "
        "waits up to 30 s (default: %(default)s)",
    )


def sinks_requested(args: argparse.Namespace) -> bool:
    """Whether any destination option of this module was given."""
    return bool(args.store or args.elasticsearch or args.opensearch)


def _secret(file: str | None, variable: str, what: str) -> str | None:
    """A secret from ``file`` (first) or the environment; never echoed anywhere."""
    if file is not None:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ClusterError(f"{file}: cannot read the {what}: {exc.strerror}") from None
        if not value:
            raise ClusterError(f"{file}: the {what} file is empty")
        return value
    value = os.environ.get(variable, "").strip()
    return value or None


def _auth(args: argparse.Namespace) -> ClusterAuth:
    if args.aws_region is not None and (args.elasticsearch or args.cluster_user is not None):
        raise ClusterError(
            "--aws-region signs --opensearch requests (Amazon OpenSearch Service); it goes "
            "with neither --elasticsearch nor --cluster-user"
        )
    password = _secret(args.cluster_password_file, PASSWORD_ENV, "password")
    if args.cluster_user is not None and password is None:
        raise ClusterError(
            f"--cluster-user needs a password: set ${PASSWORD_ENV} or --cluster-password-file"
        )
    return ClusterAuth(
        api_key=_secret(args.cluster_api_key_file, API_KEY_ENV, "API key"),
        username=args.cluster_user,
        password=password if args.cluster_user is not None else None,
        ca_bundle=args.cluster_ca_bundle,
        client_cert=args.client_cert,
        client_key=args.client_key,
        aws_region=args.aws_region,
        aws_service=args.aws_service,
    )


def open_sinks(
    args: argparse.Namespace, stack: ExitStack, *, default_store: Path | None = None
) -> list[Sink]:
    """Open every destination asked for; each is closed when ``stack`` unwinds.

    ``default_store`` (``collect``: :func:`default_store_path`) is opened, its folder
    created, when no destination option was given; the caller says where it went.
    Raises ``StoreError`` or ``ClusterError`` (both ``SinkError``) when one cannot be
    used; those opened before are closed by the stack as it unwinds.
    """
    sinks: list[Sink] = []
    store_path = args.store
    if not sinks_requested(args) and default_store is not None:
        default_store.parent.mkdir(parents=True, exist_ok=True)
        store_path = default_store
    if store_path:
        store = EventStore.open(store_path, commit_every=STORE_COMMIT_ROWS)
        stack.callback(store.close)
        retention = getattr(args, "retention", None)
        if retention is not None:
            store.keep_for(retention)
        sinks.append(store)
    clusters = [
        (flavor, url)
        for flavor, url in (("elasticsearch", args.elasticsearch), ("opensearch", args.opensearch))
        if url
    ]
    if clusters:
        auth = _auth(args)
        retry = RetryPolicy(retries=args.cluster_retries)
        for flavor, url in clusters:
            sink = ClusterSink.open(
                flavor,
                url,
                auth=auth,
                index=args.index,
                # The data stream options' namespace (convert); the default elsewhere.
                namespace=getattr(args, "namespace", DEFAULT_NAMESPACE),
                install_template=not args.no_template,
                retry=retry,
            )
            stack.callback(sink.close)
            sinks.append(sink)
    return sinks
