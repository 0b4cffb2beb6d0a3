"""Write a document's ``message`` again, from the document, with names for identifiers.

Why this exists: the Events API identifies vaults, groups and items only by uuid, and a
later stage (enrichment, in the stages room) learns their names from lookup files. The
message should then read "added Bob Tanaka to group Administrators as a member", not
"... to group 7GSPJ...". Rather than a second copy of the templates, this module reads
the same tables and fills the same placeholders the mappers do, from the fields the
mappers placed in the document (``event.action``, ``onepassword.object_type`` and
friends, ``user.*``). With no names known it reproduces the mapper's message exactly;
a test holds it to that on every golden case, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._audit import DATASET as _AUDIT_EVENTS
from ._audit import _categorize, audit_message
from ._common import display_name, readable_message
from ._item_usage import _ACTIONS as _ITEM_USAGE_ACTIONS
from ._item_usage import _UNKNOWN_ACTION as _UNKNOWN_ITEM_USAGE_ACTION
from ._item_usage import DATASET as _ITEM_USAGES
from ._signin import _CATEGORIES as _SIGNIN_CATEGORIES
from ._signin import _NO_CATEGORY, _UNRECOGNIZED
from ._signin import DATASET as _SIGNIN_ATTEMPTS

__all__ = ["NameOf", "render_message"]

NameOf = Callable[[str], str | None]
"""Gives the name of a vault, group or item uuid, or None when it is not known."""


def _no_names(_uuid: str) -> str | None:
    return None


def _text(value: Any) -> str | None:
    return value if value.__class__ is str and value else None


def render_message(document: Mapping[str, Any], name_of: NameOf | None = None) -> str | None:
    """The message the mapper would write for ``document`` had the record named things.

    ``name_of`` names the uuids of vaults, groups and items the message mentions (the
    audit event's object and aux group, the item usage's item and vault). People are
    named from the document's own ``user.*`` and ``user.target.*`` fields, so a caller
    that filled those first gets their names in. Returns None for a document that is
    not one of the three datasets.
    """
    named = name_of or _no_names
    # ``__class__ is dict`` first: an isinstance check against Mapping costs more than
    # the rest of this function, and documents are plain dicts.
    event = document.get("event")
    if event.__class__ is not dict and not isinstance(event, Mapping):
        return None
    dataset = event.get("dataset")
    vendor = document.get("onepassword")
    if vendor.__class__ is not dict and not isinstance(vendor, Mapping):
        vendor = {}
    user = document.get("user")
    if user.__class__ is not dict and not isinstance(user, Mapping):
        user = {}
    action = event.get("action")
    if action.__class__ is not str or not action:
        action = None
    if dataset == _ITEM_USAGES:
        rule = _ITEM_USAGE_ACTIONS.get(action) if action else None
        item = vendor.get("item_uuid")
        vault = vendor.get("vault_uuid")
        return readable_message(
            (rule or _UNKNOWN_ITEM_USAGE_ACTION).message.format(
                user=display_name(user, "An unknown user"),
                item=(named(item) or item) if item.__class__ is str and item else "(unknown)",
                vault=(named(vault) or vault) if vault.__class__ is str and vault else "(unknown)",
                action=action or "action not reported",
            )
        )
    if dataset == _SIGNIN_ATTEMPTS:
        category = _SIGNIN_CATEGORIES.get(action, _UNRECOGNIZED) if action else _NO_CATEGORY
        return readable_message(
            category.message.format(
                user=display_name(user, "An unknown user"),
                reason=_text(event.get("reason")) or "no reason given",
                category=action or "",
            )
        )
    if dataset == _AUDIT_EVENTS:
        return _audit_message(action, vendor, user, named)
    return None


def _audit_message(
    action: str | None, vendor: Mapping[str, Any], user: Mapping[str, Any], named: NameOf
) -> str:
    object_type = _text(vendor.get("object_type"))
    object_uuid = _text(vendor.get("object_uuid"))
    aux_uuid = _text(vendor.get("aux_uuid"))
    aux_info = _text(vendor.get("aux_info"))
    found = _categorize(action, object_type)
    target = user.get("target")
    if target.__class__ is not dict and not isinstance(target, Mapping):
        target = {}
    object_name = (named(object_uuid) or object_uuid) if object_uuid else None
    aux_text = (named(aux_uuid) or aux_uuid) if aux_uuid else "an unknown group"
    return audit_message(found, user, target, object_type, object_name, action, aux_info, aux_text)
