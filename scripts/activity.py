"""A month of 1Password activity for 300 people, with three planted incidents.

Why a generator of its own (and not ``_corpus.py``, the benchmark's mix): investigations
compare a person with their own past, so the people here must *have* a past. Each person
has a home office (country, a few addresses), one or two usual client apps, working hours
in their own time zone and the vaults of their team, and behaves that way every working
day. Against that background three incidents are planted (see :data:`PLANTED`):

* **stolen account**: after a few failed attempts, someone signs in as
  ``PLANTED.victim_email`` from ``PLANTED.attacker_ip`` in a country nobody in the
  company ever used, at night, reveals items in the Finance vault and exports it;
* **self-granted vault access**: ``PLANTED.insider_email`` grants themselves access to
  the Finance vault and reveals a few of its items;
* **password spray**: ``PLANTED.spray_ip`` tries one bad password against
  ``PLANTED.spray_targets`` different people within twenty minutes.

Some ordinary noise sits beside them so the rankings are earned: a few people travel
(a new country, but one colleagues use), occasional failed passwords, admins granting
vault access to others. Every choice goes through one seeded ``random.Random``, so the
same arguments give the same records. All names, addresses and identifiers are invented
(addresses come from the documentation ranges of RFC 5737).

Run it to write a store (``--store``) or raw NDJSON (``-o``)::

    python scripts/activity.py --store /tmp/activity.db
    python scripts/activity.py --users 300 --days 30 -o /tmp/activity.ndjson
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

__all__ = ["PLANTED", "START", "Planted", "build_store", "generate"]

START = datetime(2026, 10, 1, tzinfo=UTC)
"""First day of the generated month (UTC midnight)."""

_FIRST = (
    "Alice",
    "Bob",
    "Carol",
    "Dmitri",
    "Eun-ji",
    "François",
    "Priya",
    "Grace",
    "Hiroshi",
    "Ingrid",
    "João",
    "Kwame",
    "Léa",
    "Mateo",
    "Nadia",
    "Oskar",
    "Zoë",
    "Raúl",
    "Siobhán",
    "Tomasz",
    "Uma",
    "Björn",
    "Wei",
    "Yara",
    "Ahmed",
)
_LAST = (
    "Kowalski",
    "Tanaka",
    "N'Diaye",
    "Ivanov",
    "Park",
    "Lefèvre",
    "Raman",
    "Okafor",
    "Müller",
    "García",
    "Nguyen",
    "Smith",
    "O'Brien",
    "Rossi",
    "Dubois",
    "Novák",
    "Silva",
    "Johansson",
    "Kim",
    "Haddad",
)

# Offices: (country name as the API sends it, region, city, lat, lon, UTC offset hours,
# first two octets of the office's addresses).
_OFFICES = (
    ("Canada", "Ontario", "Toronto", 43.6532, -79.3832, -4, "198.51.100"),
    ("United States", "California", "San Francisco", 37.7749, -122.4194, -7, "198.51.101"),
    ("United Kingdom", "England", "London", 51.5072, -0.1276, 1, "198.51.102"),
    ("Germany", "Berlin", "Berlin", 52.52, 13.405, 2, "198.51.103"),
    ("France", "Île-de-France", "Paris", 48.8566, 2.3522, 2, "198.51.104"),
)
_OFFICE_WEIGHTS = (0.35, 0.30, 0.15, 0.12, 0.08)

_CLIENTS = (
    {
        "app_name": "1Password Browser Extension",
        "app_version": "20127",
        "platform_name": "Chrome",
        "platform_version": "126.0.6478.127",
        "os_name": "MacOSX",
        "os_version": "14.5",
    },
    {
        "app_name": "1Password for Mac",
        "app_version": "81000035",
        "platform_name": "Apple MacBookPro18,3",
        "platform_version": "arm64",
        "os_name": "MacOSX",
        "os_version": "14.5",
    },
    {
        "app_name": "1Password for Windows",
        "app_version": "81000034",
        "platform_name": "LENOVO 20XW004GUS",
        "platform_version": "x86_64",
        "os_name": "Windows",
        "os_version": "10.0.22631",
    },
    {
        "app_name": "1Password for iOS",
        "app_version": "81000030",
        "platform_name": "iPhone15,2",
        "platform_version": "arm64",
        "os_name": "iOS",
        "os_version": "17.5.1",
    },
)
_ATTACKER_CLIENT = {
    "app_name": "1Password for Web",
    "app_version": "1913",
    "platform_name": "Firefox",
    "platform_version": "131.0",
    "os_name": "Linux",
    "os_version": "6.1",
}
_ITEM_ACTIONS = (("fill", 0.55), ("reveal", 0.2), ("secure-copy", 0.2), ("server-update", 0.05))


@dataclass(frozen=True)
class Planted:
    """Who and what the incidents involve, for tests and demos to look for."""

    victim_email: str
    victim_name: str
    attacker_ip: str
    attacker_country: str  # ISO code, as the documents carry it
    attack_day: int  # days after START
    finance_vault: str
    insider_email: str
    spray_ip: str
    spray_day: int
    spray_targets: int


PLANTED = Planted(
    victim_email="nadia.okafor@acme.example",
    victim_name="Nadia Okafor",
    attacker_ip="203.0.113.66",
    attacker_country="RO",
    attack_day=27,
    finance_vault="finance7vaultq2xkmxyzgcdp4",
    insider_email="oskar.muller@acme.example",
    spray_ip="192.0.2.250",
    spray_day=26,
    spray_targets=60,
)


@dataclass
class _Person:
    uuid: str
    name: str
    email: str
    office: tuple[Any, ...]
    addresses: list[str]
    clients: list[dict[str, str]]
    start_hour: int  # local
    vaults: list[str]
    admin: bool


class _Generator:
    def __init__(self, users: int, days: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.days = days
        self.vaults = [PLANTED.finance_vault] + [self._id().lower() for _ in range(39)]
        self.items = {vault: [self._id().lower() for _ in range(25)] for vault in self.vaults}
        self.people = [self._person(i) for i in range(users)]
        self.by_email = {p.email: p for p in self.people}

    def _id(self) -> str:
        return base64.b32encode(self.rng.getrandbits(136).to_bytes(17, "big"))[:26].decode()

    def _person(self, index: int) -> _Person:
        rng = self.rng
        first, last = _FIRST[index % len(_FIRST)], _LAST[(index // len(_FIRST)) % len(_LAST)]
        suffix = "" if index < len(_FIRST) * len(_LAST) else str(index)
        email = f"{_ascii(first)}.{_ascii(last)}{suffix}@acme.example"
        office = rng.choices(_OFFICES, _OFFICE_WEIGHTS)[0]
        if email == PLANTED.victim_email:
            office = _OFFICES[0]
        home = f"{office[6]}.{rng.randrange(2, 250)}"
        addresses = [home] + (
            [f"{office[6]}.{rng.randrange(2, 250)}"] if rng.random() < 0.4 else []
        )
        clients = rng.sample(_CLIENTS, k=1 if rng.random() < 0.6 else 2)
        finance = email in (PLANTED.victim_email,) or rng.random() < 0.05
        team = rng.sample(self.vaults[1:], k=rng.randrange(2, 5))
        return _Person(
            uuid=self._id(),
            name=f"{first} {last}",
            email=email,
            office=office,
            addresses=addresses,
            clients=clients,
            start_hour=rng.randrange(7, 11),
            vaults=([PLANTED.finance_vault] if finance else []) + team,
            admin=index % 30 == 3,
        )

    # --- record shapes (docs/reference: the Events API's three endpoints) --------------

    def _stamp(self, moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def _place(self, office: tuple[Any, ...]) -> dict[str, Any]:
        country, region, city, lat, lon = office[:5]
        return {
            "country": country,
            "region": region,
            "city": city,
            "latitude": lat,
            "longitude": lon,
        }

    def signin(
        self,
        person: _Person,
        moment: datetime,
        *,
        ok: bool = True,
        ip: str | None = None,
        place: dict[str, Any] | None = None,
        code: str | None = None,
        client: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return {
            "uuid": self._id(),
            "session_uuid": self._id(),
            "timestamp": self._stamp(moment),
            "category": "success" if ok else "credentials_failed",
            "type": "credentials_ok" if ok else "password_secret_bad",
            "country": code or _code(person.office[0]),
            "details": None,
            "target_user": {"uuid": person.uuid, "name": person.name, "email": person.email},
            "client": {
                **(client or self.rng.choice(person.clients)),
                "ip_address": ip or self.rng.choice(person.addresses),
            },
            "location": place or self._place(person.office),
        }

    def usage(
        self,
        person: _Person,
        moment: datetime,
        *,
        action: str | None = None,
        vault: str | None = None,
        ip: str | None = None,
        place: dict[str, Any] | None = None,
        client: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        vault = vault or self.rng.choice(person.vaults)
        if action is None:
            actions, weights = zip(*_ITEM_ACTIONS, strict=True)
            action = self.rng.choices(actions, weights)[0]
        return {
            "uuid": self._id(),
            "timestamp": self._stamp(moment),
            "used_version": self.rng.randrange(1, 20),
            "vault_uuid": vault,
            "item_uuid": self.rng.choice(self.items[vault]),
            "action": action,
            "user": {"uuid": person.uuid, "name": person.name, "email": person.email},
            "client": {
                **(client or self.rng.choice(person.clients)),
                "ip_address": ip or self.rng.choice(person.addresses),
            },
            "location": place or self._place(person.office),
        }

    def audit(
        self,
        actor: _Person,
        moment: datetime,
        action: str,
        object_type: str,
        object_uuid: str,
        *,
        aux: _Person | None = None,
        ip: str | None = None,
        place: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "uuid": self._id(),
            "timestamp": self._stamp(moment),
            "actor_uuid": actor.uuid,
            "actor_details": {"uuid": actor.uuid, "name": actor.name, "email": actor.email},
            "action": action,
            "object_type": object_type,
            "object_uuid": object_uuid,
            "session": {
                "uuid": self._id(),
                "login_time": self._stamp(moment - timedelta(minutes=9)),
                "device_uuid": self._id().lower(),
                "ip": ip or self.rng.choice(actor.addresses),
            },
            "location": place or self._place(actor.office),
        }
        if aux is not None:
            record["aux_uuid"] = aux.uuid
            record["aux_details"] = {"uuid": aux.uuid, "name": aux.name, "email": aux.email}
        return record

    # --- a month ----------------------------------------------------------------------

    def ordinary_day(self, day: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        midnight = START + timedelta(days=day)
        weekend = midnight.weekday() >= 5
        for person in self.people:
            if rng.random() < (0.9 if weekend else 0.08):
                continue
            offset = person.office[5]
            local_start = person.start_hour + rng.random()
            moment = midnight + timedelta(hours=local_start - offset)
            traveling = rng.random() < 0.004
            place = self._place(rng.choice(_OFFICES)) if traveling else None
            ip = f"198.51.{rng.randrange(100, 105)}.{rng.randrange(2, 250)}" if traveling else None
            code = _code(place["country"]) if place else None
            if rng.random() < 0.06:
                yield self.signin(person, moment, ok=False, ip=ip, place=place, code=code)
                moment += timedelta(seconds=rng.randrange(5, 60))
            yield self.signin(person, moment, ip=ip, place=place, code=code)
            for _ in range(rng.randrange(1, 6)):
                moment += timedelta(minutes=rng.randrange(3, 80))
                yield self.usage(person, moment, ip=ip, place=place)
            if person.admin and rng.random() < 0.3:
                other = rng.choice([p for p in self.people if p is not person])
                vault = rng.choice(person.vaults)
                moment += timedelta(minutes=rng.randrange(3, 30))
                action = rng.choice(("grant", "grant", "revoke"))
                yield self.audit(person, moment, action, "uva", vault, aux=other)
            if person.admin and rng.random() < 0.2:
                moment += timedelta(minutes=rng.randrange(3, 30))
                yield self.audit(person, moment, "patch", "vault", rng.choice(person.vaults))

    def stolen_account(self) -> Iterator[dict[str, Any]]:
        victim = self.by_email[PLANTED.victim_email]
        place = {
            "country": "Romania",
            "region": "Bucharest",
            "city": "Bucharest",
            "latitude": 44.4268,
            "longitude": 26.1025,
        }
        moment = START + timedelta(days=PLANTED.attack_day, hours=1, minutes=12)
        hostile = {"ip": PLANTED.attacker_ip, "place": place}
        for _ in range(3):
            yield self.signin(
                victim, moment, ok=False, code="RO", client=_ATTACKER_CLIENT, **hostile
            )
            moment += timedelta(seconds=40)
        yield self.signin(victim, moment, code="RO", client=_ATTACKER_CLIENT, **hostile)
        for _ in range(12):
            moment += timedelta(seconds=self.rng.randrange(20, 90))
            yield self.usage(
                victim,
                moment,
                action="reveal",
                vault=PLANTED.finance_vault,
                client=_ATTACKER_CLIENT,
                **hostile,
            )
        moment += timedelta(minutes=3)
        yield self.audit(victim, moment, "export", "vault", PLANTED.finance_vault, **hostile)
        moment += timedelta(seconds=30)
        yield self.usage(
            victim,
            moment,
            action="export",
            vault=PLANTED.finance_vault,
            client=_ATTACKER_CLIENT,
            **hostile,
        )

    def self_grant(self) -> Iterator[dict[str, Any]]:
        insider = self.by_email[PLANTED.insider_email]
        moment = START + timedelta(days=PLANTED.attack_day - 3, hours=insider.start_hour + 6)
        moment -= timedelta(hours=insider.office[5])
        yield self.audit(insider, moment, "grant", "uva", PLANTED.finance_vault, aux=insider)
        for _ in range(4):
            moment += timedelta(minutes=self.rng.randrange(2, 9))
            yield self.usage(insider, moment, action="reveal", vault=PLANTED.finance_vault)

    def spray(self) -> Iterator[dict[str, Any]]:
        place = {
            "country": "Netherlands",
            "region": "North Holland",
            "city": "Amsterdam",
            "latitude": 52.3676,
            "longitude": 4.9041,
        }
        moment = START + timedelta(days=PLANTED.spray_day, hours=22, minutes=5)
        targets = self.rng.sample(self.people, PLANTED.spray_targets)
        for person in targets:
            moment += timedelta(seconds=self.rng.randrange(5, 25))
            yield self.signin(
                person,
                moment,
                ok=False,
                ip=PLANTED.spray_ip,
                place=place,
                code="NL",
                client=_ATTACKER_CLIENT,
            )


def _ascii(text: str) -> str:
    table = str.maketrans("çéèëöüäáãíóúñøåœ", "ceeeouaaaiounoao")
    return text.lower().translate(table).replace("-", "").replace("'", "")


def _code(country: str) -> str:
    return {
        "Canada": "CA",
        "United States": "US",
        "United Kingdom": "GB",
        "Germany": "DE",
        "France": "FR",
    }[country]


def generate(users: int = 300, days: int = 30, seed: int = 15) -> Iterator[dict[str, Any]]:
    """Raw records for ``days`` days from :data:`START`, in time order, incidents included.

    The incidents need at least 28 days and the people named in :data:`PLANTED` (they are
    the 190th and 216th people, so ``users >= 216`` keeps them).
    """
    generator = _Generator(users, days, seed)
    planted: list[dict[str, Any]] = []
    if days > PLANTED.attack_day and PLANTED.victim_email in generator.by_email:
        planted += list(generator.stolen_account())
        planted += list(generator.self_grant())
        planted += list(generator.spray())
    for day in range(days):
        today = [*generator.ordinary_day(day)]
        today += [
            r
            for r in planted
            if r["timestamp"][:10] == (START + timedelta(days=day)).strftime("%Y-%m-%d")
        ]
        today.sort(key=lambda record: record["timestamp"])
        yield from today


def build_store(path: str | Path, records: Iterator[dict[str, Any]], batch: int = 2000) -> int:
    """Normalize ``records`` and write them to the store at ``path``; return the count."""
    from onepassword_ecs import normalize
    from onepassword_ecs.sinks import EventStore
    from onepassword_ecs.stream import Batch

    count = 0
    pending: list[bytes] = []
    with EventStore.open(path) as store:
        for record in records:
            pending.append(orjson.dumps(normalize(record), option=orjson.OPT_SORT_KEYS))
            if len(pending) >= batch:
                store.write(Batch.of(pending))
                count += len(pending)
                pending = []
                if count % (batch * 50) == 0:
                    store.flush()  # one transaction per 100,000 events keeps the WAL small
        if pending:
            store.write(Batch.of(pending))
            count += len(pending)
        store.flush()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--store", help="write a store here")
    parser.add_argument("-o", "--output", help="write raw records as NDJSON here")
    args = parser.parse_args(argv)
    records = generate(args.users, args.days, args.seed)
    if args.store:
        print(f"{build_store(args.store, records)} events stored in {args.store}", file=sys.stderr)
    else:
        target = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
        for record in records:
            target.write(orjson.dumps(record) + b"\n")
        target.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
