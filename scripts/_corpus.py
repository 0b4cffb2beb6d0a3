"""A seeded, realistic mix of raw 1Password Events API records for the benchmark.

Why generated rather than the 108 golden fixtures repeated: the fixtures are one record
per edge case, so repeating them would make every cache (IP checks, country and region
lookups, category pairs) hit after the first pass and would over-weight rare shapes.
Real exports are the opposite: a few hundred people, a few thousand addresses and a
dozen places repeat all day, most records are item usages, and the values vary in the
ways the mappers pay for (timestamp offsets and precisions, country names vs codes,
IPv4 vs IPv6, v1 vs v2 shapes). This module reproduces that mix with a fixed seed, so
two runs of the benchmark time the same bytes.

Shapes follow the Events API's documented record shapes and the repository's fixtures/.
All identifiers, names, e-mail domains and most addresses are invented.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

__all__ = ["MIX", "Corpus"]

# Share of each dataset in the generated stream (item usages dominate real exports).
MIX = (("item_usages", 0.60), ("signin_attempts", 0.25), ("audit_events", 0.15))

_FIRST = (
    "Alice", "Bob", "Carol", "Dmitri", "Eun-ji", "François", "Priya", "Grace", "Hiroshi",
    "Ingrid", "João", "Kwame", "Léa", "Mateo", "Nadia", "Oskar", "Zoë", "Raúl", "Siobhán",
    "Tomasz", "Uma", "Björn", "Wei", "Yara", "Ahmed", "Chloé", "Sven", "Aoife", "Lars",
    "Mei",
)  # fmt: skip
_LAST = (
    "Kowalski", "Tanaka", "N'Diaye", "Ivanov", "Park", "Lefèvre", "Raman", "Okafor",
    "Müller", "García", "Nguyen", "Smith", "O'Brien", "Rossi", "Dubois", "Novák", "Silva",
    "Johansson", "Kim", "Haddad", "Schmidt", "Moreau", "Lindqvist", "Costa", "Yilmaz",
)  # fmt: skip
_DOMAINS = ("acme.example", "acme.example", "acme.example", "eu.acme.example")
_MSP_DOMAIN = "northwind-msp.example"

# (country as the API may send it, region, city, latitude, longitude). Names and codes
# are mixed on purpose: the mapper resolves both, at different cost.
_PLACES: tuple[tuple[str, str, str, float, float], ...] = (
    ("Canada", "Ontario", "Toronto", 43.6532, -79.3832),
    ("CA", "British Columbia", "Vancouver", 49.2827, -123.1207),
    ("Canada", "Québec", "Montréal", 45.5019, -73.5674),
    ("United States", "Virginia", "Ashburn", 39.0438, -77.4874),
    ("US", "California", "San Francisco", 37.7749, -122.4194),
    ("United Kingdom", "England", "London", 51.5072, -0.1276),
    ("France", "Île-de-France", "Paris", 48.8566, 2.3522),
    ("DE", "Berlin", "Berlin", 52.52, 13.405),
    ("Germany", "Bavaria", "Munich", 48.1351, 11.582),
    ("India", "Maharashtra", "Mumbai", 19.076, 72.8777),
    ("JP", "Tokyo", "Tokyo", 35.6762, 139.6503),
    ("Brazil", "São Paulo", "São Paulo", -23.5505, -46.6333),
    ("Czech Republic", "Prague", "Prague", 50.0755, 14.4378),
    ("Côte d'Ivoire", "Abidjan", "Abidjan", 5.36, -4.0083),
)

# The sign-in's top-level ``country`` is documented as an ISO code.
_COUNTRY_CODES = {
    "Canada": "CA", "United States": "US", "United Kingdom": "GB", "France": "FR",
    "Germany": "DE", "India": "IN", "Brazil": "BR", "Czech Republic": "CZ",
    "Côte d'Ivoire": "CI",
}  # fmt: skip

_CLIENTS: tuple[tuple[float, dict[str, str]], ...] = (
    (0.30, {"app_name": "1Password Browser Extension", "app_version": "20127",
            "platform_name": "Chrome", "platform_version": "126.0.6478.127",
            "os_name": "MacOSX", "os_version": "10.15.7"}),
    (0.12, {"app_name": "1Password Browser Extension", "app_version": "20127",
            "platform_name": "Edge", "platform_version": "127.0.2651.74",
            "os_name": "Windows", "os_version": "10.0.22631"}),
    (0.06, {"app_name": "1Password Browser Extension", "app_version": "20126",
            "platform_name": "Firefox", "platform_version": "128.0",
            "os_name": "Linux", "os_version": "6.5.0"}),
    (0.05, {"app_name": "1Password Browser Extension", "app_version": "20127",
            "platform_name": "Safari", "platform_version": "17.5",
            "os_name": "MacOSX", "os_version": "14.5"}),
    (0.14, {"app_name": "1Password for Mac", "app_version": "81000035",
            "platform_name": "Apple MacBookPro18,3", "platform_version": "arm64",
            "os_name": "MacOSX", "os_version": "14.5"}),
    (0.10, {"app_name": "1Password for Windows", "app_version": "81000034",
            "platform_name": "LENOVO 20XW004GUS", "platform_version": "x86_64",
            "os_name": "Windows", "os_version": "10.0.22631"}),
    (0.07, {"app_name": "1Password for iOS", "app_version": "81000030",
            "platform_name": "iPhone15,2", "platform_version": "arm64",
            "os_name": "iOS", "os_version": "17.5.1"}),
    (0.06, {"app_name": "1Password for Android", "app_version": "81000031",
            "platform_name": "Google Pixel 8", "platform_version": "arm64-v8a",
            "os_name": "Android", "os_version": "14"}),
    (0.05, {"app_name": "1Password CLI", "app_version": "2300001",
            "platform_name": "x86_64", "platform_version": "AMD EPYC 7R13 Processor",
            "os_name": "Linux", "os_version": "6.1.0-1034-aws"}),
    (0.03, {"app_name": "1Password Connect", "app_version": "1.7.3",
            "platform_name": "x86_64", "platform_version": "Docker",
            "os_name": "Linux", "os_version": "5.15.0"}),
    (0.02, {"app_name": "1Password for Web", "app_version": "1913",
            "platform_name": "Chrome", "platform_version": "126.0.6478.127",
            "os_name": "Windows", "os_version": "10"}),
)  # fmt: skip

_ITEM_ACTIONS = (
    ("fill", 0.42), ("reveal", 0.14), ("secure-copy", 0.16), ("server-fetch", 0.10),
    ("enter-item-edit-mode", 0.06), ("server-create", 0.03), ("server-update", 0.04),
    ("share", 0.01), ("export", 0.01), ("select-sso-provider", 0.02), ("other", 0.01),
)  # fmt: skip

# (category, type, details kind or None, weight). details kind: "ip", "country", "continent".
_SIGNINS = (
    ("success", "credentials_ok", None, 0.46),
    ("success", "mfa_ok", None, 0.25),
    ("success", "federated", None, 0.02),
    ("credentials_failed", "password_secret_bad", None, 0.09),
    ("credentials_failed", "platform_secret_bad", None, 0.01),
    ("mfa_failed", "totp_bad", None, 0.04),
    ("mfa_failed", "totp_timeout", None, 0.01),
    ("mfa_failed", "duo_bad", None, 0.01),
    ("mfa_failed", "u2f_timeout", None, 0.005),
    ("mfa_failed", "u2f_timout", None, 0.005),
    ("sso_failed", "sso_user_mismatch", None, 0.01),
    ("sso_failed", "non_sso_user", None, 0.01),
    ("modern_version_failed", "modern_version_old", None, 0.01),
    ("firewall_failed", "country_blocked", "country", 0.02),
    ("firewall_failed", "continent_blocked", "continent", 0.01),
    ("firewall_failed", "ip_blocked", "ip", 0.02),
    ("firewall_failed", "anonymous_blocked", None, 0.005),
    ("firewall_reported_success", "country_blocked", "country", 0.01),
    ("firewall_reported_success", "ip_blocked", "ip", 0.005),
)

# (action, object_type, weight, shape). The shape says which aux/object fields the API
# fills for that pair (see the fixtures and reference/actions.tsv).
_AUDITS = (
    ("join", "gm", 0.12, "member"),
    ("leave", "gm", 0.04, "member"),
    ("role", "gm", 0.03, "member"),
    ("grant", "uva", 0.12, "aux_user"),
    ("revoke", "uva", 0.05, "aux_user"),
    ("update", "uva", 0.04, "aux_user"),
    ("grant", "gva", 0.04, "aux_group"),
    ("create", "vault", 0.06, "plain"),
    ("delete", "vault", 0.01, "plain"),
    ("patch", "vault", 0.14, "patch"),
    ("export", "vault", 0.01, "plain"),
    ("create", "item", 0.03, "item"),
    ("suspend", "user", 0.03, "user"),
    ("reactive", "user", 0.02, "user"),
    ("provsn", "user", 0.05, "user"),
    ("delete", "user", 0.01, "user"),
    ("enblmfa", "user", 0.02, "user"),
    ("create", "invite", 0.03, "invite"),
    ("updatfw", "account", 0.02, "plain"),
    ("disblmfa", "account", 0.005, "plain"),
    ("create", "group", 0.02, "plain"),
    ("create", "satoken", 0.01, "aux_user"),
    ("trevoke", "satoken", 0.005, "plain"),
    ("chngpsso", "sso", 0.005, "plain"),
    ("reauth", "device", 0.03, "device"),
    ("dealldev", "device", 0.01, "device"),
    ("changemp", "user", 0.02, "user"),
)
_CONTINENTS = ("Asia", "Europe", "Africa", "South America")
_BLOCKED_COUNTRIES = ("Russia", "Iran", "North Korea", "Taiwan", "Vietnam")
_OFFSETS = (("Z", 0.80), ("+05:30", 0.10), ("-03:00", 0.10))
_PRECISIONS = ((0, 0.10), (3, 0.50), (6, 0.25), (9, 0.15))
_INVALID_IPS = ("10.0.0.999", "unknown", "192.0.2", "2001:db8::g1")
_BASE32 = bytes(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[i % 32] for i in range(256))
_EPOCH = datetime(2025, 1, 6, 0, 0, 0, tzinfo=UTC)


def _weighted(pairs: tuple[tuple[Any, float], ...]) -> tuple[list[Any], list[float]]:
    values = [value for value, _ in pairs]
    weights = [weight for _, weight in pairs]
    return values, weights


class Corpus:
    """Pools of people, addresses, places and clients, and records drawn from them.

    Every random choice goes through one ``random.Random(seed)``, so the same seed and the
    same sequence of calls give byte-identical output on any machine.
    """

    def __init__(
        self, seed: int = 20260217, users: int = 300, ips: int = 3000, v2_share: float = 0.3
    ) -> None:
        self.rng = rng = random.Random(seed)
        self.v2_share = v2_share
        self.account = self.uuid()
        self.msp_account = self.uuid()
        self.users = [self._person(i) for i in range(users)]
        self.vaults = [self.uuid().lower() for _ in range(60)]
        self.items = [self.uuid().lower() for _ in range(4000)]
        self.groups = [self.uuid().lower() for _ in range(25)]
        self.devices = [self.uuid().lower() for _ in range(users * 2)]
        self.ips = [self._ip() for _ in range(ips)]
        for bad in _INVALID_IPS:  # "a few invalid" addresses, as real exports have
            self.ips[rng.randrange(len(self.ips))] = bad
        # Each user mostly works from a handful of addresses and one home place.
        self.user_ips = [rng.sample(self.ips, 4) for _ in self.users]
        self.user_place = [rng.randrange(len(_PLACES)) for _ in self.users]
        self._clients = [client for _, client in _CLIENTS]
        self._client_weights = [weight for weight, _ in _CLIENTS]
        self._item_actions, self._item_weights = _weighted(_ITEM_ACTIONS)
        self._signins = list(_SIGNINS)
        self._signin_weights = [row[3] for row in _SIGNINS]
        self._audits = list(_AUDITS)
        self._audit_weights = [row[2] for row in _AUDITS]
        self._offsets, self._offset_weights = _weighted(_OFFSETS)
        self._precisions, self._precision_weights = _weighted(_PRECISIONS)
        self._datasets, self._dataset_weights = _weighted(MIX)
        self.clock = _EPOCH

    # -- pools -----------------------------------------------------------------------

    def uuid(self) -> str:
        """A 26-character upper-case base32 id, as the Events API shows them."""
        # Each random byte picks one of 32 letters (256 is a multiple of 32, so uniform);
        # bytes.translate keeps this in C, which matters for the 1 GB input.
        return self.rng.randbytes(26).translate(_BASE32).decode()

    def _person(self, index: int) -> dict[str, str]:
        rng = self.rng
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        external = rng.random() < 0.05
        domain = _MSP_DOMAIN if external else rng.choice(_DOMAINS)
        ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
        local = ascii_name.decode().lower().replace("'", "") + str(index)
        person = {"uuid": self.uuid(), "name": f"{first} {last}", "email": f"{local}@{domain}"}
        if index % 40 == 0:
            person = {"uuid": person["uuid"], "name": "Deploy Bot",
                      "email": f"deploy-bot{index}@acme.example"}  # fmt: skip
        person["_external"] = "1" if external else ""
        return person

    def _ip(self) -> str:
        rng = self.rng
        if rng.random() < 0.2:
            groups = [f"{rng.getrandbits(16):x}" for _ in range(6)]
            return "2001:db8:" + ":".join(groups)
        first = rng.choice((24, 45, 64, 73, 81, 98, 104, 142, 176, 185, 203, 213))
        return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    # -- small draws -----------------------------------------------------------------

    def timestamp(self, moment: datetime | None = None) -> str:
        """RFC 3339 text in a drawn offset and precision (what the mapper must normalize)."""
        rng = self.rng
        moment = moment or self.clock
        offset = rng.choices(self._offsets, self._offset_weights)[0]
        digits = rng.choices(self._precisions, self._precision_weights)[0]
        if offset == "Z":
            local = moment
        else:
            sign = 1 if offset[0] == "+" else -1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            local = moment.astimezone(timezone(sign * timedelta(hours=hours, minutes=minutes)))
        text = local.isoformat(timespec="seconds")[:19]
        if digits:
            text += "." + f"{rng.getrandbits(30) % 10**digits:0{digits}d}"
        return text + offset

    def _tick(self) -> datetime:
        self.clock += timedelta(milliseconds=self.rng.randrange(1, 400))
        return self.clock

    def _user(self) -> tuple[int, dict[str, str], bool]:
        """A user index, its public object (v1 or v2 shape) and whether the record is v2."""
        index = self.rng.randrange(len(self.users))
        raw = self.users[index]
        v2 = self.rng.random() < self.v2_share
        person = {"uuid": raw["uuid"], "name": raw["name"], "email": raw["email"]}
        if v2:
            external = bool(raw["_external"])
            person["user_type"] = "external_user" if external else "user"
            person["user_account_uuid"] = self.msp_account if external else self.account
        return index, person, v2

    def _client(self, user_index: int) -> dict[str, str]:
        rng = self.rng
        client = dict(rng.choices(self._clients, self._client_weights)[0])
        pool = self.user_ips[user_index] if rng.random() < 0.9 else self.ips
        client["ip_address"] = rng.choice(pool)
        return client

    def _location(self, user_index: int) -> dict[str, Any]:
        rng = self.rng
        index = self.user_place[user_index] if rng.random() < 0.85 else rng.randrange(len(_PLACES))
        country, region, city, lat, lon = _PLACES[index]
        return {"country": country, "region": region, "city": city,
                "latitude": lat, "longitude": lon}  # fmt: skip

    # -- records ---------------------------------------------------------------------

    def item_usage(self) -> dict[str, Any]:
        rng = self.rng
        user_index, user, v2 = self._user()
        record: dict[str, Any] = {
            "uuid": self.uuid(),
            "timestamp": self.timestamp(self._tick()),
            "used_version": rng.choice((0, 1, 1, 2, 2, 3, 4, 7, 12)),
            "vault_uuid": rng.choice(self.vaults),
            "item_uuid": rng.choice(self.items),
            "action": rng.choices(self._item_actions, self._item_weights)[0],
            "user": user,
            "client": self._client(user_index),
        }
        if rng.random() < 0.97:
            record["location"] = self._location(user_index)
        if v2:
            record["account_uuid"] = self.account
        return record

    def signin_attempt(self) -> dict[str, Any]:
        rng = self.rng
        user_index, user, v2 = self._user()
        category, kind, detail, _ = rng.choices(self._signins, self._signin_weights)[0]
        client = self._client(user_index)
        location = self._location(user_index)
        details: dict[str, str] | None = None
        if detail == "ip":
            details = {"value": client["ip_address"]}
        elif detail == "country":
            details = {"value": rng.choice(_BLOCKED_COUNTRIES)}
        elif detail == "continent":
            details = {"value": rng.choice(_CONTINENTS)}
        record: dict[str, Any] = {
            "uuid": self.uuid(),
            "session_uuid": self.uuid(),
            "timestamp": self.timestamp(self._tick()),
            "category": category,
            "type": kind,
            "country": _COUNTRY_CODES.get(location["country"], location["country"]),
            "details": details,
            "target_user": user,
            "client": client,
            "location": location,
        }
        if v2:
            record["account_uuid"] = self.account
        return record

    def audit_event(self) -> dict[str, Any]:
        rng = self.rng
        user_index, actor, v2 = self._user()
        action, object_type, _, shape = rng.choices(self._audits, self._audit_weights)[0]
        moment = self._tick()
        record: dict[str, Any] = {
            "uuid": self.uuid(),
            "timestamp": self.timestamp(moment),
            "actor_uuid": actor["uuid"],
            "actor_details": actor,
        }
        if v2:
            external = actor.get("user_type") == "external_user"
            record["actor_type"] = actor["user_type"]
            record["actor_account_uuid"] = self.msp_account if external else self.account
            record["account_uuid"] = self.account
        record["action"] = action
        record["object_type"] = object_type
        other = self.users[rng.randrange(len(self.users))]
        other_details = {"uuid": other["uuid"], "name": other["name"], "email": other["email"]}
        if shape == "member":
            record["object_uuid"] = rng.choice(self.groups)
            record["aux_id"] = rng.randrange(1_000_000, 9_999_999)
            record["aux_uuid"] = other["uuid"]
            record["aux_details"] = other_details
            if action != "leave":
                record["aux_info"] = rng.choice(("R", "R", "R", "A"))
        elif shape == "aux_user":
            record["object_uuid"] = rng.choice(self.vaults)
            record["aux_uuid"] = other["uuid"]
            record["aux_details"] = other_details
        elif shape == "aux_group":
            record["object_uuid"] = rng.choice(self.vaults)
            record["aux_uuid"] = rng.choice(self.groups)
        elif shape == "patch":
            record["object_uuid"] = rng.choice(self.vaults)
            counts = [rng.choice((0, 0, 0, 1, 1, 2, 5)) for _ in range(5)]
            record["aux_info"] = ",".join(map(str, counts))
        elif shape == "item":
            record["object_uuid"] = rng.choice(self.items)
            record["aux_id"] = rng.randrange(1, 5000)
            record["aux_uuid"] = rng.choice(self.vaults)
        elif shape == "user":
            record["object_uuid"] = other["uuid"]
            if rng.random() < 0.9:
                record["object_details"] = other_details
        elif shape == "invite":
            record["object_uuid"] = self.uuid().lower()
            record["aux_info"] = other["email"]
        elif shape == "device":
            record["object_uuid"] = rng.choice(self.devices)
            record["aux_id"] = rng.randrange(1, 100_000)
            record["aux_uuid"] = other["uuid"]
            record["aux_details"] = other_details
        else:
            record["object_uuid"] = self.account if object_type == "account" else self.uuid()
        if rng.random() < 0.95:
            login = moment - timedelta(minutes=rng.randrange(1, 600))
            record["session"] = {
                "uuid": self.uuid(),
                "login_time": self.timestamp(login),
                "device_uuid": rng.choice(self.devices),
                "ip": rng.choice(self.user_ips[user_index]),
            }
        if rng.random() < 0.97:
            record["location"] = self._location(user_index)
        return record

    def record(self) -> dict[str, Any]:
        """One record of the mixed stream (dataset drawn by ``MIX``)."""
        which = self.rng.choices(self._datasets, self._dataset_weights)[0]
        if which == "item_usages":
            return self.item_usage()
        if which == "signin_attempts":
            return self.signin_attempt()
        return self.audit_event()

    def records(self, count: int) -> list[dict[str, Any]]:
        return [self.record() for _ in range(count)]

    def lines(self, count: int) -> Iterator[bytes]:
        """``count`` NDJSON lines (without the newline)."""
        dumps = orjson.dumps
        for _ in range(count):
            yield dumps(self.record())

    def refreshed(self, templates: list[dict[str, Any]]) -> Iterator[bytes]:
        """Replay ``templates`` forever with a new uuid and timestamp on each record.

        This is how the large (1 GB) input is made: drawing every record afresh costs
        more than the conversion being measured, while a plain repeat would be
        unrealistic (duplicate event ids). The top-level ``uuid`` and ``timestamp`` change,
        and so does the client or session address, drawn from the whole address pool:
        without that, the file would hold no more distinct client objects than the
        templates do, and any per-client memo in the mapper would look smaller than it
        gets on a large real export (where addresses keep changing over the months).
        """
        dumps = orjson.dumps
        choice, ips = self.rng.choice, self.ips
        while True:
            for template in templates:
                record = dict(template)
                record["uuid"] = self.uuid()
                record["timestamp"] = self.timestamp(self._tick())
                client = record.get("client")
                if client is not None and "ip_address" in client:
                    record["client"] = {**client, "ip_address": choice(ips)}
                session = record.get("session")
                if session is not None and "ip" in session:
                    record["session"] = {**session, "ip": choice(ips)}
                yield dumps(record)
