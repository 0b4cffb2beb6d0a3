"""Enrichment: names and emails for the uuids a document only identifies.

Filled only where the document lacks them, never over what the API sent:

========================  ==========================================================
from                      fills
========================  ==========================================================
``user.id``               ``user.name``, ``user.full_name``, ``user.email``
``user.target.id``        ``user.target.name``, ``user.target.full_name``, ``.email``
``group.id``              ``group.name``
``user.target.group.id``  ``user.target.group.name``
``onepassword.vault_uuid``  ``onepassword.vault.name`` (item usages)
``onepassword.item_uuid``   ``onepassword.item.title`` (item usages)
``onepassword.object_uuid`` ``onepassword.vault.name`` or ``onepassword.item.title``
                          (audit events on vaults and items)
``onepassword.aux_uuid``  ``onepassword.vault.name`` (audit events whose aux is a vault)
========================  ==========================================================

Every field filled is listed in ``onepassword.enrichment.fields``, so nobody mistakes a
looked-up name for one the API sent. Names and emails filled are added to
``related.user``, and ``message`` is written again with the names
(:func:`onepassword_ecs.mapping.render_message`).

This runs on every record of a stream, so it does the least it can: a few dict lookups
when the document has uuids to name, nothing more when it has none.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..mapping import render_message
from ._lookups import RECHECK_SECONDS, Lookups, LookupSource

__all__ = ["Enricher", "enrich"]

ENRICHMENT = "enrichment"


def _person(
    person: dict[str, Any], prefix: str, lookups: Lookups, filled: list[str], names: list[str]
) -> None:
    uuid = person.get("id")
    if uuid.__class__ is not str or ("name" in person and "email" in person):
        return
    found = lookups.users.get(uuid.lower())
    if found is None:
        return
    name, email = found
    if name and "name" not in person:
        person["name"] = name
        filled.append(f"{prefix}.name")
        if "full_name" not in person:
            person["full_name"] = name
            filled.append(f"{prefix}.full_name")
        names.append(name)
    if email and "email" not in person:
        person["email"] = email
        filled.append(f"{prefix}.email")
        names.append(email)


def _group(group: Any, prefix: str, lookups: Lookups, filled: list[str]) -> None:
    if group.__class__ is not dict or "name" in group:
        return
    uuid = group.get("id")
    if uuid.__class__ is str:
        name = lookups.groups.get(uuid.lower())
        if name:
            group["name"] = name
            filled.append(f"{prefix}.name")


def _vendor_name(
    vendor: dict[str, Any],
    uuid: Any,
    table: dict[str, str],
    place: tuple[str, str],
    filled: list[str],
) -> None:
    if uuid.__class__ is not str:
        return
    parent, key = place
    child = vendor.get(parent)
    if child is not None and (child.__class__ is not dict or key in child):
        return  # the record sent it (or something else sits there): never overwrite
    name = table.get(uuid.lower())
    if name:
        if child is None:
            child = vendor[parent] = {}
        child[key] = name
        filled.append(f"onepassword.{parent}.{key}")


def enrich(document: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """Fill what ``lookups`` know into ``document`` (changed in place and returned)."""
    filled: list[str] = []
    names: list[str] = []
    user = document.get("user")
    if user.__class__ is dict:
        _person(user, "user", lookups, filled, names)
        target = user.get("target")
        if target.__class__ is dict:
            _person(target, "user.target", lookups, filled, names)
            _group(target.get("group"), "user.target.group", lookups, filled)
    _group(document.get("group"), "group", lookups, filled)
    vendor = document.get("onepassword")
    if vendor.__class__ is dict:
        get = vendor.get
        vaults, items = lookups.vaults, lookups.items
        for uuid in (get("vault_uuid"), get("object_uuid"), get("aux_uuid")):
            _vendor_name(vendor, uuid, vaults, ("vault", "name"), filled)
        for uuid in (get("item_uuid"), get("object_uuid")):
            _vendor_name(vendor, uuid, items, ("item", "title"), filled)
    if not filled:
        return document
    if vendor.__class__ is not dict:
        vendor = document["onepassword"] = {}
    marker = vendor.get(ENRICHMENT)
    if marker is None:
        vendor[ENRICHMENT] = {"fields": filled}
    elif marker.__class__ is dict and marker.get("fields").__class__ is list:
        marker["fields"].extend(filled)
    if names:
        related = document.get("related")
        if related is None:
            related = document["related"] = {}
        known = related.get("user")
        if known is None:
            related["user"] = list(dict.fromkeys(names))
        else:
            related["user"] = list(dict.fromkeys([*known, *names]))
    message = render_message(document, lookups.name_of)
    if message is not None:
        document["message"] = message
    return document


class Enricher:
    """The enrichment stage: a picklable ``document -> document`` callable.

    ``paths`` are lookup files or folders (see :mod:`._lookups`). They are read when the
    stage is made (so a bad file fails before any record is read), once more in each
    worker process, and again whenever a file changes.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self.source = LookupSource(paths, recheck_seconds=recheck_seconds)
        self.source.current()

    def __repr__(self) -> str:
        return f"Enricher({list(self.source.paths)!r})"

    def __call__(self, document: dict[str, Any]) -> dict[str, Any]:
        return enrich(document, self.source.current())
