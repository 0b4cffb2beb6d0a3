"""Enrichment: names and emails for the uuids a document only identifies.

Filled only where the document lacks them, never over what the API sent:

- ``user.id`` → ``user.name``, ``user.full_name``, ``user.email``; the same for
  ``user.target.*``;
- ``group.id`` → ``group.name``; ``user.target.group.id`` → ``user.target.group.name``;
- ``onepassword.vault_uuid`` / ``item_uuid`` (item usages) → ``onepassword.vault.name`` /
  ``onepassword.item.title``; for audit events, ``onepassword.object_uuid`` names the
  vault or the item acted on, and ``onepassword.aux_uuid`` the vault of an item.

Every ECS field filled is listed in ``onepassword.enrichment.fields``, so nobody
mistakes a looked-up name for one the API sent; ``onepassword.vault.name`` and
``onepassword.item.title`` are looked up by definition (the API never sends them, and
their declarations say so), so they are not listed. Names and emails filled are added to
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


def _group(
    group: Any, prefix: str, lookups: Lookups, filled: list[str], known: dict[str, str]
) -> None:
    if group.__class__ is not dict or "name" in group:
        return
    uuid = group.get("id")
    if uuid.__class__ is str:
        name = lookups.groups.get(uuid.lower())
        if name:
            group["name"] = name
            filled.append(f"{prefix}.name")
            known[uuid] = name


def _vendor_names(vendor: dict[str, Any], lookups: Lookups, known: dict[str, str]) -> None:
    """``onepassword.vault.name`` and ``onepassword.item.title``, and their uuids in ``known``.

    The API never sends these two (they are declared as looked up), so they carry no
    entry in ``onepassword.enrichment.fields``: the hot path of item usages stays two
    dict lookups and one message.
    """
    get = vendor.get
    vault_uuid = get("vault_uuid")
    item_uuid = get("item_uuid")
    if vault_uuid is None and item_uuid is None:  # audit events: object or aux
        object_uuid = get("object_uuid")
        if object_uuid.__class__ is not str:
            return
        item_uuid = object_uuid
        vault_uuid = object_uuid if object_uuid.lower() in lookups.vaults else get("aux_uuid")
    if vault_uuid.__class__ is str and "vault" not in vendor:
        name = lookups.vaults.get(vault_uuid.lower())
        if name:
            vendor["vault"] = {"name": name}
            known[vault_uuid] = name
    if item_uuid.__class__ is str and "item" not in vendor:
        title = lookups.items.get(item_uuid.lower())
        if title:
            vendor["item"] = {"title": title}
            known[item_uuid] = title


def enrich(document: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """Fill what ``lookups`` know into ``document`` (changed in place and returned)."""
    filled: list[str] = []
    names: list[str] = []
    known: dict[str, str] = {}  # uuid -> name, for the message
    user = document.get("user")
    if user is not None and user.__class__ is dict:
        if "name" not in user or "email" not in user:  # most records name their people
            _person(user, "user", lookups, filled, names)
        target = user.get("target")
        if target is not None and target.__class__ is dict:
            _person(target, "user.target", lookups, filled, names)
            _group(target.get("group"), "user.target.group", lookups, filled, known)
    group = document.get("group")
    if group is not None:
        _group(group, "group", lookups, filled, known)
    vendor = document.get("onepassword")
    if vendor is not None and vendor.__class__ is dict:
        _vendor_names(vendor, lookups, known)
    if not known and not filled:
        return document
    if filled:
        if vendor is None or vendor.__class__ is not dict:
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
        seen = related.get("user")
        related["user"] = list(dict.fromkeys([*seen, *names] if seen else names))
    if not filled:
        swapped = _swap_names(document.get("message"), known)
        if swapped is not None:
            document["message"] = swapped
            return document
    message = render_message(document, known.get)
    if message is not None:
        document["message"] = message
    return document


def _swap_names(message: Any, known: dict[str, str]) -> str | None:
    """The message with each uuid replaced by its name, when nothing but names changed.

    The mapper wrote each uuid exactly where its name goes ("vault 4VJ..."), so when
    no person was filled this equals :func:`render_message` with the names, at a
    fraction of the cost (item usages are most of a stream). A uuid that does not
    appear exactly once leaves it to ``render_message``; a test holds both to the same
    output. Lookup names carry no control characters (see ``_lookups``), so nothing
    the message must not hold comes in this way.
    """
    if message.__class__ is not str:
        return None
    text: str = message
    for uuid, name in known.items():
        if text.count(uuid) != 1:
            return None
        text = text.replace(uuid, name)
    return text


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
