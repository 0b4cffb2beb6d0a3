"""One stored document, reduced to what an investigator reads: who, what, where, how.

Every investigation output (terminal tables, ``--json``, the report, the MCP tools)
shows events as :class:`EventView` rows rather than whole documents: a row names the
actor and the affected person, the address and country, the client, the vault and item,
and the document's own ``message``. It never carries ``event.original`` (the raw record,
kept only when asked) nor anything else not listed here, so what leaves the store
through these views is known field by field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DATASET_LABELS", "EventView", "view"]

# event.dataset → the short label shown in tables.
DATASET_LABELS = {
    "1password.signin_attempts": "sign-in",
    "1password.item_usages": "item",
    "1password.audit_events": "audit",
}
# Audit object types whose object_uuid is a vault, and those whose object is an item.
_VAULT_OBJECTS = frozenset({"vault", "uva", "gva"})
_ITEM_OBJECTS = frozenset({"item"})


def _get(document: dict[str, Any], *path: str) -> Any:
    value: Any = document
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class EventView:
    """The investigator's view of one event (see the module docstring)."""

    event_id: str
    ts_ns: int
    time: str
    kind: str
    action: str
    outcome: str
    user_id: str | None
    user: str | None
    target_id: str | None
    target: str | None
    ip: str | None
    country: str | None
    city: str | None
    app: str | None
    os: str | None
    vault: str | None
    item: str | None
    object_type: str | None
    message: str
    flags: list[str] = field(default_factory=list)

    @property
    def self_change(self) -> bool:
        """An admin change whose actor is also the affected person (a self-grant)."""
        return (
            self.kind == "audit"
            and self.user_id is not None
            and self.user_id == self.target_id
            and self.action in {"grant", "update", "join", "role"}
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _person(document: dict[str, Any], *path: str) -> tuple[str | None, str | None]:
    person = _get(document, *path)
    if not isinstance(person, dict):
        return None, None
    label = _text(person.get("email")) or _text(person.get("name")) or _text(person.get("id"))
    return _text(person.get("id")), label


def view(document: dict[str, Any], ts_ns: int) -> EventView:
    """The view of one stored document; ``ts_ns`` is its ``events.ts_ns`` column."""
    dataset = _text(_get(document, "event", "dataset")) or "unknown"
    kind = DATASET_LABELS.get(dataset, dataset)
    vendor = _get(document, "onepassword")
    vendor = vendor if isinstance(vendor, dict) else {}
    object_type = _text(vendor.get("object_type"))
    object_uuid = _text(vendor.get("object_uuid"))
    vault = _text(vendor.get("vault_uuid"))
    item = _text(vendor.get("item_uuid"))
    if vault is None and object_type in _VAULT_OBJECTS:
        vault = object_uuid
    if item is None and object_type in _ITEM_OBJECTS:
        item = object_uuid
    geo = _get(document, "source", "geo") or _get(document, "client", "geo") or {}
    user_id, user = _person(document, "user")
    target_id, target = _person(document, "user", "target")
    client = vendor.get("client")
    if not isinstance(client, dict):
        client = {}
    return EventView(
        event_id=_text(_get(document, "event", "id")) or "",
        ts_ns=ts_ns,
        time=_text(document.get("@timestamp")) or "",
        kind=kind,
        action=_text(_get(document, "event", "action")) or "",
        outcome=_text(_get(document, "event", "outcome")) or "",
        user_id=user_id,
        user=user,
        target_id=target_id,
        target=target,
        ip=_text(_get(document, "source", "ip")) or _text(_get(document, "client", "ip")),
        country=_text(geo.get("country_iso_code")) if isinstance(geo, dict) else None,
        city=_text(geo.get("city_name")) if isinstance(geo, dict) else None,
        app=_text(client.get("app_name")),
        os=_text(_get(document, "host", "os", "name")),
        vault=vault,
        item=item,
        object_type=object_type,
        message=_text(document.get("message")) or "",
    )
