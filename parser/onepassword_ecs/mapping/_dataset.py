"""Which of the three Events API streams a record belongs to."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from .._errors import NormalizationError

__all__ = ["Dataset", "detect_dataset"]


class Dataset(enum.StrEnum):
    """The three 1Password Events API streams.

    The value is the dataset's short name; ``event_dataset`` is the
    ``event.dataset`` value Elastic's integration uses, so its dashboards keep working.
    """

    audit_events = "audit_events"
    item_usages = "item_usages"
    signin_attempts = "signin_attempts"

    @property
    def event_dataset(self) -> str:
        return f"1password.{self.value}"


# Names a caller (or a collector's hint field) may use for each dataset.
_ALIASES: dict[str, Dataset] = {}
for _dataset in Dataset:
    for _alias in (
        _dataset.value,
        _dataset.value.replace("_", ""),
        _dataset.event_dataset,
    ):
        _ALIASES[_alias] = _dataset
_ALIASES.update(
    {
        "auditevent": Dataset.audit_events,
        "itemusage": Dataset.item_usages,
        "signinattempt": Dataset.signin_attempts,
    }
)

# Hint field some collectors add (Sekoia's: auditevents / itemusages / signinattempts).
HINT_FIELD = "sekoia_event_type"

# Keys that only one stream carries. Audit events may carry aux_id, so it is not a signal
# for item usages (a peer routes on it and loses those audit events).
_AUDIT_KEYS = frozenset({"actor_uuid", "object_type", "actor_details", "object_uuid", "aux_info"})
_SIGNIN_KEYS = frozenset({"category", "target_user", "session_uuid"})
_ITEM_USAGE_KEYS = frozenset({"item_uuid", "vault_uuid", "used_version"})


def parse_dataset(value: object, path: str | None = None) -> Dataset:
    """Turn a dataset name (enum, short name, Elastic name or hint value) into a Dataset."""
    if isinstance(value, Dataset):
        return value
    if isinstance(value, str):
        found = _ALIASES.get(value.strip().lower().replace("-", "_"))
        if found is None:
            found = _ALIASES.get(value.strip().lower().replace("-", "").replace("_", ""))
        if found is not None:
            return found
    names = ", ".join(d.value for d in Dataset)
    raise NormalizationError("unknown_dataset", f"expected one of {names}, got {value!r}", path)


def detect_dataset(record: Mapping[str, Any], dataset: Dataset | str | None = None) -> Dataset:
    """Decide which stream ``record`` came from.

    In order: the explicit ``dataset`` argument; the collector hint field
    ``sekoia_event_type`` (when it names a stream); the record's shape: keys only one
    stream carries. Raises ``NormalizationError('unknown_dataset')`` when none decides,
    and ``NormalizationError('not_an_object')`` when ``record`` is not a mapping.
    """
    if record.__class__ is not dict and not isinstance(record, Mapping):  # dict: skip the ABC
        kind = "null" if record is None else type(record).__name__
        raise NormalizationError("not_an_object", f"expected a JSON object, got {kind}", "$")
    if dataset is not None:
        return dataset if isinstance(dataset, Dataset) else parse_dataset(dataset)
    hint = record.get(HINT_FIELD)
    if hint is not None:
        found = _ALIASES.get(hint) if hint.__class__ is str else None
        if found is not None:
            return found
    if not _ITEM_USAGE_KEYS.isdisjoint(record):
        return Dataset.item_usages
    if not _SIGNIN_KEYS.isdisjoint(record):
        return Dataset.signin_attempts
    if not _AUDIT_KEYS.isdisjoint(record):
        return Dataset.audit_events
    if "action" in record:
        return Dataset.item_usages if "user" in record else Dataset.audit_events
    raise NormalizationError(
        "unknown_dataset",
        "cannot tell which stream this record is from: no dataset given, no "
        f"{HINT_FIELD} hint naming one, and none of the keys that identify audit events, "
        "item usages or sign-in attempts",
    )
