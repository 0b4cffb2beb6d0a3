"""Item usages → ECS: who used which vault item, and how.

Every item usage is the completed use of a stored secret, so ``event.outcome`` is
``success`` and the category is ``file`` (see mappings/item_usage_actions.toml for why).
"""

from __future__ import annotations

from typing import Any

from ._common import (
    display_name,
    finish_document,
    map_client_side,
    new_document,
    readable_message,
    string_or_none,
    vendor_strings,
)
from ._passthrough import Passthrough
from ._tables import ItemUsageAction, tables
from ._timestamps import AssumedZone

__all__ = ["map_item_usage"]

DATASET = "1password.item_usages"
_INT64_MAX = 2**63 - 1
_KNOWN = frozenset(
    {
        "uuid", "timestamp", "used_version", "vault_uuid", "item_uuid", "action", "user",
        "client", "location", "account_uuid",
    }
)  # fmt: skip
# Raw strings kept under onepassword.* as sent (vault and item also name the message).
_VENDOR_STRINGS = ("vault_uuid", "item_uuid", "account_uuid")
_UNKNOWN_ACTION = ItemUsageAction(
    activity="access", message="{user} used item {item} from vault {vault} ({action})"
)
_ACTIONS = tables().item_usage_actions


def map_item_usage(record: dict[str, Any], zone: AssumedZone | None = None) -> dict[str, Any]:
    """Map one item usage (v1 or v2) to an ECS document."""
    extra = Passthrough()
    users: dict[str, None] = {}
    ips: dict[str, None] = {}
    document, event = new_document(record, DATASET, extra, zone)
    get = record.get
    vendor = extra.vendor

    action = get("action")
    if action.__class__ is not str:
        action = string_or_none(action, "action", extra)
    rule = _ACTIONS.get(action, _UNKNOWN_ACTION) if action else _UNKNOWN_ACTION
    event["category"] = ["file"]
    event["type"] = [rule.activity]
    event["outcome"] = "success"
    if action:
        event["action"] = action

    vault, item, _account = vendor_strings(record, _VENDOR_STRINGS, extra)
    used_version = get("used_version")
    if used_version is not None:
        if used_version.__class__ is int and 0 <= used_version <= _INT64_MAX:
            vendor["used_version"] = used_version
        else:
            extra.bad("used_version", used_version)

    user = map_client_side(document, record, "user", extra, users, ips)
    if not record.keys() <= _KNOWN:
        extra.unknown(vendor, record, _KNOWN, "")

    document["message"] = readable_message(
        rule.message.format(
            user=display_name(user, "An unknown user"),
            item=item or "(unknown)",
            vault=vault or "(unknown)",
            action=action or "action not reported",
        )
    )
    return finish_document(document, extra, users, ips)
