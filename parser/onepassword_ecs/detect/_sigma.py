"""The pySigma glue: a rule's documents → a processed SigmaCollection, offline.

The context's lists reach the rules as Sigma placeholders (``%admins%`` with the
``expand`` modifier), filled by a ``value_placeholders`` transformation whose variables
are the context: the rule text stays portable and the same pipeline serves the local
engine and every export.

Offline: pySigma downloads MITRE ATT&CK data the first time something asks for
technique names (the Kibana rule formats, the tag validators). :func:`go_offline`
points it at the small STIX bundle shipped beside the rules (``attack.json``, just the
tactics and techniques our rules carry) and at a private cache folder, so nothing ever
reaches for the network.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from typing import Any

from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline

from .._errors import DetectionError
from ._context import Context
from ._ruleset import Rule, builtin_rules_dir

__all__ = ["collection", "context_pipeline", "go_offline"]

_offline = False


def go_offline() -> None:
    """Make pySigma read ATT&CK data from the shipped bundle; idempotent."""
    global _offline
    if _offline:
        return
    from sigma.data import mitre_attack

    cache = tempfile.mkdtemp(prefix="onepassword-ecs-attack-")
    atexit.register(shutil.rmtree, cache, True)
    mitre_attack.set_cache_dir(cache)
    mitre_attack.set_url(str(builtin_rules_dir() / "attack.json"))
    _offline = True


def context_pipeline(context: Context) -> ProcessingPipeline:
    """The placeholder pipeline: each context list fills the placeholder of its name."""
    variables: dict[str, Any] = {
        key: list(values) for key, values in context.lists.items() if values
    }
    return ProcessingPipeline.from_dict(
        {
            "name": "onepassword-ecs context",
            "priority": 10,
            "vars": variables,
            "transformations": [{"id": "context_lists", "type": "value_placeholders"}],
        }
    )


def collection(rule: Rule, context: Context) -> SigmaCollection:
    """The rule's Sigma documents (thresholds and optional lists applied), parsed."""
    go_offline()
    try:
        parsed = SigmaCollection.from_dicts(rule.sigma_documents(context))
        parsed.resolve_rule_references()
    except SigmaError as exc:
        raise DetectionError(f"{rule.path}: not a valid Sigma rule ({exc})") from None
    return parsed
