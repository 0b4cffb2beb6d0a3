"""Item usages → ECS: who used which vault item, and how.

Every item usage is the completed use of a stored secret, so ``event.outcome`` is
``success`` and the category is ``file`` (see mappings/item_usage_actions.toml for why).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import (
    Related,
    base_document,
    event_timestamp,
    map_client,
    map_location,
    map_person,
    string_field,
)
from ._passthrough import Passthrough
from ._tables import ItemUsageAction, tables

__all__ = ["map_item_usage"]

DATASET = "1password.item_usages"
_INT64_MAX = 2**63 - 1
_KNOWN = frozenset(
    {
        "uuid",
        "timestamp",
        "used_version",
        "vault_uuid",
        "item_uuid",
        "action",
        "user",
        "client",
        "location",
    }
)
_UNKNOWN_ACTION = ItemUsageAction(
    activity="access", message="{user} used item {item} from vault {vault} ({action})"
)


def map_item_usage(record: Mapping[str, Any]) -> dict[str, Any]:
    """Map one item usage (v1 or v2) to an ECS document."""
    timestamp = event_timestamp(record)
    extra = Passthrough()
    related = Related()
    doc = base_document(timestamp, DATASET, record, extra)
    event = doc["event"]
    action = string_field(record, "action", "action", extra)
    rule = tables().item_usage_actions.get(action or "", _UNKNOWN_ACTION)
    event["category"] = ["file"]
    event["type"] = [rule.activity]
    event["outcome"] = "success"
    if action is not None:
        event["action"] = action

    vendor = extra.vendor
    vault = string_field(record, "vault_uuid", "vault_uuid", extra)
    item = string_field(record, "item_uuid", "item_uuid", extra)
    if vault is not None:
        vendor["vault_uuid"] = vault
    if item is not None:
        vendor["item_uuid"] = item
    used_version = record.get("used_version")
    if used_version is not None:
        if type(used_version) is int and 0 <= used_version <= _INT64_MAX:
            vendor["used_version"] = used_version
        else:
            extra.bad("used_version", used_version)

    user = map_person(record.get("user"), "user", extra)
    if user:
        doc["user"] = user
        related.add_person(user)
    map_client(doc, record.get("client"), extra, related)
    map_location(doc, record.get("location"), extra)
    if len(record) > len(_KNOWN & record.keys()):
        extra.unknown(vendor, record, _KNOWN, "")

    doc["message"] = rule.message.format(
        user=user.get("name") or user.get("email") or user.get("id") or "An unknown user",
        item=item or "(unknown)",
        vault=vault or "(unknown)",
        action=action or "action not reported",
    )
    related_fields = related.fields()
    if related_fields:
        doc["related"] = related_fields
    onepassword = extra.finish()
    if onepassword:
        doc["onepassword"] = onepassword
    return doc
