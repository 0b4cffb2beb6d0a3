"""Sign-in attempts → ECS: who tried to sign in, from where, and whether it worked.

Every attempt is ``authentication`` / ``start``. ``category`` decides the outcome
(``success`` and ``firewall_reported_success`` — a report-only firewall rule let the
sign-in through — are successes, every other category a failure, no category
``unknown``); ``type`` and ``details.value`` become a readable ``event.reason``.
The person in ``target_user`` is the one signing in, so the actor: ``user.*``.
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
from ._tables import SigninCategory, tables

__all__ = ["map_signin_attempt"]

DATASET = "1password.signin_attempts"
_KNOWN = frozenset(
    {
        "uuid",
        "session_uuid",
        "timestamp",
        "category",
        "type",
        "country",
        "details",
        "target_user",
        "client",
        "location",
    }
)
_DETAILS_KEYS = frozenset({"value"})
_FAILED = SigninCategory(outcome="failure", message="{user} failed to sign in: {reason}")
_NO_CATEGORY = SigninCategory(
    outcome="unknown", message="{user} attempted to sign in (result not reported): {reason}"
)


def _reason(sign_in_type: str | None, value: str | None) -> str | None:
    """Readable reason: the type's text, plus what ``details.value`` names."""
    known = tables().signin_types.get(sign_in_type or "")
    if known is not None:
        if value:
            label = f"{known.detail} " if known.detail else ""
            return f"{known.reason} ({label}{value})"
        return known.reason
    readable = sign_in_type.replace("_", " ") if sign_in_type else None
    if value:
        return f"{readable} ({value})" if readable else value
    return readable


def map_signin_attempt(record: Mapping[str, Any]) -> dict[str, Any]:
    """Map one sign-in attempt (v1 or v2) to an ECS document."""
    timestamp = event_timestamp(record)
    extra = Passthrough()
    related = Related()
    doc = base_document(timestamp, DATASET, record, extra)
    event = doc["event"]
    event["category"] = ["authentication"]
    event["type"] = ["start"]
    category = string_field(record, "category", "category", extra)
    if category is None:
        rule: SigninCategory = _NO_CATEGORY
    else:
        rule = tables().signin_categories.get(category, _FAILED)
        event["action"] = category
    event["outcome"] = rule.outcome

    vendor = extra.vendor
    for key in ("session_uuid", "type", "country"):
        value = string_field(record, key, key, extra)
        if value is not None:
            vendor[key] = value
    sign_in_type = vendor.get("type")

    details = record.get("details")
    detail_value: str | None = None
    if details is not None:
        if isinstance(details, Mapping):
            detail_value = string_field(details, "value", "details.value", extra)
            details_vendor: dict[str, Any] = {}
            if detail_value is not None:
                details_vendor["value"] = detail_value
            extra.unknown(details_vendor, details, _DETAILS_KEYS, "details")
            if details_vendor:
                vendor["details"] = details_vendor
        else:
            extra.bad("details", details)
    reason = _reason(sign_in_type, detail_value)
    if reason:
        event["reason"] = reason

    user = map_person(record.get("target_user"), "target_user", extra)
    if user:
        doc["user"] = user
        related.add_person(user)
    map_client(doc, record.get("client"), extra, related)
    map_location(doc, record.get("location"), extra)
    if len(record) > len(_KNOWN & record.keys()):
        extra.unknown(vendor, record, _KNOWN, "")

    doc["message"] = rule.message.format(
        user=user.get("name") or user.get("email") or user.get("id") or "An unknown user",
        reason=reason or "no reason given",
    )
    related_fields = related.fields()
    if related_fields:
        doc["related"] = related_fields
    onepassword = extra.finish()
    if onepassword:
        doc["onepassword"] = onepassword
    return doc
