"""The stage options every subcommand that converts records offers.

``--lookups PATH`` (enrichment), ``--redact FIELD=MODE``, ``--redact-key-env NAME`` and
``--stage-config FILE`` (redaction). One function adds them to a parser, one builds the
stages from the parsed arguments, one wraps the error sink when redaction is on;
``convert`` and ``collect`` call the same three, so the options mean the same everywhere.

Redaction rules come from, in this order, later ones winning for the same field:
``collect``'s ``--config`` file (its ``[redact]`` table, when it has one), the
``--stage-config`` file's ``[redact]`` table, and the ``--redact`` options. So a shared
file sets the policy and a command line can tighten or relax one field of it.

The redaction key is never a command-line value nor a file value: it is read from the
environment variable ``ONEPASSWORD_ECS_REDACT_KEY``, or the one named by
``--redact-key-env`` (first) or a file's ``key_env`` entry.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

from .._errors import StageConfigError
from ..stages import (
    GROUPS,
    MODES,
    REDACT_KEY_ENV,
    Enricher,
    RedactConfig,
    Redactor,
    parse_rules,
    read_redact_config,
    redaction_key,
    withhold_input,
)
from ..stream import Batch, Sink, SinkResult, Stage
from ._indicator_options import add_indicator_option, with_indicator_stage

__all__ = ["StageConfigError", "add_stage_options", "build_stages", "withhold_if_redacting"]

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _rule(value: str) -> str:
    try:
        parse_rules([value])
    except StageConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _variable(value: str) -> str:
    if _VARIABLE_NAME.fullmatch(value) is None:
        # Not echoed: someone may have typed the key itself here.
        raise argparse.ArgumentTypeError(
            "expected the NAME of an environment variable (letters, digits, underscores), "
            "not the key itself"
        )
    return value


def add_stage_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--lookups``, ``--redact`` and ``--redact-key-env`` to ``parser``."""
    group = parser.add_argument_group(
        "enrichment and redaction",
        "Stages between conversion and output: names for uuids from lookup files, then "
        "pseudonyms, masks or nothing for what must not leave.",
    )
    group.add_argument(
        "--lookups",
        action="append",
        default=[],
        metavar="PATH",
        help="names for vault, group, item and user uuids: `op user|group|vault|item list "
        "--format json` output or uuid,kind,name CSV; a file or a folder; repeatable",
    )
    add_indicator_option(group)
    group.add_argument(
        "--redact",
        action="append",
        default=[],
        type=_rule,
        metavar="FIELD=MODE",
        help=f"redact an ECS field (user.email, client.ip, ...) or a group "
        f"({', '.join(GROUPS)}); MODE is {', '.join(MODES)}; repeatable",
    )
    group.add_argument(
        "--redact-key-env",
        type=_variable,
        metavar="NAME",
        help=f"environment variable holding the key for MODE hash (default {REDACT_KEY_ENV})",
    )
    group.add_argument(
        "--stage-config",
        metavar="FILE",
        help='TOML file whose [redact] table lists FIELD = "MODE" rules (and key_env = '
        '"NAME", the key\'s variable); --redact options override its rules field by field',
    )


def build_stages(args: argparse.Namespace) -> list[Stage]:
    """The stages the options ask for: enrichment first, so looked-up names are redacted.

    Raises :class:`StageConfigError` (a bad lookup file or config file, a missing key)
    before any record is read; its message never holds a secret.
    """
    stages: list[Stage] = []
    if args.lookups:
        stages.append(Enricher(args.lookups))
    files = _redact_configs(args)
    rules: dict[str, str] = {}
    for config in files:
        rules.update(config.rules)
    rules.update(parse_rules(args.redact))
    named = [config for config in files if config.key_env]
    if args.redact_key_env and not rules:
        raise StageConfigError(
            "--redact-key-env names the key for --redact ...=hash; no --redact given"
        )
    if named and not rules:
        raise StageConfigError(f"{named[-1].path}: [redact] names key_env but no field to redact")
    if rules:
        key = None
        if "hash" in rules.values():
            if args.redact_key_env:
                key = redaction_key(
                    args.redact_key_env, label="the variable --redact-key-env names"
                )
            elif named:
                key = redaction_key(
                    named[-1].key_env or REDACT_KEY_ENV,
                    label=f"the variable key_env names in {named[-1].path}",
                )
            else:
                key = redaction_key(REDACT_KEY_ENV)
        stages.append(Redactor(rules, key=key))
    return with_indicator_stage(args, stages)


def _redact_configs(args: argparse.Namespace) -> list[RedactConfig]:
    """The ``[redact]`` tables to apply, in order: collect's ``--config``, ``--stage-config``."""
    configs: list[RedactConfig] = []
    accounts_file = getattr(args, "config", None)  # collect's accounts file, if any
    if accounts_file:
        configs.append(read_redact_config(accounts_file, required=False))
    if args.stage_config:
        configs.append(read_redact_config(args.stage_config))
    return configs


class _WithheldErrors:
    """An error sink whose lines for rejected records carry no raw input."""

    def __init__(self, inner: Sink) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    def write(self, batch: Batch) -> SinkResult:
        lines = [withhold_input(line) for line in batch.documents()]
        return self._inner.write(Batch.of(lines))

    def flush(self) -> None:
        self._inner.flush()

    def close(self) -> None:
        self._inner.close()


def withhold_if_redacting(errors: Sink, stages: Sequence[Stage]) -> Sink:
    """``errors``, or, when a stage redacts, ``errors`` without rejected records' raw input."""
    if any(isinstance(stage, Redactor) for stage in stages):
        return _WithheldErrors(errors)
    return errors
