"""Small raw records for the mapping-rule tests, built from one realistic base each.

Each builder returns a fresh dict; keyword arguments replace top-level keys (``None``
removes the key), so a test states only what it is about.
"""

from __future__ import annotations

import copy
from typing import Any

ALICE = {
    "uuid": "3K6R3OGTLKYTCBRHJ5Q7DP4XPA",
    "name": "Alice Kowalski",
    "email": "alice@acme.example",
}
BOB = {"uuid": "HTYQKKK7SGHLR5G5S3I3KRIRPU", "name": "Bob Tanaka", "email": "bob@acme.example"}
TORONTO = {
    "country": "Canada",
    "region": "Ontario",
    "city": "Toronto",
    "latitude": 43.6532,
    "longitude": -79.3832,
}
CLIENT = {
    "app_name": "1Password Browser Extension",
    "app_version": "20127",
    "platform_name": "Chrome",
    "platform_version": "126.0.6478.127",
    "os_name": "MacOSX",
    "os_version": "14.5",
    "ip_address": "198.51.100.23",
}

_AUDIT: dict[str, Any] = {
    "uuid": "56YE2TYN2VFYRLNSHKPW5NVT5E",
    "timestamp": "2025-03-10T15:03:27.19Z",
    "actor_uuid": ALICE["uuid"],
    "actor_details": ALICE,
    "action": "join",
    "object_type": "gm",
    "object_uuid": "mwv2mk3n3pfpeqrxgux5xu2xc5",
    "aux_id": 4418203,
    "aux_uuid": BOB["uuid"],
    "aux_details": BOB,
    "aux_info": "A",
    "session": {
        "uuid": "CROCPMBV7Q62BKITNOAI4V4IUD",
        "login_time": "2025-03-10T14:55:02.918273645Z",
        "device_uuid": "zq7holxnu6qn7cdj5lnfyz7u3r",
        "ip": "198.51.100.23",
    },
    "location": TORONTO,
}

_ITEM_USAGE: dict[str, Any] = {
    "uuid": "YDQZ6JIWIFKMXVSW3KPZ2SAPFE",
    "timestamp": "2025-04-02T09:15:00.123456Z",
    "used_version": 4,
    "vault_uuid": "aqk6toxie3nopus2rmrgtn4swg",
    "item_uuid": "yen3nucy3rongmvqan5k7oliwc",
    "action": "fill",
    "user": ALICE,
    "client": CLIENT,
    "location": TORONTO,
}

_SIGNIN: dict[str, Any] = {
    "uuid": "HGIF4OEWXDTVWKEQDIWTKV26HU",
    "session_uuid": "UED4KFZ5BH37IQWTJ7LG4VPWK7",
    "timestamp": "2025-05-01T10:00:00Z",
    "category": "firewall_failed",
    "type": "continent_blocked",
    "country": "CA",
    "details": {"value": "Asia"},
    "target_user": BOB,
    "client": CLIENT,
    "location": TORONTO,
}


def _build(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def audit(**changes: Any) -> dict[str, Any]:
    return _build(_AUDIT, changes)


def item_usage(**changes: Any) -> dict[str, Any]:
    return _build(_ITEM_USAGE, changes)


def signin(**changes: Any) -> dict[str, Any]:
    return _build(_SIGNIN, changes)
