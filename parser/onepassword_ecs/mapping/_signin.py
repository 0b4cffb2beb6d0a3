"""Sign-in attempts → ECS: who tried to sign in, from where, and whether it worked.

Every attempt is ``authentication`` / ``start``. ``category`` decides the outcome
through mappings/signin.toml (``success`` and ``firewall_reported_success`` — a
report-only firewall rule let the sign-in through — are successes, the ``*_failed``
categories failures). A category the table does not list, in any spelling, and a
record without one give ``unknown``: a detection counting failures must not count a
result we cannot read. ``type`` and ``details.value`` become a readable ``event.reason``.
The person in ``target_user`` is the one signing in, so the actor: ``user.*``. A record
without ``location`` gets its country alone from the top-level ``country``.
"""

from __future__ import annotations

from typing import Any

from ._common import (
    display_name,
    finish_document,
    map_client_side,
    map_country,
    new_document,
    readable_message,
    string_or_none,
    vendor_strings,
)
from ._passthrough import Passthrough
from ._tables import SigninCategory, tables
from ._timestamps import AssumedZone

__all__ = ["map_signin_attempt"]

DATASET = "1password.signin_attempts"
_KNOWN = frozenset(
    {
        "uuid", "session_uuid", "timestamp", "category", "type", "country", "details",
        "target_user", "client", "location", "account_uuid",
    }
)  # fmt: skip
_DETAILS_KEYS = frozenset({"value"})
# Raw strings kept under onepassword.* as sent (type is also read for event.reason).
_VENDOR_STRINGS = ("session_uuid", "type", "country", "account_uuid")
_UNRECOGNIZED = SigninCategory(
    outcome="unknown",
    message="{user} attempted to sign in with a result this mapper does not know "
    "({category}): {reason}",
)
_NO_CATEGORY = SigninCategory(
    outcome="unknown", message="{user} attempted to sign in (result not reported): {reason}"
)


_CATEGORIES = tables().signin_categories
_TYPES = tables().signin_types


def _reason(sign_in_type: str | None, value: str | None) -> str | None:
    """Readable reason: the type's text, plus what ``details.value`` names."""
    known = _TYPES.get(sign_in_type) if sign_in_type else None
    if known is not None:
        if value:
            label = f"{known.detail} " if known.detail else ""
            return f"{known.reason} ({label}{value})"
        return known.reason
    readable = sign_in_type.replace("_", " ") if sign_in_type else None
    if value:
        return f"{readable} ({value})" if readable else value
    return readable


def map_signin_attempt(record: dict[str, Any], zone: AssumedZone | None = None) -> dict[str, Any]:
    """Map one sign-in attempt (v1 or v2) to an ECS document."""
    extra = Passthrough()
    users: dict[str, None] = {}
    ips: dict[str, None] = {}
    document, event = new_document(record, DATASET, extra, zone)
    get = record.get
    vendor = extra.vendor
    event["category"] = ["authentication"]
    event["type"] = ["start"]
    category = get("category")
    if category.__class__ is not str:
        category = string_or_none(category, "category", extra)
    if category:
        rule = _CATEGORIES.get(category, _UNRECOGNIZED)
        event["action"] = category
    else:
        rule = _NO_CATEGORY
    event["outcome"] = rule.outcome

    _session, sign_in_type, country, _account = vendor_strings(record, _VENDOR_STRINGS, extra)

    details = get("details")
    detail_value: str | None = None
    if details is not None:
        if details.__class__ is dict:
            detail_value = details.get("value")
            if detail_value.__class__ is not str:
                detail_value = string_or_none(detail_value, "details.value", extra)
            if detail_value:
                vendor["details"] = {"value": detail_value}
            if len(details) > ("value" in details):
                extra.unknown(extra.child("details"), details, _DETAILS_KEYS, "details")
        else:
            extra.bad("details", details)
    reason = _reason(sign_in_type, detail_value)
    if reason:
        event["reason"] = reason

    user = map_client_side(document, record, "target_user", extra, users, ips)
    if country and get("location") is None:
        map_country(document, country)
    if not record.keys() <= _KNOWN:
        extra.unknown(vendor, record, _KNOWN, "")

    document["message"] = readable_message(
        rule.message.format(
            user=display_name(user, "An unknown user"),
            reason=reason or "no reason given",
            category=category or "",
        )
    )
    return finish_document(document, extra, users, ips)
