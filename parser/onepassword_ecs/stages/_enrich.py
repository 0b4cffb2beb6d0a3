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

This runs on every record of a stream, so it does the least it can (the budget: with
100,000 items loaded, enrichment may cost at most a tenth of what normalize does). The
usual record, an item usage or a sign-in whose person the API named, takes a short path
that only looks at the vendor's uuids: two dict lookups with the uuid as the document
writes it (tables are keyed in lower case, the form item usages carry; other forms are
lowered only on a miss), two small dicts, and the names swapped into the mapper's
message. Everything else (audit events, unnamed people, groups) takes the full path.
Both give the same document; tests hold them to it on the benchmark corpus.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ..mapping import Dataset, render_message
from ._lookups import RECHECK_SECONDS, Lookups, LookupSource

__all__ = ["Enricher", "enrich"]

ENRICHMENT = "enrichment"

CLOCK_STRIDE = 16
"""Records between two looks at the clock while records flow (see :class:`Enricher`)."""
BUSY_SECONDS = 0.5
"""A stride of records faster than this keeps the stride; slower, every record looks."""


ITEM_USAGES = Dataset.item_usages.event_dataset

# An item usage's message by action, as (after the person, between the item and the
# vault, after the vault), learnt from render_message itself (see _learn_parts); ()
# when the action's template is not of that shape.
_PARTS: dict[str, tuple[str, str, str] | tuple[()]] = {}
_MAX_PARTS = 256  # actions are the API's words, but unknown ones must not grow this
_NOT_FOUND = ("", "", "")  # what partition would say of an empty uuid: it is never swapped
_USER_MARK, _ITEM_MARK, _VAULT_MARK = "<user-e7c1>", "<item-e7c1>", "<vault-e7c1>"


def _learn_parts(action: str) -> tuple[str, str, str] | tuple[()]:
    """The fixed text of an item usage's message for ``action``, from ``render_message``.

    Rendered with marks for the person, the item and the vault: when the message is
    person + ``after_person`` + item + ``between`` + vault + ``after_vault``, each mark
    once, any item usage with this action has exactly that message with its own
    person, item and vault. Then the message with names is one f-string, once a second
    one has shown the document holds the mapper's message (no search in it).
    """
    message = render_message(
        {
            "event": {"dataset": ITEM_USAGES, "action": action},
            "user": {"name": _USER_MARK},
            "onepassword": {"item_uuid": _ITEM_MARK, "vault_uuid": _VAULT_MARK},
        }
    )
    parts: tuple[str, str, str] | tuple[()] = ()
    marks = (_USER_MARK, _ITEM_MARK, _VAULT_MARK)
    if message is not None and all(message.count(mark) == 1 for mark in marks):
        start, user_found, rest = message.partition(_USER_MARK)
        after_person, item_found, rest = rest.partition(_ITEM_MARK)
        between, vault_found, after_vault = rest.partition(_VAULT_MARK)
        if not start and user_found and item_found and vault_found:
            parts = (after_person, between, after_vault)
    if len(_PARTS) < _MAX_PARTS:
        _PARTS[action] = parts
    return parts


def _get(table: Mapping[str, Any], uuid: str) -> Any:
    """``table``'s entry for ``uuid`` in any case (keys are lower case; lowered on a miss)."""
    found = table.get(uuid)
    return found if found is not None else table.get(uuid.lower())


def _person(
    person: dict[str, Any], prefix: str, lookups: Lookups, filled: list[str], names: list[str]
) -> None:
    uuid = person.get("id")
    if uuid.__class__ is not str or ("name" in person and "email" in person):
        return
    found = _get(lookups.users, uuid)
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
        name = _get(lookups.groups, uuid)
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
        is_vault = _get(lookups.vaults, object_uuid) is not None
        vault_uuid = object_uuid if is_vault else get("aux_uuid")
    if vault_uuid.__class__ is str and "vault" not in vendor:
        name = _get(lookups.vaults, vault_uuid)
        if name:
            vendor["vault"] = {"name": name}
            known[vault_uuid] = name
    if item_uuid.__class__ is str and "item" not in vendor:
        title = _get(lookups.items, item_uuid)
        if title:
            vendor["item"] = {"title": title}
            known[item_uuid] = title


def enrich(document: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """Fill what ``lookups`` know into ``document`` (changed in place and returned)."""
    user = document.get("user")
    if (
        user.__class__ is dict
        and "name" in user
        and "email" in user
        and "target" not in user
        and "group" not in document
    ):
        # Its people are named and it has no group: only the vendor's uuids are left.
        vendor = document.get("onepassword")
        if vendor.__class__ is not dict:
            return document
        if "vault_uuid" not in vendor:
            if "item_uuid" not in vendor and "object_uuid" not in vendor:
                return document  # a sign-in: nothing it identifies only by uuid
        elif "vault" not in vendor and "item" not in vendor:
            vault_uuid = vendor["vault_uuid"]
            item_uuid = vendor.get("item_uuid")
            if vault_uuid.__class__ is str and item_uuid.__class__ is str:
                return _name_item_usage(document, user, vendor, vault_uuid, item_uuid, lookups)
    return _enrich(document, lookups)


def _name_item_usage(
    document: dict[str, Any], user: dict[str, Any], vendor: dict[str, Any], vault_uuid: str,
    item_uuid: str, lookups: Lookups,
) -> dict[str, Any]:  # fmt: skip
    """An item usage's vault name and item title, and its message with them.

    What :func:`_enrich` does for such a document, without its lists and dict: no
    person is filled, so the message is the mapper's with each uuid named. With both
    named, when the message is the one the mapper writes for the action (see
    :func:`_learn_parts`), the new one is that with the names. Else each uuid is
    swapped where it appears exactly once (a ``partition`` and an ``in`` each), and
    failing that the message is written again.
    """
    vaults = lookups.vaults
    vault_name = vaults.get(vault_uuid) or vaults.get(vault_uuid.lower())
    items = lookups.items
    item_title = items.get(item_uuid) or items.get(item_uuid.lower())
    if not vault_name:
        if not item_title:
            return document
    elif item_title and vault_uuid != item_uuid:
        vendor["vault"] = {"name": vault_name}
        vendor["item"] = {"title": item_title}
        event = document.get("event")
        if event.__class__ is dict and event.get("dataset") == ITEM_USAGES:
            action = event.get("action")
            parts = _PARTS.get(action) if action.__class__ is str else ()
            if parts is None:
                parts = _learn_parts(str(action))
            if parts:
                after_person, between, after_vault = parts
                person = user["name"] or user["email"] or user.get("id") or "An unknown user"
                mapper = f"{person}{after_person}{item_uuid}{between}{vault_uuid}{after_vault}"
                if document.get("message") == mapper:
                    document["message"] = (
                        f"{person}{after_person}{item_title}{between}{vault_name}{after_vault}"
                    )
                    return document
        return _swap_or_render(document, vault_uuid, vault_name, item_uuid, item_title)
    else:
        vendor["vault"] = {"name": vault_name}
    if item_title:
        vendor["item"] = {"title": item_title}
    return _swap_or_render(document, vault_uuid, vault_name, item_uuid, item_title)


def _swap_or_render(
    document: dict[str, Any], vault_uuid: str, vault_name: str | None, item_uuid: str,
    item_title: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The item usage's message with each name swapped in where its uuid appears once
    (as :func:`_swap_names`), else written again with the names."""
    text = document.get("message")
    if vault_name and text.__class__ is str:
        head, found, rest = text.partition(vault_uuid) if vault_uuid else _NOT_FOUND
        text = f"{head}{vault_name}{rest}" if found and vault_uuid not in rest else None
    if item_title and text.__class__ is str:
        head, found, rest = text.partition(item_uuid) if item_uuid else _NOT_FOUND
        text = f"{head}{item_title}{rest}" if found and item_uuid not in rest else None
    if text.__class__ is str:
        document["message"] = text
        return document
    known = {vault_uuid: vault_name} if vault_name else {}
    if item_title:
        known[item_uuid] = item_title
    message = render_message(document, known.get)
    if message is not None:
        document["message"] = message
    return document


def _enrich(document: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """The full path: people, groups, vendor uuids, markers, ``related.user``, message."""
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
    if not names:  # no person filled (group names may be): the uuids are all that change
        swapped = _swap_names(document.get("message"), known)
        if swapped is not None:
            document["message"] = swapped
            return document
    message = render_message(document, known.get)
    if message is not None:
        document["message"] = message
    return document


def _swap_names(message: Any, known: dict[str, str]) -> str | None:
    """The message with each uuid replaced by its name, when no person was filled.

    The mapper wrote each uuid exactly where its name goes ("vault 4VJ...", "group
    7GS..."), so when no person was filled this equals :func:`render_message` with the
    names (vaults, items and groups alike), at a
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

    Whether a file changed is asked at most every ``recheck_seconds``; and so that a
    busy stream does not read the clock for every record, the clock itself is read
    every :data:`CLOCK_STRIDE` records while records come faster than
    :data:`BUSY_SECONDS` a stride, and for every record once they come slower (a quiet
    ``collect --follow``). A change is seen within ``recheck_seconds`` of a busy stream,
    and at worst ``CLOCK_STRIDE`` records late when a busy stream turns quiet.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self.source = LookupSource(paths, recheck_seconds=recheck_seconds)
        self._start()

    def _start(self) -> None:
        self._lookups = self.source.current()
        self._until_clock = CLOCK_STRIDE
        self._clock_read_at = time.monotonic()

    def __getstate__(self) -> dict[str, Any]:
        return {"source": self.source}  # never the tables: workers load their own

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.source = state["source"]
        self._lookups = Lookups()  # never used: the first record reads the clock and loads
        self._until_clock = 0
        self._clock_read_at = time.monotonic()

    def __repr__(self) -> str:
        return f"Enricher({list(self.source.paths)!r})"

    def __call__(self, document: dict[str, Any]) -> dict[str, Any]:
        self._until_clock -= 1
        if self._until_clock <= 0:
            self._read_clock()
        return enrich(document, self._lookups)

    def _read_clock(self) -> None:
        now = time.monotonic()
        busy = now - self._clock_read_at < BUSY_SECONDS
        self._until_clock = CLOCK_STRIDE if busy else 1
        self._clock_read_at = now
        self._lookups = self.source.current()
