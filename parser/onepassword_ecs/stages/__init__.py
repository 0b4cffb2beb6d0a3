"""Stages between normalize and the sinks: enrichment and redaction.

Both are picklable ``document -> document`` callables (the ``stream.Stage`` seam), so
they run in worker processes too:

* :class:`Enricher` names what the API only identifies (vaults, groups, items, people
  by uuid) from ``op ... list --format json`` exports and ``uuid,kind,name`` CSV files;
* :class:`Redactor` pseudonymizes (``hash``), masks or drops people, addresses and
  locations, consistently in every place of the document; its rules come from
  ``FIELD=MODE`` strings or from a TOML file's ``[redact]`` table
  (:func:`read_redact_config`).

Run enrichment before redaction, so names looked up are redacted too. With redaction
on, :func:`withhold_input` rewrites the error lines of rejected records, whose raw
input no stage has seen.

This room imports only :mod:`onepassword_ecs.mapping` (to write messages again) and the
exception tree.
"""

from __future__ import annotations

from ._config import KEY_ENV_ENTRY, RedactConfig, read_redact_config
from ._enrich import Enricher, enrich
from ._indicators import INDICATOR_TYPES, IndicatorMatcher, Indicators, load_indicators
from ._lookups import KINDS, SECRET_KEYS, Lookups, LookupSource, load_lookups, lookup_files
from ._redact import (
    DROPPED_TEXT,
    FIELD_KINDS,
    GROUPS,
    MIN_KEY_BYTES,
    MODES,
    PSEUDONYM_PREFIX,
    REDACT_KEY_ENV,
    Redactor,
    parse_rules,
    redaction_key,
    rules_from_config,
)
from ._withhold import WITHHELD, withhold_input

__all__ = [
    "DROPPED_TEXT",
    "FIELD_KINDS",
    "GROUPS",
    "INDICATOR_TYPES",
    "KEY_ENV_ENTRY",
    "KINDS",
    "MIN_KEY_BYTES",
    "MODES",
    "PSEUDONYM_PREFIX",
    "REDACT_KEY_ENV",
    "SECRET_KEYS",
    "WITHHELD",
    "Enricher",
    "IndicatorMatcher",
    "Indicators",
    "LookupSource",
    "Lookups",
    "RedactConfig",
    "Redactor",
    "enrich",
    "load_indicators",
    "load_lookups",
    "lookup_files",
    "parse_rules",
    "read_redact_config",
    "redaction_key",
    "rules_from_config",
    "withhold_input",
]
