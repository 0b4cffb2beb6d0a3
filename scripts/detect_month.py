"""A month of seeded 1Password activity for N users, with planted incidents.

Writes raw Events API records (``--records``, NDJSON in time order) and the alerts the
rule pack must raise on them and no others (``--expected``, one JSON object per line:
``rule`` and ``group``), for tests, the README example and the performance figures::

    python scripts/detect_month.py --users 300 --days 31 --records month.ndjson \
        --expected month.expected.ndjson
    onepassword-ecs detect month.ndjson --context scripts/detect_month.toml -o alerts.ndjson

Everyday activity is dull on purpose: each person signs in from their own address and
country with an official app, uses items at a human pace and fails a password now and
then; the admins work office hours. ``--rate`` scales item usage per person and day
(the 1-million-event measurement uses a high rate).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
APPS = (
    "1Password for Mac",
    "1Password for Windows",
    "1Password Browser Extension",
    "1Password for iOS",
)
PLACES = {
    "CA": ("Canada", "Ontario", "Toronto", 43.6532, -79.3832),
    "US": ("United States", "New York", "New York", 40.7128, -74.006),
    "FR": ("France", "Île-de-France", "Paris", 48.8566, 2.3522),
    "DE": ("Germany", "Berlin", "Berlin", 52.52, 13.405),
    "JP": ("Japan", "Tokyo", "Tokyo", 35.6762, 139.6503),
    "RU": ("Russia", "Moscow", "Moscow", 55.7558, 37.6173),
    "BR": ("Brazil", "São Paulo", "São Paulo", -23.5505, -46.6333),
}
HOMES = ("CA", "CA", "US", "US", "FR", "DE")
PRIVILEGED_GROUP = "privgroupzzzzzzzzzzzzzzzzz"
PRIVILEGED_VAULT = "privvaultzzzzzzzzzzzzzzzzz"
CROWN_ITEM = "crownjewelitemzzzzzzzzzzzz"


def _id(prefix: str, number: int) -> str:
    text = ""
    for _ in range(8):
        text = ALPHABET[number % 32] + text
        number //= 32
    return (prefix + "Z" * 26)[:18] + text


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class World:
    """The people, their places and the sequence of event ids."""

    def __init__(self, users: int, seed: int) -> None:
        self.random = random.Random(seed)
        self.serial = 0
        self.people = []
        for n in range(users):
            home = HOMES[n % len(HOMES)]
            self.people.append(
                {
                    "uuid": _id("USER", n),
                    "name": f"Person {n:03d}",
                    "email": f"person{n:03d}@acme.example",
                    "home": home,
                    "ip": f"198.51.{100 + n // 250}.{n % 250 + 1}",
                    "app": APPS[n % len(APPS)],
                    "vault": _id("VAULT", n % 40).lower(),
                }
            )
        self.admin = self.people[0]

    def uid(self) -> str:
        self.serial += 1
        return _id("EV", self.serial)

    @staticmethod
    def place(country: str) -> dict[str, Any]:
        name, region, city, lat, lon = PLACES[country]
        return {"country": name, "region": region, "city": city, "latitude": lat, "longitude": lon}

    def client(self, person: dict[str, Any], ip: str, app: str | None = None) -> dict[str, Any]:
        return {
            "app_name": app or person["app"],
            "app_version": "81108015",
            "platform_name": "Apple M1",
            "platform_version": "MacBookAir10,1",
            "os_name": "MacOSX",
            "os_version": "14.6.1",
            "ip_address": ip,
        }

    def signin(
        self,
        when: datetime,
        person: dict[str, Any],
        category: str = "success",
        country: str | None = None,
        ip: str | None = None,
    ) -> dict[str, Any]:
        country = country or person["home"]
        types = {
            "success": "credentials_ok",
            "credentials_failed": "password_secret_bad",
            "mfa_failed": "totp_bad",
            "firewall_failed": "country_blocked",
        }
        return {
            "uuid": self.uid(),
            "session_uuid": _id("SESS", self.serial),
            "timestamp": _stamp(when),
            "category": category,
            "type": types[category],
            "country": country,
            "target_user": {k: person[k] for k in ("uuid", "name", "email")},
            "client": self.client(person, ip or person["ip"]),
            "location": self.place(country),
        }

    def item(
        self,
        when: datetime,
        person: dict[str, Any],
        action: str,
        vault: str | None = None,
        item: str | None = None,
        country: str | None = None,
        ip: str | None = None,
    ) -> dict[str, Any]:
        return {
            "uuid": self.uid(),
            "timestamp": _stamp(when),
            "used_version": 2,
            "vault_uuid": vault or person["vault"],
            "item_uuid": item or _id("ITEM", self.random.randrange(5000)).lower(),
            "action": action,
            "user": {k: person[k] for k in ("uuid", "name", "email")},
            "client": self.client(person, ip or person["ip"]),
            "location": self.place(country or person["home"]),
        }

    def audit(
        self,
        when: datetime,
        actor: dict[str, Any],
        action: str,
        object_type: str,
        object_uuid: str | None = None,
        aux: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "uuid": self.uid(),
            "timestamp": _stamp(when),
            "actor_uuid": actor["uuid"],
            "actor_details": {k: actor[k] for k in ("uuid", "name", "email")},
            "action": action,
            "object_type": object_type,
            "object_uuid": object_uuid
            or (target["uuid"] if target else _id("OBJ", self.serial).lower()),
        }
        if target:
            record["object_details"] = {k: target[k] for k in ("uuid", "name", "email")}
        if aux:
            record["aux_uuid"] = aux["uuid"]
            record["aux_details"] = {k: aux[k] for k in ("uuid", "name", "email")}
        record["session"] = {
            "uuid": _id("SESS", self.serial),
            "login_time": _stamp(when),
            "device_uuid": "zq7holxnu6qn7cdj5lnfyz7u3r",
            "ip": actor["ip"],
        }
        record["location"] = self.place(actor["home"])
        return record


def everyday(world: World, days: int, rate: int) -> Iterator[dict[str, Any]]:
    """Dull activity: nothing here may raise an alert."""
    rnd = world.random
    for day in range(days):
        date = START + timedelta(days=day)
        weekend = date.weekday() >= 5
        for person in world.people:
            if weekend and rnd.random() < 0.7:
                continue
            start = date + timedelta(hours=9, minutes=rnd.randrange(120))
            yield world.signin(start, person)
            if rnd.random() < 0.05:
                yield world.signin(start - timedelta(minutes=1), person, "credentials_failed")
            uses = rate if not weekend else max(1, rate // 4)
            for n in range(uses):
                moment = start + timedelta(
                    minutes=5 + n * (480 // max(1, uses)), seconds=rnd.randrange(60)
                )
                yield world.item(
                    moment, person, rnd.choice(("fill", "fill", "reveal", "secure-copy"))
                )
        # Admins change things in office hours (15-18 UTC is 10-14 in Toronto); on weekends
        # a vault owner still edits now and then, so the audit stream never goes silent.
        editor = world.people[1] if weekend else world.admin
        for n in range(3):
            yield world.audit(
                date + timedelta(hours=15 + n, minutes=rnd.randrange(60)),
                editor,
                "update",
                "vault",
                object_uuid=world.people[n]["vault"],
            )


def incidents(world: World) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Planted incidents and the alerts they must raise."""
    p = world.people
    records: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []

    def expect(rule: str, **group: str) -> None:
        expected.append({"rule": rule, "group": group})

    day = START + timedelta(days=20)  # after the 14-day learning of signin_new_ip
    # Brute force on person 10 from one address, straddling 11:00, then a success.
    attacker = "203.0.113.66"
    for n in range(10):
        records.append(
            world.signin(
                day + timedelta(hours=10, minutes=40 + n * 3),
                p[10],
                "credentials_failed" if n % 2 else "mfa_failed",
                ip=attacker,
            )
        )
    records.append(world.signin(day + timedelta(hours=11, minutes=12), p[10], ip=attacker))
    expect("brute_force_user", **{"user.id": p[10]["uuid"]})
    expect("brute_force_ip", **{"source.ip": attacker})
    expect("brute_force_then_success", **{"user.id": p[10]["uuid"]})
    expect("signin_new_ip", **{"user.id": p[10]["uuid"], "source.ip": attacker})
    # A password spray: one address, six people, 20 minutes.
    sprayer = "203.0.113.77"
    for n in range(6):
        records.append(
            world.signin(
                day + timedelta(hours=14, minutes=n * 4),
                p[20 + n],
                "credentials_failed",
                ip=sprayer,
            )
        )
    expect("password_spray", **{"source.ip": sprayer})
    # A firewall block from Russia (not a brute-force failure).
    records.append(
        world.signin(
            day + timedelta(hours=15), p[30], "firewall_failed", country="RU", ip="203.0.113.88"
        )
    )
    expect("signin_blocked_by_firewall", **{"user.id": p[30]["uuid"]})
    # Person 40 grants themself the privileged vault, then reveals from it.
    insider = p[40]
    moment = day + timedelta(days=1, hours=10)
    records.append(
        world.audit(moment, insider, "grant", "uva", object_uuid=PRIVILEGED_VAULT, aux=insider)
    )
    records.append(
        world.item(
            moment + timedelta(minutes=12),
            insider,
            "reveal",
            vault=PRIVILEGED_VAULT,
            item=CROWN_ITEM,
        )
    )
    for rule in (
        "self_granted_vault_access",
        "privileged_vault_access_change",
        "admin_action_by_non_admin",
    ):
        expect(rule, **{"user.id": insider["uuid"]})
    expect("sensitive_item_accessed", **{"user.id": insider["uuid"]})
    expect(
        "secret_access_after_self_grant",
        **{"user.id": insider["uuid"], "onepassword.vault_uuid": PRIVILEGED_VAULT},
    )
    # Person 50 exports a vault; the admin suspends them four days later.
    leaver = p[50]
    moment = day + timedelta(days=2, hours=16)
    records.append(world.audit(moment, leaver, "export", "vault", object_uuid=leaver["vault"]))
    records.append(
        world.audit(moment + timedelta(days=3), world.admin, "suspend", "user", target=leaver)
    )
    expect("vault_exported", **{"user.id": leaver["uuid"]})
    expect("export_before_offboarding", **{"user.id": leaver["uuid"]})
    # Person 60 signs in from Toronto, then from Tokyo 40 minutes later (a new country,
    # after signin_new_country's 30 learning days).
    traveller = p[60]
    moment = START + timedelta(days=30, hours=16)
    records.append(world.signin(moment, traveller, country="CA", ip=traveller["ip"]))
    records.append(
        world.signin(moment + timedelta(minutes=40), traveller, country="JP", ip="192.0.2.200")
    )
    expect("impossible_travel", **{"user.id": traveller["uuid"]})
    expect("signin_new_country", **{"user.id": traveller["uuid"], "onepassword.country": "JP"})
    expect("signin_new_ip", **{"user.id": traveller["uuid"], "source.ip": "192.0.2.200"})
    # The admin disables MFA for everyone at 23:00 on a Saturday.
    moment = START + timedelta(days=26, hours=23)
    records.append(world.audit(moment, world.admin, "disblmfa", "account"))
    expect("mfa_disabled_account", **{"user.id": world.admin["uuid"]})
    expect("admin_activity_off_hours", **{"user.id": world.admin["uuid"]})
    return records, expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--rate", type=int, default=4, help="item usages per person and weekday")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--records", required=True)
    parser.add_argument("--expected")
    args = parser.parse_args()
    if args.days < 31 or args.users < 61:
        parser.error("the planted incidents need at least 61 users and 31 days")
    world = World(args.users, args.seed)
    planted, expected = incidents(world)
    records = sorted(
        [*everyday(world, args.days, args.rate), *planted], key=lambda r: r["timestamp"]
    )
    with open(args.records, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if args.expected:
        with open(args.expected, "w", encoding="utf-8") as out:
            for alert in expected:
                out.write(json.dumps(alert, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
